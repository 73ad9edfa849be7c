"""Resumable uploads (/api/v1/uploads): chunks at the server's offset, archived like any upload once
the last byte is in, nothing kept from a refused, abandoned or cut-off chunk."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ingest import resumable
from ingest.resumable import complete_upload, receive_chunk, spool_key, sweep_abandoned
from ingest.upload import UploadResult
from storage.archive import Archive
from storage.blobs import LocalBlobStore
from storage.keys import create_key
from storage.models import Upload
from storage.spool import hold_spool
from tests.conftest import RunningServer, all_blob_keys, auth, running_server
from tests.helpers.api_calls import row_counts, upload, wait_until_done
from tests.helpers.backends import embedded_only
from verity.errors import Conflict, OffsetMismatch


def start(client: TestClient, key: str, size: int, name: str = "VID_0002.mp4", **fields: object) -> httpx.Response:
    return client.post("/api/v1/uploads", headers=auth(key), json={"filename": name, "size_bytes": size, **fields})


def send(client: TestClient, key: str, upload_id: str, offset: int, data: bytes | Iterator[bytes]) -> httpx.Response:
    headers = {**auth(key), "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
    return client.patch(f"/api/v1/uploads/{upload_id}", headers=headers, content=data)


def stored_bytes(archive: Archive, upload_id: str = "") -> int:
    """How many bytes the object store holds for unfinished uploads (one, or all)."""
    keys = [key for key in all_blob_keys(archive.blobs) if key.startswith(f"uploads/{upload_id}")]
    return sum(archive.blobs.stat(key).size for key in keys)


def spool_of(archive: Archive, upload_id: str) -> Path:
    """The upload's spool file (tests that use it run on the embedded archive only)."""
    spool = archive.blobs.spool_path(spool_key(upload_id))
    assert spool is not None, "an S3 store has no spool file: mark the test embedded_only"
    return spool


def assert_archived_whole(archive: Archive, result: UploadResult, data: bytes) -> None:
    """The clip's original is exactly `data`, and nothing of any upload is left in the store."""
    assert result.clip.sha256 == hashlib.sha256(data).hexdigest()
    assert b"".join(archive.blobs.open(result.clip.blob_key)) == data
    assert stored_bytes(archive) == 0


def test_upload_in_three_chunks_archives_the_file_byte_for_byte(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    data = os.urandom(700_001)
    created = start(client, keys["contributor"], len(data), source="witness B", captured_at="2019-11-16T14:15:00+03:30")
    assert created.status_code == 201, created.text
    upload = created.json()
    assert (upload["size_bytes"], upload["received_bytes"], upload["clip_id"]) == (len(data), 0, None)
    assert created.headers["location"] == f"/api/v1/uploads/{upload['id']}"

    first = send(client, keys["contributor"], upload["id"], 0, data[:300_000])
    assert first.status_code == 200, first.text
    assert first.json()["received_bytes"] == 300_000
    assert first.headers["upload-offset"] == "300000"
    assert send(client, keys["contributor"], upload["id"], 300_000, data[300_000:600_000]).json()["received_bytes"] == (
        600_000
    )
    last = send(client, keys["contributor"], upload["id"], 600_000, data[600_000:])

    assert last.status_code == 201, last.text
    clip = last.json()
    sha = hashlib.sha256(data).hexdigest()
    assert (clip["sha256"], clip["size_bytes"], clip["duplicate"], clip["upload_id"]) == (
        sha,
        len(data),
        False,
        upload["id"],
    )
    assert clip["filename"] == "VID_0002.mp4"
    assert clip["acquisitions"][0]["source"] == "redacted"  # the contributor holds no sources permission
    [acquisition] = client.get(f"/api/v1/clips/{clip['id']}", headers=auth(keys["admin"])).json()["acquisitions"]
    assert acquisition["source"] == "witness B"
    assert acquisition["captured_at"].startswith("2019-11-16T10:45:00")
    assert last.headers["location"] == f"/api/v1/clips/{clip['id']}"
    assert b"".join(archive.blobs.open(f"originals/{sha[:2]}/{sha}")) == data
    assert all_blob_keys(archive.blobs) == [f"originals/{sha[:2]}/{sha}"]  # the chunks are gone
    custody = client.get(f"/api/v1/clips/{clip['id']}/custody", headers=auth(keys["viewer"])).json()
    assert [e["action"] for e in custody["events"] if e["action"] in ("uploaded", "acquired_duplicate")] == ["uploaded"]
    assert custody["verified"] is True
    done = client.get(f"/api/v1/uploads/{upload['id']}", headers=auth(keys["contributor"]))
    assert (done.json()["received_bytes"], done.json()["clip_id"]) == (len(data), clip["id"])
    stale = send(client, keys["contributor"], upload["id"], 300_000, data[300_000:])
    assert stale.status_code == 409
    assert stale.json()["offset"] == len(data)
    assert f"is complete, archived as clip {clip['id']}" in stale.json()["detail"]


def test_chunks_of_5_mib_and_more_become_the_original_byte_for_byte(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    # S3 joins chunks this size on the server (and reads the whole back for the hash); the local
    # store has them in its spool file already. Smaller chunks are copied through (test above).
    data = os.urandom(12 * 1024 * 1024 + 7)
    upload_id = start(client, keys["contributor"], len(data)).json()["id"]
    cuts = [0, 5 * 1024 * 1024, 11 * 1024 * 1024, len(data)]
    for first, end in zip(cuts, cuts[1:], strict=False):
        answer = send(client, keys["contributor"], upload_id, first, data[first:end])
    assert answer.status_code == 201, answer.text
    sha = hashlib.sha256(data).hexdigest()
    assert (answer.json()["sha256"], answer.json()["size_bytes"]) == (sha, len(data))
    assert b"".join(archive.blobs.open(f"originals/{sha[:2]}/{sha}")) == data
    assert all_blob_keys(archive.blobs) == [f"originals/{sha[:2]}/{sha}"]  # no chunk or staging object left


def test_asking_again_at_the_end_repeats_the_answer_without_a_new_acquisition(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    data = os.urandom(10_000)
    upload_id = start(client, keys["contributor"], len(data)).json()["id"]
    first = send(client, keys["contributor"], upload_id, 0, data).json()
    again = send(client, keys["contributor"], upload_id, len(data), b"")
    assert again.status_code == 201
    assert (again.json()["id"], again.json()["sha256"]) == (first["id"], first["sha256"])
    assert row_counts(archive)[:2] == (1, 1)  # one clip, one acquisition


def test_chunk_at_the_wrong_offset_is_409_with_the_current_offset(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    data = os.urandom(50_000)
    upload_id = start(client, keys["contributor"], len(data)).json()["id"]
    send(client, keys["contributor"], upload_id, 0, data[:20_000])
    for wrong in (0, 10_000, 30_000):
        response = send(client, keys["contributor"], upload_id, wrong, data[wrong : wrong + 5_000])
        assert response.status_code == 409
        assert response.json()["error"] == "offset_mismatch"
        assert response.json()["offset"] == 20_000
        assert response.headers["upload-offset"] == "20000"
    assert stored_bytes(archive, upload_id) == 20_000
    state = client.get(f"/api/v1/uploads/{upload_id}", headers=auth(keys["contributor"]))
    assert state.json()["received_bytes"] == 20_000
    assert state.headers["upload-offset"] == "20000"


def test_chunk_past_the_declared_size_is_refused_and_changes_nothing(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    upload_id = start(client, keys["contributor"], 100_000).json()["id"]
    send(client, keys["contributor"], upload_id, 0, os.urandom(60_000))
    declared = send(client, keys["contributor"], upload_id, 60_000, os.urandom(40_001))

    def streamed() -> Iterator[bytes]:  # no Content-Length: found out while reading
        for _ in range(5):
            yield os.urandom(10_000)

    undeclared = send(client, keys["contributor"], upload_id, 60_000, streamed())

    for response in (declared, undeclared):
        assert response.status_code == 400, response.text
        assert "past the declared size of 100000 bytes" in response.json()["detail"]
    state = client.get(f"/api/v1/uploads/{upload_id}", headers=auth(keys["contributor"])).json()
    assert (state["received_bytes"], state["clip_id"]) == (60_000, None)
    assert stored_bytes(archive, upload_id) == 60_000  # the refused bytes were cut off
    assert row_counts(archive) == (0, 0, 0)


def test_resumable_reupload_of_archived_bytes_is_a_duplicate_with_a_new_acquisition(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    data = os.urandom(80_000)
    first = client.post(
        "/api/v1/clips", headers=auth(keys["contributor"]), files={"file": ("a.mp4", data, "video/mp4")}
    ).json()
    upload_id = start(client, keys["admin"], len(data), name="copy.mp4", source="second source").json()["id"]
    send(client, keys["admin"], upload_id, 0, data[:40_000])
    second = send(client, keys["admin"], upload_id, 40_000, data[40_000:])

    assert second.status_code == 200, second.text
    body = second.json()
    assert (body["duplicate"], body["id"], body["filename"]) == (True, first["id"], "a.mp4")
    assert [(a["filename"], a["source"], a["received_by"]) for a in body["acquisitions"]] == [
        ("a.mp4", None, "contributor-key"),
        ("copy.mp4", "second source", "admin-key"),
    ]
    custody = client.get(f"/api/v1/clips/{first['id']}/custody", headers=auth(keys["viewer"])).json()
    receipts = [e["action"] for e in custody["events"] if e["action"] in ("uploaded", "acquired_duplicate")]
    assert receipts == ["uploaded", "acquired_duplicate"]
    assert all_blob_keys(archive.blobs) == [f"originals/{first['sha256'][:2]}/{first['sha256']}"]


def test_abandoning_an_upload_deletes_its_chunks(client: TestClient, keys: dict[str, str], archive: Archive) -> None:
    upload_id = start(client, keys["contributor"], 90_000).json()["id"]
    for offset in (0, 30_000):
        send(client, keys["contributor"], upload_id, offset, os.urandom(30_000))
    assert stored_bytes(archive, upload_id) == 60_000

    assert client.delete(f"/api/v1/uploads/{upload_id}", headers=auth(keys["contributor"])).status_code == 204

    assert all_blob_keys(archive.blobs) == []
    assert client.get(f"/api/v1/uploads/{upload_id}", headers=auth(keys["contributor"])).status_code == 404
    assert send(client, keys["contributor"], upload_id, 60_000, os.urandom(10)).status_code == 404


def test_an_upload_left_unfinished_too_long_is_deleted_when_the_server_starts(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    idle = start(client, keys["contributor"], 1000).json()["id"]
    send(client, keys["contributor"], idle, 0, b"x" * 400)
    recent = start(client, keys["contributor"], 1000).json()["id"]
    send(client, keys["contributor"], recent, 0, b"y" * 400)
    too_long_ago = datetime.now(UTC) - timedelta(hours=archive.settings.upload_idle_hours + 1)
    with archive.sessions.begin() as session:
        session.get_one(Upload, idle).updated_at = too_long_ago
    assert (stored_bytes(archive, idle), stored_bytes(archive, recent)) == (400, 400)
    with TestClient(create_app(archive=archive)) as restarted:  # the sweep runs at start, then hourly
        deadline = time.monotonic() + 30
        while restarted.get(f"/api/v1/uploads/{idle}", headers=auth(keys["contributor"])).status_code != 404:
            assert time.monotonic() < deadline, "the idle upload was not swept"
            time.sleep(0.05)
        still = restarted.get(f"/api/v1/uploads/{recent}", headers=auth(keys["contributor"]))
        assert still.json()["received_bytes"] == 400
    assert (stored_bytes(archive, idle), stored_bytes(archive)) == (0, 400)  # the recent upload's only


def test_another_contributor_cannot_see_continue_or_delete_an_upload(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    with archive.sessions.begin() as session:
        _key, other = create_key(session, "other-contributor", "contributor")
    upload_id = start(client, keys["contributor"], 20_000).json()["id"]
    send(client, keys["contributor"], upload_id, 0, os.urandom(5_000))

    assert client.get(f"/api/v1/uploads/{upload_id}", headers=auth(other)).status_code == 404
    assert send(client, other, upload_id, 5_000, os.urandom(15_000)).status_code == 404
    assert client.delete(f"/api/v1/uploads/{upload_id}", headers=auth(other)).status_code == 404

    state = client.get(f"/api/v1/uploads/{upload_id}", headers=auth(keys["admin"])).json()  # an admin may look
    assert (state["received_bytes"], state["created_by"]) == (5_000, "contributor-key")
    assert stored_bytes(archive, upload_id) == 5_000
    assert client.get(f"/api/v1/uploads/{upload_id}", headers=auth(keys["viewer"])).status_code == 403


def test_an_empty_or_too_large_declared_size_is_refused(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    archive.settings.max_upload_bytes = 1000
    empty = start(client, keys["contributor"], 0)
    assert (empty.status_code, empty.json()["error"]) == (400, "empty_upload")
    too_large = start(client, keys["contributor"], 1001)
    assert (too_large.status_code, too_large.json()["error"]) == (413, "upload_too_large")
    no_zone = start(client, keys["contributor"], 10, captured_at="2019-11-16T14:15:00")
    assert no_zone.status_code == 422
    assert start(client, keys["contributor"], 1000).status_code == 201


def upload_files(data_dir: Path, upload_id: str) -> list[Path]:
    """The files a local store holds for an upload: its spool file, chunk objects, files being written."""
    folder = data_dir / "blobs" / "uploads"
    return sorted(folder.glob(f"*{upload_id}*")) if folder.is_dir() else []


@contextmanager
def first_half_of_chunk(server: RunningServer, upload_id: str, data: bytes) -> Iterator[socket.socket]:
    """A PATCH of `data` at offset 0 of which only the first half is sent, once the server is
    storing it; the connection stays open until the block ends."""
    address = urlsplit(server.url)
    with socket.create_connection((address.hostname, address.port)) as connection:
        connection.sendall(
            (
                f"PATCH /api/v1/uploads/{upload_id} HTTP/1.1\r\nHost: {address.netloc}\r\n"
                f"Authorization: Bearer {server.admin_key}\r\nUpload-Offset: 0\r\n"
                f"Content-Type: application/offset+octet-stream\r\nContent-Length: {len(data)}\r\n\r\n"
            ).encode()
            + data[: len(data) // 2]
        )
        deadline = time.monotonic() + 10
        while not any(path.stat().st_size for path in upload_files(server.data_dir, upload_id)):
            assert time.monotonic() < deadline, "the server never started storing the chunk"
            time.sleep(0.02)
        yield connection


def test_a_connection_dropped_mid_chunk_leaves_the_offset_and_no_object(server: RunningServer) -> None:
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    data = os.urandom(3_000_000)
    upload_id = httpx.post(
        f"{server.url}/api/v1/uploads", headers=headers, json={"filename": "cut.mp4", "size_bytes": len(data)}
    ).json()["id"]
    store = LocalBlobStore(server.data_dir / "blobs")

    with first_half_of_chunk(server, upload_id, data):
        pass  # the connection drops

    deadline = time.monotonic() + 10
    while all_blob_keys(store) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all_blob_keys(store) == []
    state = httpx.get(f"{server.url}/api/v1/uploads/{upload_id}", headers=headers)
    assert (state.json()["received_bytes"], state.headers["upload-offset"]) == (0, "0")

    resent = httpx.patch(
        f"{server.url}/api/v1/uploads/{upload_id}", headers={**headers, "Upload-Offset": "0"}, content=data, timeout=60
    )
    assert resent.status_code == 201, resent.text
    assert resent.json()["sha256"] == hashlib.sha256(data).hexdigest()


def test_a_chunk_whose_client_stops_sending_is_dropped_and_the_upload_can_go_on(tmp_path: Path) -> None:
    with running_server(tmp_path, {"VERITY_UPLOAD_STALL_SECONDS": "1"}) as server:
        headers = {"Authorization": f"Bearer {server.admin_key}"}
        data = os.urandom(3_000_000)
        upload_id = httpx.post(
            f"{server.url}/api/v1/uploads", headers=headers, json={"filename": "stall.mp4", "size_bytes": len(data)}
        ).json()["id"]
        with first_half_of_chunk(server, upload_id, data):  # then nothing more: a half-open connection
            deadline = time.monotonic() + 15
            while upload_files(server.data_dir, upload_id):
                assert time.monotonic() < deadline, "the stalled chunk still holds the upload's spool file"
                time.sleep(0.05)
            state = httpx.get(f"{server.url}/api/v1/uploads/{upload_id}", headers=headers).json()
            assert state["received_bytes"] == 0
            resent = httpx.patch(
                f"{server.url}/api/v1/uploads/{upload_id}",
                headers={**headers, "Upload-Offset": "0"},
                content=data,
                timeout=60,
            )
        assert resent.status_code == 201, resent.text
        assert resent.json()["sha256"] == hashlib.sha256(data).hexdigest()
        assert upload_files(server.data_dir, upload_id) == []


def test_of_two_chunks_racing_at_the_same_offset_one_counts_and_the_other_is_409(server: RunningServer) -> None:
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    rest = os.urandom(3_000_000)
    upload_id = httpx.post(
        f"{server.url}/api/v1/uploads", headers=headers, json={"filename": "race.mp4", "size_bytes": 4_000_000}
    ).json()["id"]
    both_writing = threading.Event()
    answers: dict[bytes, httpx.Response] = {}

    def body(fill: bytes) -> Iterator[bytes]:
        yield fill * 500_000
        both_writing.wait(10)
        yield fill * 500_000

    def send_chunk(fill: bytes) -> None:
        answers[fill] = httpx.patch(
            f"{server.url}/api/v1/uploads/{upload_id}",
            headers={**headers, "Upload-Offset": "0", "Content-Length": "1000000"},
            content=body(fill),
            timeout=30,
        )

    senders = [threading.Thread(target=send_chunk, args=(fill,)) for fill in (b"a", b"b")]
    for sender in senders:
        sender.start()
    deadline = time.monotonic() + 10
    # One writes into the upload's spool file, the other (finding it held) into an object of its own.
    while len(upload_files(server.data_dir, upload_id)) != 2:
        assert time.monotonic() < deadline, "the two chunks were never stored side by side"
        time.sleep(0.02)
    both_writing.set()
    for sender in senders:
        sender.join()

    assert sorted(answer.status_code for answer in answers.values()) == [200, 409]
    [(winner, won)] = [(fill, answer) for fill, answer in answers.items() if answer.status_code == 200]
    [lost] = [answer for answer in answers.values() if answer.status_code == 409]
    assert lost.json()["offset"] == 1_000_000
    assert won.json()["received_bytes"] == 1_000_000
    assert sum(path.stat().st_size for path in upload_files(server.data_dir, upload_id)) == 1_000_000

    done = httpx.patch(
        f"{server.url}/api/v1/uploads/{upload_id}", headers={**headers, "Upload-Offset": "1000000"}, content=rest
    )
    assert done.status_code == 201, done.text
    assert done.json()["sha256"] == hashlib.sha256(winner * 1_000_000 + rest).hexdigest()
    assert upload_files(server.data_dir, upload_id) == []


@embedded_only
def test_a_chunk_sent_while_another_request_writes_in_place_is_kept_and_copied_in(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    data = os.urandom(300_000)
    upload_id = start(client, keys["contributor"], len(data)).json()["id"]
    spool = spool_of(archive, upload_id)
    stretches = [(0, 100_000), (100_000, 200_000), (200_000, 250_000), (250_000, 300_000)]
    for number, (first, end) in enumerate(stretches):
        if number % 2:  # a request whose client is gone still holds the spool file
            with hold_spool(spool) as stale:
                assert stale is not None
                outcome = receive_chunk(archive, upload_id, first, [data[first:end]])
        else:
            outcome = receive_chunk(archive, upload_id, first, [data[first:end]])
        assert outcome.upload.received_bytes == end
    assert outcome.complete
    # The second chunk was copied into the spool file before the third; the last waits as an object.
    assert archive.blobs.stat(spool_key(upload_id)).size == 250_000
    assert stored_bytes(archive, upload_id) == 300_000

    result = complete_upload(archive, upload_id)

    assert_archived_whole(archive, result, data)


def test_an_upload_is_marked_archived_in_the_same_transaction_as_its_acquisition(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    data = os.urandom(5000)
    upload_id = start(client, keys["contributor"], len(data)).json()["id"]
    receive_chunk(archive, upload_id, 0, [data])  # all bytes in; this request would now archive it
    other = upload(client, keys["contributor"], os.urandom(100)).json()["id"]
    wait_until_done(client, keys["contributor"], other)  # its analysis writes custody events of its own
    with archive.sessions.begin() as session:  # meanwhile another request (after a lease ran out) finished it
        session.get_one(Upload, upload_id).clip_id = other
    before = row_counts(archive)
    with pytest.raises(Conflict):
        complete_upload(archive, upload_id)
    assert row_counts(archive) == before  # no second acquisition, no custody event


@embedded_only
@pytest.mark.parametrize("first", [0, 100_000])
def test_a_resend_accepted_while_the_spool_holder_was_checking_is_kept(
    client: TestClient, keys: dict[str, str], archive: Archive, monkeypatch: pytest.MonkeyPatch, first: int
) -> None:
    data = os.urandom(300_000)
    upload_id = start(client, keys["contributor"], len(data)).json()["id"]
    spool_of(archive, upload_id)
    if first:
        receive_chunk(archive, upload_id, 0, [data[:first]])
    chunk = data[first : first + 100_000]
    fill = resumable._fill_spool

    def resend_arrives_first(*args: Any) -> int:
        # Between this request's offset check and its filling of the spool file, the client's
        # resend of the same chunk finds the file held, is stored as an object and accepted.
        monkeypatch.setattr(resumable, "_fill_spool", fill)
        assert receive_chunk(archive, upload_id, first, [chunk]).upload.received_bytes == first + 100_000
        return fill(*args)

    monkeypatch.setattr(resumable, "_fill_spool", resend_arrives_first)
    with pytest.raises(OffsetMismatch) as refused:
        receive_chunk(archive, upload_id, first, [chunk])
    assert refused.value.offset == first + 100_000

    outcome = receive_chunk(archive, upload_id, first + 100_000, [data[first + 100_000 :]])
    assert outcome.complete
    assert complete_upload(archive, upload_id).clip.sha256 == hashlib.sha256(data).hexdigest()


@embedded_only
def test_archiving_while_a_stale_request_holds_the_spool_copies_the_bytes_beside_it(
    client: TestClient, keys: dict[str, str], archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resumable, "SPOOL_WAIT_S", 0.2)
    data = os.urandom(300_000)
    upload_id = start(client, keys["contributor"], len(data)).json()["id"]
    spool = spool_of(archive, upload_id)
    receive_chunk(archive, upload_id, 0, [data[:100_000]])  # into the spool file
    # A request whose client went away holds the file until its connection times out; the
    # client goes on meanwhile (its chunks are kept as objects), and the last one archives.
    with hold_spool(spool) as stale:
        assert stale is not None
        receive_chunk(archive, upload_id, 100_000, [data[100_000:200_000]])
        assert receive_chunk(archive, upload_id, 200_000, [data[200_000:]]).complete
        result = complete_upload(archive, upload_id)

    assert_archived_whole(archive, result, data)


def test_the_sweep_deletes_what_archived_or_deleted_uploads_left_in_the_store(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    data = os.urandom(50_000)
    archived = start(client, keys["contributor"], len(data)).json()["id"]
    clip = send(client, keys["contributor"], archived, 0, data).json()
    unfinished = start(client, keys["contributor"], len(data)).json()["id"]
    send(client, keys["contributor"], unfinished, 0, data[:20_000])
    # What a process killed between committing and cleaning up leaves: the archived upload's spool
    # file (on a folder a second name of the original) and a copied chunk object; and a chunk
    # object of an upload deleted meanwhile.
    original = f"originals/{clip['sha256'][:2]}/{clip['sha256']}"
    blobs = archive.blobs
    spool, original_path = blobs.spool_path(spool_key(archived)), blobs.local_path(original)
    if spool is not None and original_path is not None:
        os.link(original_path, spool)
    else:
        blobs.put_stream(spool_key(archived), [data])
    blobs.put_stream(f"uploads/{archived}.{20_000:016d}.0123456789ab", [data[20_000:]])
    blobs.put_stream(f"uploads/{uuid.uuid4()}.{0:016d}.0123456789ab", [b"gone"])
    assert stored_bytes(archive) == 20_000 + 50_000 + 30_000 + 4

    assert sweep_abandoned(archive, timedelta(hours=archive.settings.upload_idle_hours)) == 0

    assert (stored_bytes(archive), stored_bytes(archive, unfinished)) == (20_000, 20_000)
    assert b"".join(blobs.open(original)) == data


def test_an_upload_with_all_its_bytes_is_not_deleted_but_archived(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    data = os.urandom(5000)
    upload_id = start(client, keys["contributor"], len(data)).json()["id"]
    receive_chunk(archive, upload_id, 0, [data])  # every byte in; its request died before archiving
    with archive.sessions.begin() as session:  # ... long enough ago for its lease to have run out
        session.get_one(Upload, upload_id).completing_since = datetime.now(UTC) - timedelta(hours=1)

    refused = client.delete(f"/api/v1/uploads/{upload_id}", headers=auth(keys["contributor"]))
    assert refused.status_code == 409 and "all its bytes" in refused.json()["detail"]

    answer = send(client, keys["contributor"], upload_id, len(data), b"")  # the client asks again
    assert answer.status_code == 201, answer.text
    assert answer.json()["sha256"] == hashlib.sha256(data).hexdigest()


def test_an_upload_whose_archiving_died_is_archived_when_the_server_starts(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    data = os.urandom(5000)
    upload_id = start(client, keys["contributor"], len(data), source="witness C").json()["id"]
    receive_chunk(archive, upload_id, 0, [data])  # every byte in; then the process archiving it died
    long_ago = datetime.now(UTC) - timedelta(hours=archive.settings.upload_idle_hours + 1)
    with archive.sessions.begin() as session:  # and its client never came back
        upload = session.get_one(Upload, upload_id)
        upload.completing_since, upload.updated_at = long_ago, long_ago

    with TestClient(create_app(archive=archive)) as restarted:  # archived at start, not swept away
        deadline = time.monotonic() + 30
        while (state := restarted.get(f"/api/v1/uploads/{upload_id}", headers=auth(keys["contributor"])).json())[
            "clip_id"
        ] is None:
            assert time.monotonic() < deadline, f"the upload was not archived: {state}"
            time.sleep(0.05)
        clip = restarted.get(f"/api/v1/clips/{state['clip_id']}", headers=auth(keys["admin"])).json()
    assert clip["sha256"] == hashlib.sha256(data).hexdigest()
    assert [a["source"] for a in clip["acquisitions"]] == ["witness C"]
    assert stored_bytes(archive) == 0
