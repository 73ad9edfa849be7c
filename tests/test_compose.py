"""docker-compose.yml cannot run here (no Docker engine), so these tests run what it describes
with real processes: the image's command (Dockerfile CMD) as the `api` service and the `worker`
service's command, each with the compose file's VERITY_* settings, the service names `postgres`
and `minio` pointed at the PostgreSQL and S3 server on loopback."""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy.engine import make_url

from tests import media
from tests.conftest import ROOT, S3Server, auth, first_admin_key, free_port, running_process, s3_settings
from verity.settings import Settings

pytestmark = pytest.mark.slow  # the compose services as real processes

COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SECRETS = {"POSTGRES_PASSWORD": "pg-secret", "MINIO_ROOT_USER": "verity-s3", "MINIO_ROOT_PASSWORD": "s3-secret"}


def with_secrets(value: str) -> str:
    """Compose's `${NAME}` and `${NAME:?message}`, filled from SECRETS."""
    return re.sub(r"\$\{(\w+)(:\?[^}]*)?\}", lambda match: SECRETS[match.group(1)], value)


def service_env(name: str) -> dict[str, str]:
    return {key: with_secrets(str(value)) for key, value in COMPOSE["services"][name]["environment"].items()}


def image_command() -> list[str]:
    """The Dockerfile's CMD (exec form), what the `api` service runs."""
    [line] = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD ")]
    command: list[str] = json.loads(line.removeprefix("CMD "))
    return command


def test_every_verity_setting_in_the_compose_file_is_one_verity_reads() -> None:
    known = {f"VERITY_{field.upper()}" for field in Settings.model_fields}
    for service in ("api", "worker"):
        env = service_env(service)
        assert set(env) <= known, f"{service}: unknown settings {sorted(set(env) - known)}"
        settings = Settings(**{key.removeprefix("VERITY_").lower(): value for key, value in env.items()})
        assert settings.job_runner == "procrastinate" and settings.blob_backend == "s3"
        url = make_url(settings.resolved_database_url())
        assert (url.drivername, url.host, url.database) == ("postgresql+psycopg", "postgres", "verity")
        assert settings.s3_endpoint == "minio:9000"
    assert service_env("api") == service_env("worker")  # one archive: the same settings on both
    minio = service_env("minio")
    assert (minio["MINIO_ROOT_USER"], minio["MINIO_ROOT_PASSWORD"]) == (
        service_env("api")["VERITY_S3_ACCESS_KEY"],
        service_env("api")["VERITY_S3_SECRET_KEY"],
    )


def test_the_compose_services_archive_an_upload_and_the_worker_analyses_it(
    request: pytest.FixtureRequest, postgres_url: str, tmp_path: Path
) -> None:
    s3: S3Server = request.getfixturevalue("s3_server")
    # The compose settings name hosts `postgres` and `minio` (checked above): point them here.
    loopback = {"VERITY_DATABASE_URL": postgres_url, **s3_settings(request, s3)}
    bin_dir = str(Path(sys.executable).parent)  # where `verity` is, as on the image's PATH
    base = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "HOME": str(tmp_path), "COLUMNS": "200"}
    port = free_port()
    api_command = [part.replace("--host 0.0.0.0 --port 8000", f"--port {port}") for part in image_command()]
    assert api_command != image_command(), "the Dockerfile's CMD no longer serves on 0.0.0.0:8000"
    worker_command = COMPOSE["services"]["worker"]["command"]
    api_env = {**base, "VERITY_DATA_DIR": str(tmp_path / "api"), **service_env("api"), **loopback}
    worker_env = {**base, "VERITY_DATA_DIR": str(tmp_path / "worker"), **service_env("worker"), **loopback}
    clip = media.make_h264_aac(tmp_path / "clip.mp4")
    admin = first_admin_key(api_env)  # as an operator would, with the api service's settings

    with (
        running_process(api_command, api_env, tmp_path / "api.log") as api,
        running_process(worker_command, worker_env, tmp_path / "worker.log"),
    ):
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while not _healthy(url):
            assert api.poll() is None, f"{shlex.join(api_command)} exited: {(tmp_path / 'api.log').read_text()}"
            assert time.monotonic() < deadline, (tmp_path / "api.log").read_text()
            time.sleep(0.2)
        with httpx.Client(base_url=url, headers=auth(admin), timeout=60) as client:
            created = client.post("/api/v1/clips", files={"file": ("clip.mp4", clip.read_bytes(), "video/mp4")})
            assert created.status_code == 201, created.text
            clip_id = created.json()["id"]
            deadline = time.monotonic() + 90
            while (status := client.get(f"/api/v1/clips/{clip_id}").json()["status"]) in ("queued", "processing"):
                assert time.monotonic() < deadline, f"still {status}: {(tmp_path / 'worker.log').read_text()}"
                time.sleep(0.2)
    assert status == "ready", (tmp_path / "worker.log").read_text()
    assert f"clip_id='{clip_id}'" in (tmp_path / "worker.log").read_text()  # the worker did it, not the API
    # The stop signal (docker stop) reached the server itself, not only the shell that started it.
    assert not _healthy(url), "the API still serves after its container's command was stopped"
    assert "Shutting down" in (tmp_path / "api.log").read_text()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz").status_code == 200
    except httpx.TransportError:
        return False
