"""The `verity` command, run as a person would run it, against a real server where it talks to one."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import VERITY, RunningServer, free_port

pytestmark = pytest.mark.slow  # real `verity` processes and servers


def run(args: list[str], data_dir: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VERITY_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    result = subprocess.run([VERITY, *args], capture_output=True, text=True, env=env, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"verity {args} failed: {result.stdout}{result.stderr}")
    return result


def test_keys_create_prints_the_key_alone_on_the_last_line(tmp_path: Path) -> None:
    result = run(["keys", "create", "--name", "alice", "--role", "contributor"], tmp_path)
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("vrt_") and " " not in last
    assert "alice" in result.stdout


def test_keys_create_refuses_an_unknown_role(tmp_path: Path) -> None:
    result = run(["keys", "create", "--name", "bob", "--role", "superuser"], tmp_path, check=False)
    assert result.returncode == 1
    assert "unknown role" in result.stderr


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    run(["db", "upgrade"], tmp_path)
    assert (tmp_path / "verity.db").exists()


def test_db_upgrade_does_not_print_the_database_password(postgres_url: str, tmp_path: Path) -> None:
    given = make_url(postgres_url)
    # The test cluster trusts loopback: a password in the URL is accepted, and must not be shown.
    url = postgres_url if given.password else given.set(password="not-shown").render_as_string(False)
    result = subprocess.run(
        [VERITY, "db", "upgrade"],
        env={**os.environ, "VERITY_DATA_DIR": str(tmp_path), "VERITY_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    secret = make_url(url).password
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout and "***" in result.stdout
    assert secret and secret not in result.stdout + result.stderr


def test_ingest_into_local_archive_prints_id_and_sha256(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(os.urandom(200_000))
    result = run(["ingest", str(clip), "--source", "witness A"], tmp_path / "data")
    clip_id, sha256, *_ = result.stdout.split()
    assert sha256 == hashlib.sha256(clip.read_bytes()).hexdigest()
    assert len(clip_id) == 36
    again = run(["ingest", str(clip)], tmp_path / "data")
    assert again.stdout.split()[0] == clip_id
    assert "duplicate" in again.stdout


def test_ingest_uploads_to_a_server_with_a_key(tmp_path: Path, server: RunningServer) -> None:
    url, admin_key = server.url, server.admin_key
    files = []
    for index in range(2):
        path = tmp_path / f"clip{index}.mp4"
        path.write_bytes(os.urandom(1_500_000 + index))
        files.append(path)
    result = run(
        ["ingest", *map(str, files), "--server", url, "--key", admin_key, "--source", "field team"],
        tmp_path / "client",
    )
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    for line, path in zip(lines, files, strict=True):
        clip_id, sha256, *_ = line.split()
        assert sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        clip = httpx.get(f"{url}/api/v1/clips/{clip_id}", headers={"Authorization": f"Bearer {admin_key}"}).json()
        assert clip["acquisitions"][0]["source"] == "field team"
        assert clip["size_bytes"] == path.stat().st_size


def test_ingest_with_a_wrong_key_fails_with_the_reason(tmp_path: Path, server: RunningServer) -> None:
    url = server.url
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"abc")
    result = run(["ingest", str(path), "--server", url, "--key", "vrt_wrong"], tmp_path / "client", check=False)
    assert result.returncode == 1
    assert "401" in result.stderr


@pytest.fixture(scope="module")
def source_and_copy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from tests import media

    folder = tmp_path_factory.mktemp("cli-verify")
    source = media.make_source(folder / "source.mp4", seconds=9)
    return source, media.make_copy(folder / "copy.mp4", source, "-ss", "2", "-t", "5", "-i", "-vf", "scale=320:180")


def test_verify_prints_exact_match_and_near_duplicates(tmp_path: Path, source_and_copy: tuple[Path, Path]) -> None:
    source, copy = source_and_copy
    clip_id = run(["ingest", str(source)], tmp_path).stdout.split()[0]
    exact = run(["verify", str(source)], tmp_path).stdout
    assert f"Exact match: clip {clip_id}" in exact
    assert "custody chain verifies" in exact
    near = run(["verify", str(copy)], tmp_path).stdout
    assert "Exact match: none" in near
    assert clip_id in near and "→" in near
    # On 80 columns (a pipe) the nine columns do not fit beside the whole id: one record per copy.
    narrow = subprocess.run(
        [VERITY, "verify", str(copy)],
        capture_output=True,
        text=True,
        env={**os.environ, "VERITY_DATA_DIR": str(tmp_path), "COLUMNS": "80"},
        timeout=120,
    ).stdout
    assert "clip:" in narrow and clip_id in narrow
    assert "source.mp4" in narrow and "→" in narrow and "…" not in narrow


def test_verify_json_against_a_server(
    tmp_path: Path, server: RunningServer, source_and_copy: tuple[Path, Path]
) -> None:
    source, copy = source_and_copy
    clip_id = run(["ingest", str(source), "--server", server.url, "--key", server.admin_key], tmp_path).stdout.split()[
        0
    ]
    deadline = time.monotonic() + 60
    with httpx.Client(headers={"Authorization": f"Bearer {server.admin_key}"}) as client:
        while time.monotonic() < deadline:
            if client.get(f"{server.url}/api/v1/clips/{clip_id}").json()["status"] == "ready":
                break
            time.sleep(0.2)
    result = run(["verify", str(copy), "--json", "--server", server.url, "--key", server.admin_key], tmp_path)
    answer = json.loads(result.stdout)
    assert answer["exact_match"] is None
    [near] = answer["near_duplicates"]
    assert near["clip_id"] == clip_id
    assert near["segments"][0]["clip_start_s"] == pytest.approx(2, abs=1.0)


def test_incident_create_list_show_and_link_through_a_server(tmp_path: Path, server: RunningServer) -> None:
    path = tmp_path / "clip.bin"
    path.write_bytes(os.urandom(5000))
    connection = ["--server", server.url, "--key", server.admin_key]
    clip_id = run(["ingest", str(path), *connection], tmp_path).stdout.split()[0]
    created = run(
        [
            "incident",
            "create",
            "--title",
            "Shooting at the square",
            "--starts-at",
            "2019-11-16T14:00:00+03:30",
            "--precision",
            "hour",
            "--place",
            "Sadeghieh",
            "--lat",
            "35.72",
            "--lon",
            "51.33",
            "--tag",
            "shooting",
            *connection,
        ],
        tmp_path,
    )
    incident_id = created.stdout.strip()
    link_id = run(["link", clip_id, incident_id, "--note", "whole clip", *connection], tmp_path).stdout.strip()
    assert link_id.isdigit()
    listed = run(["incident", "list", "--text", "square", *connection], tmp_path).stdout
    assert incident_id in listed
    shown = run(["incident", "show", incident_id, *connection], tmp_path).stdout
    assert "Shooting at the square" in shown and clip_id in shown and "35.72" in shown
    missing = run(["link", clip_id, "no-such-incident", *connection], tmp_path, check=False)
    assert missing.returncode == 1 and "404" in missing.stderr


def run_with(args: list[str], env: dict[str, str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    """`verity` with exactly these VERITY_* settings (none inherited), stdout piped, no COLUMNS:
    as in a script, where rich lays tables out for 80 columns."""
    clean = {name: value for name, value in os.environ.items() if not name.startswith("VERITY_") and name != "COLUMNS"}
    full = {**clean, "VERITY_DATA_DIR": str(data_dir), **env}
    return subprocess.run([VERITY, *args], capture_output=True, text=True, env=full, timeout=120)


def test_commands_without_a_key_say_how_to_give_one(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"abc")
    server = {"VERITY_SERVER": "http://127.0.0.1:9"}
    for args in (["incident", "list"], ["ingest", str(clip)], ["verify", str(clip)]):
        result = run_with(args, server, tmp_path / "data")
        assert result.returncode == 1
        assert "error: no API key: give --key or set VERITY_API_KEY" in result.stderr, result.stderr


def test_a_refusal_is_printed_as_the_servers_sentence(tmp_path: Path, server: RunningServer) -> None:
    env = {"VERITY_SERVER": server.url, "VERITY_API_KEY": server.admin_key}
    naive = run_with(["incident", "create", "--title", "T", "--starts-at", "2019-11-16T14:00:00"], env, tmp_path)
    assert naive.returncode == 1
    assert "server answered 422: starts_at: give a time zone, e.g. 2019-11-16T14:00:00+03:30" in naive.stderr


def test_verify_and_ingest_use_verity_server(tmp_path: Path, server: RunningServer) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(os.urandom(5000))
    env = {"VERITY_SERVER": server.url, "VERITY_API_KEY": server.admin_key}
    local = tmp_path / "no-archive-here"
    ingested = run_with(["ingest", str(clip)], env, local)
    assert ingested.returncode == 0, ingested.stderr
    clip_id = ingested.stdout.split()[0]
    answer = httpx.get(f"{server.url}/api/v1/clips/{clip_id}", headers={"Authorization": f"Bearer {server.admin_key}"})
    assert answer.status_code == 200
    verified = run_with(["verify", str(clip)], env, local)
    assert f"Exact match: clip {clip_id}" in verified.stdout, verified.stderr
    assert not local.exists()


def test_local_verify_refuses_when_no_archive_is_there(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"abc")
    missing = tmp_path / "elsewhere"
    result = run_with(["verify", str(clip)], {}, missing)
    assert result.returncode == 1
    assert f"error: no archive at database sqlite:///{missing.resolve() / 'verity.db'}" in result.stderr
    assert "VERITY_SERVER" in result.stderr
    assert not missing.exists()


def test_local_ingest_and_keys_create_say_which_archive_they_write(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(os.urandom(5000))
    data = tmp_path / "data"
    where = f"the archive at database sqlite:///{data.resolve() / 'verity.db'}, objects {data.resolve() / 'blobs'}"
    ingested = run_with(["ingest", str(clip)], {}, data)
    assert f"archiving into {where}" in ingested.stderr
    created = run_with(["keys", "create", "--name", "alice", "--role", "viewer"], {}, data)
    assert f"creating the key in {where}" in created.stderr
    assert created.stdout.strip().splitlines()[-1].startswith("vrt_")


def test_captured_at_without_a_zone_is_refused_before_uploading(tmp_path: Path, server: RunningServer) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"abc")
    env = {"VERITY_SERVER": server.url, "VERITY_API_KEY": server.admin_key}
    result = run_with(["ingest", str(clip), "--captured-at", "2019-11-16T14:15:00"], env, tmp_path / "client")
    assert result.returncode == 1
    assert "error: --captured-at needs a time zone, e.g. 2019-11-16T14:15:00+03:30" in result.stderr
    clips = httpx.get(f"{server.url}/api/v1/clips", headers={"Authorization": f"Bearer {server.admin_key}"}).json()
    assert clips["total"] == 0


def test_a_duplicate_says_what_became_of_the_archived_clip(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"a text file, not footage\n" * 200)
    first = run_with(["ingest", str(clip)], {}, tmp_path / "data")
    status = re.search(r"clip\.mp4: analysis of clip \S+ ended (\w+)", first.stderr)
    assert status and status[1] in ("unsupported", "failed"), first.stderr
    again = run_with(["ingest", str(clip)], {}, tmp_path / "data")
    assert again.stdout.rstrip().endswith(f"(duplicate: already archived, {status[1]})")


def test_local_ingest_says_once_how_a_failed_analysis_ended(tmp_path: Path) -> None:
    from tests import media

    clip = media.make_undecodable(tmp_path / "undecodable.mp4")
    for options, exit_code in (([], 0), (["--wait"], 1)):  # --wait only adds the exit status
        done = run_with(["ingest", str(clip), *options], {}, tmp_path / f"data{len(options)}")
        assert done.returncode == exit_code, done.stderr
        clip_id = done.stdout.split()[0]
        ended = re.search(rf"^undecodable\.mp4: analysis of clip {clip_id} ended failed: (.+)$", done.stderr, re.M)
        assert ended, done.stderr
        assert done.stderr.count(clip_id) == 1 and done.stderr.count(ended[1]) == 1, done.stderr


def test_local_ingest_json_is_each_clip_analysed_with_its_duplicate_flag(tmp_path: Path) -> None:
    text, other = tmp_path / "notes.txt", tmp_path / "other.bin"
    text.write_bytes(b"a text file, not footage\n" * 200)
    other.write_bytes(os.urandom(5000))
    first = run_with(["ingest", str(text), "--source", "witness A", "--json"], {}, tmp_path / "data")
    clip = json.loads(first.stdout)  # one FILE: the clip itself, and nothing else on stdout
    assert clip["sha256"] == hashlib.sha256(text.read_bytes()).hexdigest() and clip["filename"] == "notes.txt"
    assert (clip["status"], clip["duplicate"], clip["size_bytes"]) == ("unsupported", False, text.stat().st_size)
    assert clip["status_reason"] and clip["status_reason"] in first.stderr
    assert [acquisition["source"] for acquisition in clip["acquisitions"]] == ["witness A"]
    both = json.loads(run_with(["ingest", str(text), str(other), "--json"], {}, tmp_path / "data").stdout)
    assert [(item["filename"], item["duplicate"]) for item in both] == [("notes.txt", True), ("other.bin", False)]
    assert both[0]["id"] == clip["id"] and len(both[0]["acquisitions"]) == 2
    assert both[0]["status"] == "unsupported" and both[1]["status"] in ("unsupported", "failed")


def test_ingest_json_through_a_server_is_the_upload_answer(tmp_path: Path, server: RunningServer) -> None:
    path = tmp_path / "clip.bin"
    path.write_bytes(os.urandom(5000))
    connection = ["--server", server.url, "--key", server.admin_key]
    uploaded = json.loads(run(["ingest", str(path), "--source", "field team", "--json", *connection], tmp_path).stdout)
    clip = httpx.get(f"{server.url}/api/v1/clips", headers={"Authorization": f"Bearer {server.admin_key}"}).json()
    [archived] = clip["items"]
    assert uploaded["id"] == archived["id"] and uploaded["sha256"] == archived["sha256"]
    assert uploaded["duplicate"] is False and uploaded["upload_id"]
    assert uploaded["acquisitions"][0]["source"] == "field team"
    again = json.loads(run(["ingest", str(path), "--json", *connection], tmp_path).stdout)
    assert (again["id"], again["duplicate"], len(again["acquisitions"])) == (archived["id"], True, 2)


def test_lists_keep_ids_whole_when_piped_and_print_json(tmp_path: Path, server: RunningServer) -> None:
    env = {"VERITY_SERVER": server.url, "VERITY_API_KEY": server.admin_key}
    clip = tmp_path / "a-file-name-long-enough-to-need-folding-in-eighty-columns.mp4"
    clip.write_bytes(os.urandom(5000))
    clip_id = run_with(["ingest", str(clip), "--server", server.url], env, tmp_path).stdout.split()[0]
    title = "Shooting at Sadeghieh square, seen from the rooftop opposite the bank"
    incident_id = run_with(
        ["incident", "create", "--title", title, "--starts-at", "2019-11-16T14:00:00+03:30", "--place", "Tehran"],
        env,
        tmp_path,
    ).stdout.strip()
    case_id = run_with(["case", "create", "--title", title, "--incident", incident_id], env, tmp_path).stdout.strip()
    for args, wanted in (
        (["clip", "list"], clip_id),
        (["incident", "list"], incident_id),
        (["case", "list"], case_id),
        (["clip", "custody", clip_id], "uploaded"),
    ):
        table = run_with(args, env, tmp_path).stdout
        assert wanted in table, table
        assert "…" not in table, table
        if args[-1] == "list":
            page = json.loads(run_with([*args, "--json"], env, tmp_path).stdout)
            assert [item["id"] for item in page["items"]] == [wanted] and page["total"] == 1


def test_serve_prints_which_archive_on_one_line(tmp_path: Path) -> None:
    from tests.conftest import running_server

    with running_server(tmp_path, {"COLUMNS": "60"}) as running:
        log = next(tmp_path.glob("serve-*.log")).read_text()
    database = f"sqlite:///{(running.data_dir / 'verity.db').resolve()}"
    assert f"Verity archive: database {database}, objects {(running.data_dir / 'blobs').resolve()}" in log


def test_verify_against_an_unreachable_server_says_so_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "clip.bin"
    path.write_bytes(b"abc")
    result = run(
        ["verify", str(path), "--server", f"http://127.0.0.1:{free_port()}", "--key", "vrt_x"], tmp_path, check=False
    )
    assert result.returncode == 1
    assert "cannot reach" in result.stderr and "Traceback" not in result.stderr


def test_case_add_with_one_unknown_incident_changes_nothing(tmp_path: Path, server: RunningServer) -> None:
    connection = ["--server", server.url, "--key", server.admin_key]
    incident = run(
        ["incident", "create", "--title", "Shooting", "--starts-at", "2019-11-16T14:00:00+03:30", *connection], tmp_path
    ).stdout.strip()
    case = run(["case", "create", "--title", "Report", *connection], tmp_path).stdout.strip()
    refused = run(["case", "add", case, incident, "no-such-incident", *connection], tmp_path, check=False)
    assert refused.returncode == 1 and "404" in refused.stderr
    shown = httpx.get(f"{server.url}/api/v1/cases/{case}", headers={"Authorization": f"Bearer {server.admin_key}"})
    assert shown.json()["incident_ids"] == [] and shown.json()["version"] == 1


def test_titles_with_brackets_are_printed_as_typed(tmp_path: Path, server: RunningServer) -> None:
    env = {"VERITY_SERVER": server.url, "VERITY_API_KEY": server.admin_key}
    title = "Shelling of the market [video 1] [/] [bold]"
    incident_id = run_with(
        ["incident", "create", "--title", title, "--starts-at", "2019-11-16T14:00:00+03:30"], env, tmp_path
    ).stdout.strip()
    case_id = run_with(["case", "create", "--title", title, "--incident", incident_id], env, tmp_path).stdout.strip()
    wide = {**env, "COLUMNS": "200"}  # room for the title on one line of a table
    for args in (["incident", "list"], ["incident", "show", incident_id], ["case", "list"], ["case", "show", case_id]):
        shown = run_with(args, wide, tmp_path)
        assert shown.returncode == 0, shown.stderr
        assert title in shown.stdout, shown.stdout


@pytest.mark.slow
@pytest.mark.parametrize(("trusted", "secure"), [("", False), ("127.0.0.1", True)], ids=["no-proxy", "proxy"])
def test_the_cookie_is_secure_behind_a_trusted_tls_proxy(tmp_path: Path, trusted: str, secure: bool) -> None:
    from tests.conftest import running_server

    with running_server(tmp_path, {"VERITY_FORWARDED_ALLOW_IPS": trusted}) as running:
        answer = httpx.get(f"{running.url}/sign-in", headers={"X-Forwarded-Proto": "https"})
    cookie = answer.headers["set-cookie"]
    assert ("secure" in {part.strip().lower() for part in cookie.split(";")}) is secure
