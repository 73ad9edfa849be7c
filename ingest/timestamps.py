"""Trusted timestamps (RFC 3161) from the configured authorities (VERITY_TIMESTAMP_URLS, tried in
order; answers verified against VERITY_TIMESTAMP_CA_FILE before they are kept).

`stamp_digest` stamps any SHA-256 digest and keeps the token (the export stamps its manifest with
it); `stamp_clip` stamps a clip's original, the job queued with its ingest; `retry_stamps` is the
periodic task that takes up stamps still pending once their back-off has passed. An authority
that cannot be reached leaves a stamp pending (tried again, waiting twice as long each time up to
VERITY_TIMESTAMP_RETRY_MAX_S); when every authority answered and none with a token that verifies,
the stamp has failed, with each one's reason."""

from __future__ import annotations

import functools
import logging
import ssl
from dataclasses import dataclass
from datetime import timedelta

import httpx

from ingest.near_duplicates import NearDuplicateFinder
from storage.archive import Archive
from storage.custody import append_event
from storage.models import ClipTimestamp, TimestampToken, utcnow
from storage.timestamps import (
    claim_stamp,
    due_stamps,
    record_failed,
    record_stamped,
    record_unavailable,
    save_token,
)
from storage.vocabulary import StampState
from verity.errors import TimestampRefused, TimestampsNotConfigured, TimestampUnavailable
from verity.settings import Settings
from verity.timestamp_tokens import QUERY_CONTENT_TYPE, CheckedToken, check_token, load_roots, timestamp_request

log = logging.getLogger("verity.timestamps")
ACTOR = "timestamps"


@functools.cache
def _tls() -> ssl.SSLContext:
    """The TLS context the requests to the authorities share: building one reads the CA bundle
    (~20 ms of CPU), which each request did anew."""
    return httpx.create_ssl_context()


@dataclass(frozen=True)
class Answer:
    tsa_url: str
    token: bytes  # the TimeStampResp, DER, as the authority sent it
    checked: CheckedToken


def request_token(settings: Settings, digest: bytes) -> Answer:
    """Ask each authority in turn for a token over `digest`; the first that verifies is the answer.
    `TimestampUnavailable` when some could not be reached (worth trying again), `TimestampRefused`
    when every one answered and none with a token that verifies; either names each one's problem."""
    urls = settings.resolved_timestamp_urls()
    if not urls or settings.timestamp_ca_file is None:
        raise TimestampsNotConfigured("no time-stamping authority is configured (VERITY_TIMESTAMP_URLS)")
    roots = load_roots(settings.timestamp_ca_file.read_bytes())
    problems: list[str] = []
    unreachable = False
    for url in urls:
        query = timestamp_request(digest)
        try:
            response = httpx.post(
                url,
                content=query.der,
                headers={"Content-Type": QUERY_CONTENT_TYPE},
                timeout=settings.timestamp_timeout_s,
                verify=_tls(),
            )
        except httpx.HTTPError as exc:
            unreachable = True
            problems.append(f"{url}: not reachable ({exc.__class__.__name__}: {exc})")
            continue
        if response.status_code in (408, 429) or response.status_code >= 500:
            unreachable = True
            problems.append(f"{url}: answered HTTP {response.status_code}")
            continue
        if response.status_code != 200:
            problems.append(f"{url}: answered HTTP {response.status_code}")
            continue
        try:
            checked = check_token(response.content, digest, roots, nonce=query.nonce)
        except TimestampRefused as exc:
            problems.append(f"{url}: {exc.detail}")
            continue
        return Answer(url, response.content, checked)
    if unreachable:
        raise TimestampUnavailable("; ".join(problems))
    raise TimestampRefused("; ".join(problems))


def stamp_digest(archive: Archive, digest_hex: str, purpose: str) -> TimestampToken:
    """Timestamp a SHA-256 digest (lowercase hex: the hashed message itself) and keep the token,
    saying what it is for (`purpose`: original, anchor, export …). Raises TimestampsNotConfigured,
    TimestampUnavailable or TimestampRefused; nothing is kept then."""
    answer = request_token(archive.settings, bytes.fromhex(digest_hex))
    with archive.sessions.begin() as session:
        return save_token(session, digest_hex, purpose, answer.tsa_url, answer.token, answer.checked)


def retry_delay(settings: Settings, attempts: int) -> timedelta:
    """How long a stamp waits after its `attempts`-th try found no authority reachable."""
    seconds = settings.timestamp_retry_initial_s * 2 ** min(attempts - 1, 30)
    return timedelta(seconds=min(seconds, settings.timestamp_retry_max_s))


def stamp_clip(archive: Archive, clip_id: str, *, force: bool = False) -> StampState:
    """One attempt at the stamp of a clip's original, unless it is stamped, or (unless `force`)
    failed, not yet due, or being tried elsewhere; returns where it stands after."""
    settings = archive.settings
    if not settings.timestamps_configured:
        return StampState.not_configured
    now = utcnow()
    lease = now + timedelta(seconds=settings.timestamp_timeout_s * len(settings.resolved_timestamp_urls()) + 30)
    with archive.sessions.begin() as session:
        digest_hex = claim_stamp(session, clip_id, now, lease, force=force)
        if digest_hex is None:
            row = session.get(ClipTimestamp, clip_id)
            return StampState(row.state) if row is not None else StampState.pending
    try:
        answer = request_token(settings, bytes.fromhex(digest_hex))
    except TimestampUnavailable as exc:
        with archive.sessions.begin() as session:
            attempts = record_unavailable(session, clip_id, exc.detail, lambda n: utcnow() + retry_delay(settings, n))
        log.warning("clip %s: no authority reachable (try %d), stays pending: %s", clip_id, attempts, exc.detail)
        return StampState.pending
    except TimestampRefused as exc:
        with archive.sessions.begin() as session:
            record_failed(session, clip_id, exc.detail)
        log.error("clip %s: timestamp failed: %s", clip_id, exc.detail)
        return StampState.failed
    with archive.sessions.begin() as session:
        token = save_token(session, digest_hex, "original", answer.tsa_url, answer.token, answer.checked)
        record_stamped(session, clip_id, token)
        details = {
            "sha256": digest_hex,
            "tsa": answer.tsa_url,
            "time": answer.checked.gen_time.isoformat(),
            "token_id": token.id,
            "serial_number": token.serial_number,
        }
        append_event(session, clip_id, "timestamped", ACTOR, details)
    return StampState.stamped


def timestamp_job(archive: Archive, _finder: NearDuplicateFinder, clip_id: str) -> StampState:
    """The job queued with a clip's ingest (ingest/runner.py JOBS)."""
    return stamp_clip(archive, clip_id)


# Stamps tried in one run of the retry task, which stays short so the schedule moves on.
RETRY_BATCH = 200


def retry_stamps(archive: Archive, *, force: bool = False) -> dict[str, int]:
    """Try the stamps that are due, up to RETRY_BATCH (with `force`: every one not stamped,
    back-off or not); how many ended in each state. When one finds no authority reachable, the
    rest wait for the next run rather than each asking the same unreachable authorities."""
    if not archive.settings.timestamps_configured:
        return {}
    with archive.reads() as session:
        clip_ids = due_stamps(session, utcnow(), force=force, limit=RETRY_BATCH)
    outcome: dict[str, int] = {}
    for clip_id in clip_ids:
        state = stamp_clip(archive, clip_id, force=force)
        outcome[state.value] = outcome.get(state.value, 0) + 1
        if state == StampState.pending:
            break
    return outcome
