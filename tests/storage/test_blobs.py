"""One contract for every BlobStore backend (local folder and a real S3 server)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from storage.blobs import BlobStore
from tests.conftest import all_blob_keys
from verity.errors import BlobNotFound, InvalidInput


def chunks_of(data: bytes, size: int = 7919) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def read_all(store: BlobStore, key: str, start: int | None = None, end: int | None = None) -> bytes:
    return b"".join(store.open(key, start, end))


def test_put_stream_stores_exact_bytes_and_size(blob_store: BlobStore) -> None:
    data = os.urandom(300_000)
    stored = blob_store.put_stream("a/b/object", chunks_of(data))
    assert stored.size == len(data)
    assert read_all(blob_store, "a/b/object") == data
    assert blob_store.stat("a/b/object").size == len(data)
    assert blob_store.exists("a/b/object")


def test_large_stream_is_written_in_parts(blob_store: BlobStore) -> None:
    data = os.urandom(40 * 1024 * 1024 + 123)  # more than two S3 parts
    blob_store.put_stream("big", chunks_of(data, 1024 * 1024))
    assert read_all(blob_store, "big") == data


def test_open_reads_an_inclusive_byte_range(blob_store: BlobStore) -> None:
    data = bytes(range(256)) * 100
    blob_store.put_stream("ranged", [data])
    assert read_all(blob_store, "ranged", 10, 19) == data[10:20]
    assert read_all(blob_store, "ranged", 25_000) == data[25_000:]


def test_failed_stream_leaves_nothing_under_the_key(blob_store: BlobStore) -> None:
    def broken() -> Iterator[bytes]:
        yield os.urandom(20 * 1024 * 1024)
        raise RuntimeError("connection dropped")

    with pytest.raises(RuntimeError):
        blob_store.put_stream("half", broken())
    assert not blob_store.exists("half")
    assert all_blob_keys(blob_store) == []


def test_move_places_source_under_target_and_removes_source(blob_store: BlobStore) -> None:
    blob_store.put_stream("incoming/x", [b"evidence"])
    assert blob_store.move("incoming/x", "originals/x") is True
    assert read_all(blob_store, "originals/x") == b"evidence"
    assert not blob_store.exists("incoming/x")


def test_move_never_overwrites_an_existing_object(blob_store: BlobStore) -> None:
    blob_store.put_stream("originals/y", [b"first"])
    blob_store.put_stream("incoming/y", [b"second"])
    assert blob_store.move("incoming/y", "originals/y") is False
    assert read_all(blob_store, "originals/y") == b"first"
    assert not blob_store.exists("incoming/y")


def test_missing_object_raises_blob_not_found(blob_store: BlobStore) -> None:
    with pytest.raises(BlobNotFound):
        blob_store.open("nope")
    with pytest.raises(BlobNotFound):
        blob_store.stat("nope")
    assert not blob_store.exists("nope")


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "a//b", "."])
def test_keys_that_escape_or_are_empty_are_refused(blob_store: BlobStore, key: str) -> None:
    with pytest.raises(InvalidInput):
        blob_store.put_stream(key, [b"x"])


def test_join_concatenates_on_the_store_side_or_declines(blob_store: BlobStore) -> None:
    parts = [os.urandom(5 * 1024 * 1024), os.urandom(5 * 1024 * 1024 + 1), os.urandom(10)]
    for number, part in enumerate(parts):
        blob_store.put_stream(f"part/{number}", [part])
    joined = blob_store.join([f"part/{number}" for number in range(3)], "joined")
    if blob_store.spool_path("joined") is not None:  # a folder: copying is reading and writing, left to the caller
        assert joined is None
        assert not blob_store.exists("joined")
        return
    assert joined is not None and joined.size == sum(map(len, parts))
    assert read_all(blob_store, "joined") == b"".join(parts)
    # S3 joins only parts of 5 MiB and more (but the last): anything else is declined, nothing written.
    assert blob_store.join(["part/2", "part/0"], "too-small") is None
    assert not blob_store.exists("too-small")


def test_keys_lists_what_lies_under_a_prefix(blob_store: BlobStore) -> None:
    for key in ("uploads/a.spool", "uploads/b.0.x", "uploadsx/c", "originals/d"):
        blob_store.put_stream(key, [b"1"])
    assert sorted(blob_store.keys("uploads/")) == ["uploads/a.spool", "uploads/b.0.x"]
    assert list(blob_store.keys("nothing/")) == []


def test_stat_tells_when_an_object_was_written(blob_store: BlobStore) -> None:
    blob_store.put_stream("dated", [b"1"])
    modified = blob_store.stat("dated").modified
    assert modified is not None and abs((datetime.now(UTC) - modified).total_seconds()) < 60
