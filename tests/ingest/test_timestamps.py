"""Stamping against the loopback TSA, below the API: stamp_digest for any digest, authorities
tried in order, answers that do not verify failing with the reason, back-off while unreachable."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from ingest.timestamps import retry_delay, retry_stamps, stamp_clip, stamp_digest
from ingest.upload import Receipt, receive_original
from storage.archive import Archive
from storage.models import Clip, ClipTimestamp, TimestampToken, utcnow
from storage.timestamps import claim_stamp
from tests.conftest import free_port
from tests.helpers.backends import scaled_only
from tests.helpers.tsa import LoopbackTsa, openssl_verify, stamping
from verity.errors import TimestampRefused, TimestampsNotConfigured, TimestampUnavailable
from verity.timestamp_tokens import verify_stored_token

DOWN = f"http://127.0.0.1:{free_port()}/tsr"  # nothing listens there


def received(archive: Archive, data: bytes) -> str:
    return receive_original(archive, iter([data]), Receipt("tester", "clip.mp4")).clip.id


def stamp_row(archive: Archive, clip_id: str) -> ClipTimestamp:
    with archive.sessions() as session:
        row = session.get(ClipTimestamp, clip_id)
        assert row is not None
        return row


def test_stamp_digest_keeps_a_token_whose_hashed_message_is_the_digest(
    archive: Archive, tsa: LoopbackTsa, tmp_path: Path
) -> None:
    stamping(archive, tsa)
    digest = hashlib.sha256(b"an export manifest").hexdigest()
    token = stamp_digest(archive, digest, "export")
    with archive.sessions() as session:
        kept = session.scalars(select(TimestampToken)).one()
    assert (kept.id, kept.digest, kept.purpose, kept.tsa_url) == (token.id, digest, "export", tsa.url)
    assert kept.root_pem == tsa.certificates.ca_pem.read_text()
    assert verify_stored_token(kept.token, digest, kept.root_pem.encode()).gen_time == kept.gen_time
    assert openssl_verify(kept.token, digest, tsa, tmp_path).returncode == 0
    assert tsa.requests == 1


def test_stamp_digest_without_an_authority_is_refused(archive: Archive) -> None:
    with pytest.raises(TimestampsNotConfigured):
        stamp_digest(archive, "ab" * 32, "export")


def test_the_second_authority_stamps_when_the_first_is_down(archive: Archive, tsa: LoopbackTsa) -> None:
    stamping(archive, tsa, DOWN, tsa.url)
    clip_id = received(archive, b"first TSA down " * 64)
    assert stamp_clip(archive, clip_id) == "stamped"
    row = stamp_row(archive, clip_id)
    assert row.token is not None and row.token.tsa_url == tsa.url
    assert tsa.requests == 1


def test_an_authority_answering_garbage_fails_the_stamp_with_its_reason(archive: Archive, tsa: LoopbackTsa) -> None:
    stamping(archive, tsa)
    tsa.mode = "garbage"
    clip_id = received(archive, b"garbage answers " * 64)
    assert stamp_clip(archive, clip_id) == "failed"
    row = stamp_row(archive, clip_id)
    assert row.state == "failed" and row.token_id is None
    assert row.reason is not None and row.reason.startswith(f"{tsa.url}: the answer is not a time-stamp response")
    tsa.mode = "ok"
    assert retry_stamps(archive) == {}  # a failed stamp is not tried again by itself …
    assert retry_stamps(archive, force=True) == {"stamped": 1}  # … only when asked to
    assert stamp_row(archive, clip_id).state == "stamped"


def test_a_token_from_an_authority_the_roots_do_not_trust_fails(
    archive: Archive, tsa: LoopbackTsa, tmp_path: Path
) -> None:
    other = tmp_path / "other-root.pem"
    other.write_text(Path(tsa.certificates.tsa_pem).read_text())  # any certificate but the root
    stamping(archive, tsa, timestamp_ca_file=other)
    with pytest.raises(TimestampRefused, match="does not verify"):
        stamp_digest(archive, "cd" * 32, "export")


def test_an_unreachable_authority_backs_off_doubling_up_to_the_cap(archive: Archive) -> None:
    stamping_settings = {"timestamp_retry_initial_s": 30.0, "timestamp_retry_max_s": 100.0}
    archive.settings = archive.settings.model_copy(update=stamping_settings)
    assert [retry_delay(archive.settings, n) for n in (1, 2, 3, 4)] == [
        timedelta(seconds=30),
        timedelta(seconds=60),
        timedelta(seconds=100),
        timedelta(seconds=100),
    ]


def test_a_pending_stamp_is_not_tried_again_before_its_back_off(archive: Archive, tsa: LoopbackTsa) -> None:
    stamping(archive, tsa, DOWN, timestamp_retry_initial_s=3600)
    clip_id = received(archive, b"pending for an hour " * 64)
    with pytest.raises(TimestampUnavailable):
        stamp_digest(archive, "ef" * 32, "export")
    assert stamp_clip(archive, clip_id) == "pending"
    row = stamp_row(archive, clip_id)
    assert row.attempts == 1 and row.next_attempt_at is not None
    assert row.next_attempt_at - utcnow() > timedelta(minutes=59)
    stamping(archive, tsa)  # the authority is back, but the stamp waits for its time
    assert retry_stamps(archive) == {}
    assert tsa.requests == 0


def test_clips_stored_before_an_authority_was_configured_are_stamped_by_the_retry(
    archive: Archive, tsa: LoopbackTsa
) -> None:
    clip_id = received(archive, b"archived before any TSA " * 64)
    with archive.sessions() as session:
        assert session.get(ClipTimestamp, clip_id) is None
    stamping(archive, tsa)
    assert retry_stamps(archive) == {"stamped": 1}
    assert stamp_row(archive, clip_id).state == "stamped"


def test_a_retry_that_finds_no_authority_leaves_the_rest_for_its_next_run(archive: Archive, tsa: LoopbackTsa) -> None:
    stamping(archive, tsa, DOWN)
    first, second = received(archive, b"first " * 64), received(archive, b"second " * 64)
    assert retry_stamps(archive, force=True) == {"pending": 1}
    assert {stamp_row(archive, first).attempts, stamp_row(archive, second).attempts} == {0, 1}
    stamping(archive, tsa)
    assert retry_stamps(archive, force=True) == {"stamped": 2}


@scaled_only
def test_a_claim_that_waited_on_another_sees_the_stamp_that_one_took(archive: Archive, tsa: LoopbackTsa) -> None:
    # PostgreSQL lets a claim read the row before it locks it (SQLite's writer lock does not):
    # loading the clip loads its stamp row, and the locked read must not keep that stale copy.
    stamping(archive, tsa)
    clip_id = receive_original(archive, iter([b"footage " * 100]), Receipt("field-team", "clip.mp4")).clip.id
    now = utcnow()
    lease = now + timedelta(minutes=1)
    with archive.sessions.begin() as late:
        clip = late.get(Clip, clip_id)
        assert clip is not None and clip.timestamp is not None and clip.timestamp.state == "pending"
        with archive.sessions.begin() as first:
            assert claim_stamp(first, clip_id, now, lease) is not None
        assert claim_stamp(late, clip_id, now, lease) is None, "the other claim holds it until its lease ends"
