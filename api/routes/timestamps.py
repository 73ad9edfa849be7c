"""Trusted timestamps: a clip's token, the anchors of chain heads and theirs, and anchoring now (admin)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from api.deps import MAX_INT, ArchiveDep, SessionDep
from api.errors import COMMON_ERRORS, error_responses
from api.params import Admin, Limit, Offset, Viewer
from api.schemas import AnchorOut, AnchorPage
from ingest.anchors import anchor_chains
from storage.access import archive_wide, on_clip
from storage.anchors import list_anchors, load_anchor, load_reachable_anchor
from storage.keys import Role
from storage.models import TimestampToken
from storage.timestamps import clip_token
from verity.errors import TimestampsNotConfigured
from verity.timestamp_tokens import REPLY_CONTENT_TYPE

router = APIRouter(prefix="/api/v1", tags=["timestamps"], responses=COMMON_ERRORS)
AnchorId = Annotated[int, Path(ge=1, le=MAX_INT)]

TOKEN_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {REPLY_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        "description": "The authority's answer (TimeStampResp, DER) as it came: `openssl ts -verify -digest <hex> "
        "-in it -CAfile root.pem -untrusted tsa.pem`. The certificates: `…/certificates`.",
    }
}
CERTIFICATES_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "application/pem-certificate-chain": {
                "schema": {"type": "string"},
                "example": "-----BEGIN CERTIFICATE-----\nMIIC…\n-----END CERTIFICATE-----\n",
            }
        },
        "description": "The certificates embedded in the token (the authority's first), then the roots they chain "
        "up to in VERITY_TIMESTAMP_CA_FILE, PEM.",
    }
}


def _token(token: TimestampToken, name: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}.tsr"', "X-Timestamp-Digest": token.digest}
    return Response(token.token, media_type=REPLY_CONTENT_TYPE, headers=headers)


def _certificates(token: TimestampToken) -> Response:
    return Response(token.tsa_certs_pem + token.root_pem, media_type="application/pem-certificate-chain")


@router.get("/clips/{clip_id}/timestamp", response_class=Response, responses=TOKEN_RESPONSE)
def clip_timestamp_token(clip_id: str, session: SessionDep, caller: Viewer) -> Response:
    """The token over the original's SHA-256 (404 until stamped)."""
    on_clip(session, caller.scope, clip_id)
    return _token(clip_token(session, clip_id), f"clip-{clip_id}")


@router.get("/clips/{clip_id}/timestamp/certificates", response_class=Response, responses=CERTIFICATES_RESPONSE)
def clip_timestamp_certificates(clip_id: str, session: SessionDep, caller: Viewer) -> Response:
    on_clip(session, caller.scope, clip_id)
    return _certificates(clip_token(session, clip_id))


@router.get("/anchors", response_model=AnchorPage)
def anchors(session: SessionDep, caller: Viewer, limit: Limit = 50, offset: Offset = 0) -> AnchorPage:
    """Every anchor, newest first (an archive-wide viewer: each root spans every chain that moved)."""
    archive_wide(caller.scope, Role.viewer, "the list of anchors")
    total, rows = list_anchors(session, limit, offset)
    return AnchorPage(items=[AnchorOut.of(row) for row in rows], total=total, limit=limit, offset=offset)


@router.post(
    "/anchors",
    status_code=201,
    response_model=AnchorOut,
    responses={204: {"description": "No chain moved since its last anchor."}, **error_responses(409)},
)
async def anchor_now(archive: ArchiveDep, caller: Admin) -> AnchorOut | Response:
    """Anchor now the heads of the chains that moved (an archive-wide admin); otherwise done on the schedule."""
    archive_wide(caller.scope, Role.admin, "anchoring")
    if not archive.settings.timestamps_configured:
        raise TimestampsNotConfigured("no time-stamping authority is configured (VERITY_TIMESTAMP_URLS)")
    made = await asyncio.to_thread(anchor_chains, archive)
    if made is None:
        return Response(status_code=204)
    with archive.reads() as session:
        return AnchorOut.of(load_anchor(session, made.anchor_id))


@router.get("/anchors/{anchor_id}", response_model=AnchorOut)
def anchor(anchor_id: AnchorId, session: SessionDep, caller: Viewer) -> AnchorOut:
    """One anchor (an archive-wide viewer: how many chains it covers is the archive's activity; a
    case member finds the root and time of its own chains' anchors in their `anchored`)."""
    archive_wide(caller.scope, Role.viewer, "an anchor")
    return AnchorOut.of(load_anchor(session, anchor_id))


@router.get("/anchors/{anchor_id}/token", response_class=Response, responses=TOKEN_RESPONSE)
def anchor_token(anchor_id: AnchorId, session: SessionDep, caller: Viewer) -> Response:
    """The token over the anchor's Merkle root: for an archive-wide viewer, or a case member whose
    clip, incident or case the anchor covers (to check the proof in that record's `anchored`)."""
    return _token(load_reachable_anchor(session, caller.scope, anchor_id).token, f"anchor-{anchor_id}")


@router.get("/anchors/{anchor_id}/certificates", response_class=Response, responses=CERTIFICATES_RESPONSE)
def anchor_certificates(anchor_id: AnchorId, session: SessionDep, caller: Viewer) -> Response:
    """The token's certificates, for whoever may have the token."""
    return _certificates(load_reachable_anchor(session, caller.scope, anchor_id).token)
