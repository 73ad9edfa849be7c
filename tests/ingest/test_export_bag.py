"""The bag writer on its own: a bag streamed into a store is a zip holding one folder, and one that
fails or is given up leaves nothing; a half-written bag of a dead process is swept; and the chain
lines it holds are what verify.py recomputes."""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest

from ingest import export_verify
from ingest.bag import BAGIT_TXT, BagWriter
from ingest.export import sweep_unfinished_bags
from ingest.export_records import CUSTODY_NAMES, chain_lines
from ingest.upload import Receipt, receive_original
from storage.archive import open_archive
from storage.blobs import LocalBlobStore
from storage.custody import append_event, list_events
from tests.conftest import all_blob_keys
from verity.settings import Settings


def test_a_bag_streams_into_the_store_as_a_zip_of_one_folder(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    writer = BagWriter(store, "exports/x.zip", "verity-export-x")
    writer.add_bytes("bagit.txt", BAGIT_TXT)
    data = os.urandom(3 * 1024 * 1024 + 5)
    chunks = [data[i : i + 1024 * 1024] for i in range(0, len(data), 1024 * 1024)]
    written = writer.add("data/originals/a.bin", chunks, size=len(data))
    bag = writer.finish({"Contact-Name": "tester"})
    stored = b"".join(store.open("exports/x.zip"))
    assert bag.size == len(stored) and written.size == len(data)
    with zipfile.ZipFile(io.BytesIO(stored)) as bag_zip:
        assert bag_zip.testzip() is None
        assert bag_zip.read("verity-export-x/data/originals/a.bin") == data
        info = bag_zip.read("verity-export-x/bag-info.txt").decode()
        manifest = bag_zip.read("verity-export-x/manifest-sha256.txt").decode()
    assert f"Payload-Oxum: {len(data)}.1" in info and "Contact-Name: tester" in info
    assert manifest == f"{written.sha256}  data/originals/a.bin\n"


def test_a_bag_given_up_midway_leaves_nothing(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    writer = BagWriter(store, "exports/x.zip", "verity-export-x")

    def failing() -> list[bytes]:
        raise OSError("the original could not be read")

    writer.add_bytes("bagit.txt", BAGIT_TXT)
    with pytest.raises(OSError):
        writer.add("data/originals/a.bin", iter(failing()), size=10)
    writer.abort(OSError("given up"))
    assert all_blob_keys(store) == []


def test_a_half_written_bag_of_a_dead_process_is_swept_after_a_day(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    left = tmp_path / "blobs" / "exports" / ".x.zip.abc.part"
    left.parent.mkdir(parents=True)
    left.write_bytes(b"PK")
    store.put_stream("exports/done.zip", [b"PK"])
    assert sweep_unfinished_bags(store) == 0
    day_ago = time.time() - timedelta(days=1, minutes=1).total_seconds()
    os.utime(left, (day_ago, day_ago))
    assert sweep_unfinished_bags(store) == 1
    assert all_blob_keys(store) == ["exports/done.zip"]


def test_verify_py_recomputes_the_chain_lines_an_export_writes(tmp_path: Path) -> None:
    """ingest/export_verify.py's own chain check (stdlib only) agrees with storage/chain.py on the
    lines ingest/export_records.py writes, and finds a changed one."""
    archive = open_archive(Settings(data_dir=tmp_path), upgrade=True)
    clip_id = receive_original(archive, iter([b"footage"]), Receipt("tester", "clip.mp4")).clip.id
    with archive.sessions.begin() as session:
        append_event(session, clip_id, "noted", "tester", {"note": 'ünïcode, "quotes"\nand a line', "n": 1.5})
    with archive.reads() as session:
        lines = [json.loads(line) for line in chain_lines(list_events(session, clip_id), CUSTODY_NAMES)]
    archive.close()
    assert export_verify.chain_problem(lines, {"clip_id": clip_id}) is None
    lines[1]["details"] = lines[1]["details"].replace("1.5", "2.5")
    altered = export_verify.chain_problem(lines, {"clip_id": clip_id})
    assert altered == "line 2 (seq 1) was altered after it was recorded"
    assert "belongs to clip_id" in (export_verify.chain_problem(lines, {"clip_id": "another"}) or "")
