"""Settings that cannot work are refused when they load, saying what to change."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.conftest import VERITY
from tests.helpers.tsa import LoopbackTsa
from verity.settings import Settings, describe_settings_error


def refusal(**values: object) -> str:
    with pytest.raises(ValidationError) as raised:
        Settings(**values)  # type: ignore[arg-type]
    return describe_settings_error(raised.value)


def test_s3_without_an_endpoint_is_refused() -> None:
    assert "VERITY_BLOB_BACKEND=s3 needs VERITY_S3_ENDPOINT" in refusal(blob_backend="s3")


def test_an_s3_endpoint_with_a_scheme_is_refused_saying_how_to_ask_for_plain_http() -> None:
    message = refusal(blob_backend="s3", s3_endpoint="http://127.0.0.1:9000")
    assert "host:port, without a scheme" in message and "VERITY_S3_SECURE=false" in message


def test_s3_credentials_come_in_pairs() -> None:
    message = refusal(blob_backend="s3", s3_endpoint="127.0.0.1:9000", s3_access_key="verity")
    assert "VERITY_S3_ACCESS_KEY and VERITY_S3_SECRET_KEY come together" in message


def test_the_job_queue_on_sqlite_is_refused(tmp_path: Path) -> None:
    assert "procrastinate needs PostgreSQL" in refusal(data_dir=tmp_path, job_runner="procrastinate")


def test_timestamp_urls_need_a_file_of_roots_that_holds_certificates(tmp_path: Path) -> None:
    assert "needs VERITY_TIMESTAMP_CA_FILE" in refusal(timestamp_urls="http://127.0.0.1:1/tsr")
    not_pem = tmp_path / "roots.pem"
    not_pem.write_text("these are not certificates\n")
    message = refusal(timestamp_urls="http://127.0.0.1:1/tsr", timestamp_ca_file=not_pem)
    assert "holds no PEM certificate" in message
    assert "are http:// or https:// URLs" in refusal(timestamp_urls="tsa.example:318", timestamp_ca_file=not_pem)


def test_timestamp_urls_are_tried_in_the_order_given(tsa: LoopbackTsa) -> None:
    urls = f" {tsa.url}, http://127.0.0.1:1/tsr "
    settings = Settings(timestamp_urls=urls, timestamp_ca_file=tsa.certificates.ca_pem)
    assert settings.resolved_timestamp_urls() == [tsa.url, "http://127.0.0.1:1/tsr"]
    assert Settings().timestamps_configured is False


def test_a_malformed_value_is_named_by_its_variable() -> None:
    assert refusal(max_upload_bytes="lots").startswith("VERITY_MAX_UPLOAD_BYTES: ")


def test_c2pa_trust_anchors_that_are_missing_or_hold_no_certificate_are_refused(tmp_path: Path) -> None:
    assert "VERITY_C2PA_TRUST_ANCHORS: cannot read" in refusal(c2pa_trust_anchors=tmp_path / "absent.pem")
    not_pem = tmp_path / "roots.der"
    not_pem.write_bytes(b"0\x82\x01\x0a")
    assert "holds no PEM certificate" in refusal(c2pa_trust_anchors=not_pem)


def test_workable_settings_load() -> None:
    settings = Settings(
        blob_backend="s3",
        s3_endpoint="127.0.0.1:9000",
        s3_access_key="a",
        s3_secret_key="b",  # type: ignore[arg-type]
        job_runner="procrastinate",
        database_url="postgresql+psycopg://verity@127.0.0.1/verity",
    )
    assert settings.s3_endpoint == "127.0.0.1:9000"


@pytest.mark.parametrize(
    "command", [["serve", "--port", "0"], ["worker"], ["keys", "create", "--name", "x", "--role", "viewer"]]
)
def test_the_cli_stops_on_unworkable_settings_before_touching_the_archive(tmp_path: Path, command: list[str]) -> None:
    env = {**os.environ, "VERITY_DATA_DIR": str(tmp_path / "data"), "VERITY_BLOB_BACKEND": "s3", "COLUMNS": "200"}
    env.pop("VERITY_S3_ENDPOINT", None)
    done = subprocess.run([VERITY, *command], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert "the settings do not fit: VERITY_BLOB_BACKEND=s3 needs VERITY_S3_ENDPOINT" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "data").exists()
