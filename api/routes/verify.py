"""Provenance: `POST /api/v1/verify` (a file, not kept) and `GET /api/v1/verify?sha256=`, plus
`GET /api/v1/clips/{id}/related`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session

from api import examples as ex
from api.auth import Caller
from api.copies import describe_matches, first_seen_of, related_answer
from api.deps import ArchiveDep, BodyThreadsDep, FinderDep, SessionDep
from api.errors import COMMON_ERRORS, error_responses
from api.multipart import FORM_OVERHEAD_BYTES, form_doc, read_upload_form
from api.params import Viewer
from api.schemas import ExactMatchOut, RelatedOut, RestrictedMatchOut, VerifyOut
from api.sources import acquisitions_answer, clip_answer, hidden_of
from api.threads import run_on
from ingest.verify import (
    AnalysisSlots,
    QueryFile,
    Sees,
    Verification,
    discard_query,
    spool_query,
    verify_file,
    verify_sha256,
)
from storage.access import Scope, on_clip, visible_clip_ids
from storage.archive import Archive
from storage.clips import load_clip
from storage.vouched import check_custody
from verity.errors import InvalidInput, UploadTooLarge

router = APIRouter(tags=["provenance"], responses=COMMON_ERRORS)
SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")

VERIFY_FORM_DOC = form_doc("The file to check; it is not kept.", {"file": ex.UPLOAD_FORM["file"]})


def verification_answer(session: Session, result: Verification, *, scope: Scope, reveals_restricted: bool) -> VerifyOut:
    """The answer to a provenance query, holding back every clip `scope` may not see: such a match
    is answered as footage the archive does not hold, or, with `reveals_restricted`, said to be
    held under restricted access with nothing of it (`RestrictedMatchOut`)."""
    matched = [result.exact_clip_id] if result.exact_clip_id else []
    visible = visible_clip_ids(session, scope, [*matched, *(m.clip_id for m in result.near_duplicates)])
    exact_hidden = bool(matched) and matched[0] not in visible
    near = [m for m in result.near_duplicates if m.clip_id in visible]
    # A hidden exact clip comes back among the matches of the file (ingest/verify.py): it is the exact one.
    near_hidden = any(m.clip_id not in visible and m.clip_id not in matched for m in result.near_duplicates)
    exact, exact_duration_s = None, None
    if result.exact_clip_id and not exact_hidden:
        clip = load_clip(session, result.exact_clip_id)
        exact_duration_s = clip.duration_s
        hidden = hidden_of(clip, scope)
        acquisitions = acquisitions_answer(clip, hidden)
        exact = ExactMatchOut(
            clip=clip_answer(clip, hidden),
            first_acquisition=acquisitions[0],
            acquisitions=acquisitions,
            custody_verified=check_custody(session, clip)[1].verified,
        )
    matched_ids = [*([result.exact_clip_id] if exact and result.exact_clip_id else []), *(m.clip_id for m in near)]
    return VerifyOut(
        sha256=result.sha256,
        exact_match=exact,
        near_duplicates=describe_matches(session, near, scope, exact_duration_s),
        first_seen_clip_id=first_seen_of(session, matched_ids, scope),
        not_analysed=result.not_analysed,
        restricted=RestrictedMatchOut(exact=exact_hidden, near_duplicates=near_hidden)
        if reveals_restricted and (exact_hidden or near_hidden)
        else None,
    )


def _sees(archive: Archive, scope: Scope) -> Sees:
    """Whether `scope` may see a clip, asked in a short read of its own (from a worker thread)."""

    def sees(clip_id: str) -> bool:
        if scope.archive_wide:
            return True
        with archive.reads() as session:
            return clip_id in visible_clip_ids(session, scope, [clip_id])

    return sees


@router.get("/api/v1/verify", response_model=VerifyOut)
def verify_by_hash(
    session: SessionDep,
    archive: ArchiveDep,
    caller: Viewer,
    sha256: Annotated[str, Query(description="SHA-256 of the file, hex.", examples=["9f86d0" + "0" * 58])],
) -> VerifyOut:
    if not SHA256.match(sha256):
        raise InvalidInput("sha256 must be 64 hexadecimal characters")
    result = verify_sha256(archive, sha256, caller.actor, _sees(archive, caller.scope))
    return verification_answer(
        session, result, scope=caller.scope, reveals_restricted=archive.settings.verify_reveals_restricted
    )


@router.post(
    "/api/v1/verify", response_model=VerifyOut, openapi_extra=VERIFY_FORM_DOC, responses=error_responses(413, 429)
)
async def verify_by_file(
    request: Request, archive: ArchiveDep, finder: FinderDep, threads: BodyThreadsDep, caller: Viewer
) -> VerifyOut:
    """The file is hashed and fingerprinted, then deleted; only an audit entry of the query stays. A key
    may have `verify_analyses_per_key` of these running at once (429 beyond)."""
    slots: AnalysisSlots = request.app.state.verify_slots
    with slots.hold(caller.actor):
        return await _verify_by_file(request, archive, finder, threads, caller)


async def _verify_by_file(
    request: Request, archive: ArchiveDep, finder: FinderDep, threads: BodyThreadsDep, caller: Caller
) -> VerifyOut:
    settings = archive.settings
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.max_upload_bytes + FORM_OVERHEAD_BYTES:
        raise UploadTooLarge(f"the file is larger than the limit of {settings.max_upload_bytes} bytes")

    def consume(chunks: Iterator[bytes]) -> QueryFile:
        return spool_query(chunks, settings.resolved_work_dir(), filename="query", max_bytes=settings.max_upload_bytes)

    form = await read_upload_form(
        request, "file", consume, threads=threads, max_field_bytes=settings.max_form_field_bytes
    )
    query = form.file_result
    try:
        query = replace(query, filename=form.filename)
        sees = _sees(archive, caller.scope)
        result = await run_on(threads, verify_file, archive, finder, query, caller.actor, sees)
    finally:
        discard_query(query)
    with archive.reads() as session:
        return verification_answer(
            session, result, scope=caller.scope, reveals_restricted=settings.verify_reveals_restricted
        )


@router.get("/api/v1/clips/{clip_id}/related", response_model=RelatedOut)
def related(clip_id: str, session: SessionDep, caller: Viewer) -> RelatedOut:
    """Archived copies of this clip's footage, found when either was ingested: those the caller may
    see, each with an analyst's decision on the pair. Pairs rejected are no copies: they are listed
    apart (`rejected`) and count for nothing else."""
    on_clip(session, caller.scope, clip_id)
    return related_answer(session, load_clip(session, clip_id), caller.scope)
