"""`verity keys list|revoke` on the local archive and through a server, and the first admin key of
`verity serve` (of person "admin"): shown on a terminal, never written to a log."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import time
from pathlib import Path

import httpx

from tests.conftest import VERITY, RunningServer, free_port, running_process, wait_until_serving
from tests.helpers.investigator import Investigator


def run(args: list[str], data_dir: Path, ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VERITY_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    env.pop("VERITY_SERVER", None)
    result = subprocess.run([VERITY, *args], capture_output=True, text=True, env=env, timeout=120)
    if ok and result.returncode != 0:
        raise AssertionError(f"verity {args} failed: {result.stdout}{result.stderr}")
    return result


def create(data_dir: Path, name: str, role: str) -> str:
    return run(["keys", "create", "--name", name, "--role", role], data_dir).stdout.strip().splitlines()[-1]


def test_keys_list_shows_each_key_with_its_role_and_revocation(tmp_path: Path) -> None:
    create(tmp_path, "admin", "admin")
    create(tmp_path, "field-team-tehran", "contributor")
    run(["keys", "revoke", "field-team-tehran"], tmp_path)
    shown = run(["keys", "list"], tmp_path).stdout
    cell = r"[\s│]+"  # between the columns of a table
    assert re.search(rf"admin{cell}admin{cell}\S+{cell}-{cell}", shown), shown
    revoked = re.search(rf"field-team-tehran{cell}contributor{cell}\S+{cell}(\S+)", shown)
    assert revoked and revoked[1].startswith("20"), shown


def test_keys_list_json_names_each_key_and_never_a_secret(tmp_path: Path) -> None:
    secret = create(tmp_path, "admin", "admin")
    listed = json.loads(run(["keys", "list", "--json"], tmp_path).stdout)
    assert [(key["name"], key["role"], key["revoked_at"]) for key in listed] == [("admin", "admin", None)]
    assert secret not in json.dumps(listed)


def test_keys_create_json_gives_the_key_with_its_secret(tmp_path: Path) -> None:
    created = json.loads(
        run(["keys", "create", "--name", "field-team", "--role", "contributor", "--json"], tmp_path).stdout
    )
    assert (created["name"], created["role"], created["revoked_at"]) == ("field-team", "contributor", None)
    assert created["key"].startswith("vrt_") and len(created["key"]) > 40
    [listed] = json.loads(run(["keys", "list", "--json"], tmp_path).stdout)
    assert listed == {name: value for name, value in created.items() if name != "key"}


def test_the_secret_keys_create_json_gives_opens_the_api(server: RunningServer) -> None:
    verity = Investigator(server, server.admin_key)
    secret = json.loads(verity("keys", "create", "--name", "auditor", "--role", "admin", "--json").stdout)["key"]
    answer = httpx.get(f"{server.url}/api/v1/keys", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200 and "auditor" in [key["name"] for key in answer.json()]


def test_keys_revoke_refuses_the_last_admin_key(tmp_path: Path) -> None:
    create(tmp_path, "admin", "admin")
    refused = run(["keys", "revoke", "admin"], tmp_path, ok=False)
    assert refused.returncode == 1 and "last admin key" in refused.stderr
    assert json.loads(run(["keys", "list", "--json"], tmp_path).stdout)[0]["revoked_at"] is None


def test_keys_list_never_creates_an_archive(tmp_path: Path) -> None:
    missing = tmp_path / "elsewhere"
    refused = run(["keys", "list"], missing, ok=False)
    assert refused.returncode == 1 and "no archive at" in refused.stderr
    assert not missing.exists()


def test_keys_revoke_through_a_server_shuts_the_key_out_at_once(server: RunningServer) -> None:
    verity = Investigator(server, server.admin_key)
    secret = verity("keys", "create", "--name", "leaked", "--role", "viewer").stdout.split()[-1]
    assert httpx.get(f"{server.url}/api/v1/clips", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    revoked = verity("keys", "revoke", "leaked", "--server", server.url)
    assert "revoked key 'leaked'" in revoked.stdout
    assert httpx.get(f"{server.url}/api/v1/clips", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    listed = json.loads(verity("keys", "list", "--server", server.url, "--json").stdout)
    assert [key["name"] for key in listed if key["revoked_at"]] == ["leaked"]


def _serve_env(tmp_path: Path) -> tuple[dict[str, str], int]:
    env = {**os.environ, "VERITY_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    return env, free_port()


def test_serve_without_a_terminal_writes_no_key_to_its_log(tmp_path: Path) -> None:
    env, port = _serve_env(tmp_path)
    log = tmp_path / "serve.log"
    with running_process([VERITY, "serve", "--port", str(port)], env, log) as process:
        wait_until_serving(f"http://127.0.0.1:{port}", process, log)
        said = log.read_text()
    assert "vrt_" not in said, said
    assert "no API keys exist: create the first admin key with `verity keys create --name admin --role admin`" in said
    assert json.loads(run(["keys", "list", "--json"], tmp_path / "data").stdout) == []


def test_serve_on_a_terminal_shows_the_first_admin_key_there(tmp_path: Path) -> None:
    env, port = _serve_env(tmp_path)
    url = f"http://127.0.0.1:{port}"
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [VERITY, "serve", "--port", str(port)],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=env,
        start_new_session=True,
    )
    os.close(terminal)
    shown = b""
    try:
        wait_until_serving(url, process)
        deadline = time.monotonic() + 30
        while b"vrt_" not in shown and time.monotonic() < deadline:
            if select.select([controller], [], [], 1)[0]:
                shown += os.read(controller, 65536)
        secret = re.search(rb"vrt_[A-Za-z0-9_-]+", shown)
        assert secret, shown
        answer = httpx.get(f"{url}/api/v1/keys", headers={"Authorization": f"Bearer {secret[0].decode()}"})
        assert answer.status_code == 200
        assert [(key["name"], key["person"], key["role"]) for key in answer.json()] == [("admin", "admin", "admin")]
    finally:
        process.terminate()
        process.wait(timeout=30)
        os.close(controller)
