"""`verity timestamps anchor|retry` and a local `verity ingest` with an authority configured, run as
a person would run them, against the loopback TSA."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import VERITY, free_port
from tests.helpers.tsa import LoopbackTsa

pytestmark = pytest.mark.slow  # real `verity` processes


def run(args: list[str], env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([VERITY, *args], capture_output=True, text=True, env=env, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"verity {args} failed: {result.stdout}{result.stderr}")
    return result


def archive_env(data_dir: Path, tsa: LoopbackTsa, *urls: str) -> dict[str, str]:
    env = {**os.environ, "VERITY_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    env.pop("VERITY_SERVER", None)
    return {
        **env,
        "VERITY_TIMESTAMP_URLS": ",".join(urls or (tsa.url,)),
        "VERITY_TIMESTAMP_CA_FILE": str(tsa.certificates.ca_pem),
    }


def test_a_local_ingest_stamps_and_anchor_puts_the_moved_chains_under_one_stamp(
    tmp_path: Path, tsa: LoopbackTsa
) -> None:
    env = archive_env(tmp_path / "data", tsa)
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(os.urandom(50_000))
    ingested = run(["ingest", str(clip)], env)
    assert "timestamp stamped" in ingested.stderr
    anchored = run(["timestamps", "anchor", "--json"], env)
    made = json.loads(anchored.stdout)
    assert made["chain_count"] == 1 and made["tsa"] == tsa.url
    assert tsa.requests == 2  # the original, then the anchor
    again = run(["timestamps", "anchor"], env)
    assert "nothing to anchor" in again.stdout


def test_retry_stamps_what_an_unreachable_authority_left_pending(tmp_path: Path, tsa: LoopbackTsa) -> None:
    down = f"http://127.0.0.1:{free_port()}/tsr"
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(os.urandom(50_000))
    ingested = run(["ingest", str(clip)], archive_env(tmp_path / "data", tsa, down))
    assert "timestamp pending" in ingested.stderr
    still_down = run(["timestamps", "retry", "--force"], archive_env(tmp_path / "data", tsa, down), check=False)
    assert still_down.returncode == 1 and "1 pending" in still_down.stdout
    back = run(["timestamps", "retry", "--force"], archive_env(tmp_path / "data", tsa))
    assert "1 stamped" in back.stdout


def test_timestamps_commands_say_when_no_authority_is_configured(tmp_path: Path) -> None:
    env = {**os.environ, "VERITY_DATA_DIR": str(tmp_path)}
    env.pop("VERITY_SERVER", None)
    result = run(["timestamps", "anchor"], env, check=False)
    assert result.returncode == 1
    assert "VERITY_TIMESTAMP_URLS" in result.stderr
