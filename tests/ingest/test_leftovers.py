"""What processes killed with -9 leave in the object store, and the sweep removes: originals no
clip refers to (placed, never recorded) once their grace period has passed, and unfinished S3
multipart uploads."""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta

from ingest.upload import Receipt, original_hold, original_key, receive_original, sweep_originals, sweep_staging
from storage.archive import Archive
from storage.blobs import BlobStore, S3BlobStore
from storage.holds import hold
from tests.helpers.backends import s3_only


def place_unrecorded_original(archive: Archive) -> str:
    """An original as a process killed between placing and recording it leaves it."""
    data = os.urandom(3000)
    key = original_key(hashlib.sha256(data).hexdigest())
    archive.blobs.put_stream(key, [data])
    return key


def test_an_original_no_clip_refers_to_is_removed_once_its_grace_period_has_passed(archive: Archive) -> None:
    orphan = place_unrecorded_original(archive)
    kept = receive_original(archive, [os.urandom(2000)], Receipt("tester", "clip.mp4")).clip.blob_key
    assert sweep_originals(archive, timedelta(hours=1)) == 0  # too recent: it may yet be recorded
    assert archive.blobs.exists(orphan)
    assert sweep_originals(archive, timedelta(0)) == 1
    assert not archive.blobs.exists(orphan)
    assert archive.blobs.exists(kept)  # a clip refers to it


def test_an_original_an_upload_of_the_same_bytes_is_recording_is_kept(archive: Archive) -> None:
    orphan = place_unrecorded_original(archive)
    with hold(archive, original_hold(orphan.rsplit("/", 1)[-1])) as held:  # that upload's hold
        assert held
        assert sweep_originals(archive, timedelta(0)) == 0
    assert archive.blobs.exists(orphan)


@s3_only
def test_an_unfinished_multipart_upload_is_aborted_by_the_staging_sweep(blob_store: BlobStore) -> None:
    assert isinstance(blob_store, S3BlobStore)
    client, bucket = blob_store.client, blob_store.bucket
    # As a process killed in the middle of put_stream leaves it: a part uploaded, never completed.
    upload_id = client._create_multipart_upload(bucket, "incoming/half-written", {})
    client._upload_part(bucket, "incoming/half-written", os.urandom(1024), None, upload_id, 1)
    assert [u.upload_id for u in client._list_multipart_uploads(bucket).uploads] == [upload_id]
    assert sweep_staging(blob_store, older_than=timedelta(hours=1)) == 0
    assert len(client._list_multipart_uploads(bucket).uploads) == 1  # recent: it may still be being written
    sweep_staging(blob_store, older_than=timedelta(0))
    assert client._list_multipart_uploads(bucket).uploads == []
