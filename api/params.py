"""The parameters and dependencies routes share, named once: who may call (`Viewer` … `Admin`),
the version an `If-Match` names, paging, a bounding box, times taken to UTC, and the clip search's
filters (the API's and the workbench's archive page alike)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Depends, Header, Query

from api.auth import Caller, permit, require
from api.deps import MAX_INT
from api.errors import error_responses
from storage.keys import Permission, Role
from storage.search import BoundingBox, ClipFilters
from storage.vocabulary import ClipStatus, ContentCredentialsState, FixityStatus, VerificationStatus
from verity.errors import InvalidInput, PreconditionRequired
from verity.times import to_utc

Viewer = Annotated[Caller, Depends(require(Role.viewer))]
Contributor = Annotated[Caller, Depends(require(Role.contributor))]
Analyst = Annotated[Caller, Depends(require(Role.analyst))]
Admin = Annotated[Caller, Depends(require(Role.admin))]
Exporter = Annotated[Caller, Depends(permit(Permission.export))]

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=MAX_INT)]


def _named_versions(
    if_match: Annotated[
        str | None,
        Header(
            description='The ETag you read (`"3"`; `3` and `W/"3"` are taken as the same); required to change or '
            "delete. `*` is refused."
        ),
    ] = None,
) -> tuple[int, ...] | None:
    """The versions an If-Match header names (None when it is absent). `*` ("whatever is there")
    is refused: on an evidence record nobody may overwrite what they have not seen. A tag that is
    no version number names none, so it can only be stale."""
    if if_match is None or not if_match.strip():
        return None
    tags = [tag.strip().removeprefix("W/").strip('"') for tag in if_match.split(",")]
    if "*" in tags:
        raise PreconditionRequired(
            "If-Match: * is refused: send the ETag you read, so no one overwrites an evidence record they have not seen"
        )
    return tuple(int(tag) for tag in tags if tag.isdigit() and len(tag) < 10)


IfMatchVersion = Annotated[tuple[int, ...] | None, Depends(_named_versions)]
# What a change or deletion guarded by If-Match can answer besides the common errors.
GUARDED_ERRORS = error_responses(409, 412, 428)


def etag(version: int) -> str:
    """The ETag of a record's version, as `IfMatchVersion` reads it back."""
    return f'"{version}"'


def _bounding_box(
    bbox: Annotated[
        str | None, Query(description="min_lat,min_lon,max_lat,max_lon", examples=["35.6,51.2,35.8,51.5"])
    ] = None,
) -> BoundingBox | None:
    """`min_lat,min_lon,max_lat,max_lon` → a box, or a 400 that says what is wrong."""
    if bbox is None:
        return None
    try:
        min_lat, min_lon, max_lat, max_lon = (float(part) for part in bbox.split(","))
    except ValueError:
        raise InvalidInput("bbox must be min_lat,min_lon,max_lat,max_lon") from None
    if not (-90 <= min_lat <= max_lat <= 90 and -180 <= min_lon <= max_lon <= 180):
        raise InvalidInput("bbox corners are out of range or in the wrong order")
    return min_lat, min_lon, max_lat, max_lon


Bbox = Annotated[BoundingBox | None, Depends(_bounding_box)]


def utc(moment: datetime | None, name: str) -> datetime | None:
    """`moment` in UTC; one without a time zone is refused, since guessing one would shift it by hours."""
    return None if moment is None else to_utc(moment, name)


def _clip_search(
    status: Annotated[ClipStatus | None, Query()] = None,
    verification_status: Annotated[VerificationStatus | None, Query()] = None,
    recorded_from: Annotated[
        datetime | None,
        Query(
            description="The file's own creation time, from (with a time zone). A file time with no zone matches "
            "when it falls in the range under some zone from UTC−12 to UTC+14 (its `recorded.zone_known` is false)."
        ),
    ] = None,
    recorded_to: Annotated[datetime | None, Query()] = None,
    captured_from: Annotated[
        datetime | None, Query(description="Capture time an uploader gave, from (with a time zone).")
    ] = None,
    captured_to: Annotated[datetime | None, Query()] = None,
    bbox: Bbox = None,
    device_make: Annotated[str | None, Query()] = None,
    device_model: Annotated[str | None, Query()] = None,
    uploader: Annotated[str | None, Query(description="Name of the key that handed a copy in.")] = None,
    source: Annotated[str | None, Query(description="Text in an acquisition's source.")] = None,
    incident_id: Annotated[str | None, Query()] = None,
    case_id: Annotated[str | None, Query()] = None,
    has_near_duplicates: Annotated[bool | None, Query()] = None,
    has_integrity_warnings: Annotated[
        bool | None, Query(description="Whether decoding found the file short of what it declares, or damaged.")
    ] = None,
    has_content_credentials: Annotated[
        bool | None,
        Query(
            description="Whether the file carries Content Credentials (a C2PA manifest), whatever their validity; "
            "clips whose credentials were not read yet match neither."
        ),
    ] = None,
    content_credentials_state: Annotated[
        ContentCredentialsState | None,
        Query(description="The state of the file's Content Credentials (`content_credentials.state`)."),
    ] = None,
    fixity: Annotated[
        FixityStatus | None, Query(description="How the clip's last fixity check went: ok, failed or unchecked.")
    ] = None,
) -> ClipFilters:
    """The clip search's filters, as GET /api/v1/clips and the workbench's archive page take them."""
    return ClipFilters(
        status=status,
        verification_status=verification_status,
        recorded_from=utc(recorded_from, "recorded_from"),
        recorded_to=utc(recorded_to, "recorded_to"),
        captured_from=utc(captured_from, "captured_from"),
        captured_to=utc(captured_to, "captured_to"),
        bbox=bbox,
        device_make=device_make,
        device_model=device_model,
        uploader=uploader,
        source=source,
        incident_id=incident_id,
        case_id=case_id,
        has_near_duplicates=has_near_duplicates,
        has_integrity_warnings=has_integrity_warnings,
        has_content_credentials=has_content_credentials,
        content_credentials_state=content_credentials_state,
        fixity=fixity,
    )


ClipSearch = Annotated[ClipFilters, Depends(_clip_search)]
ClipOrder = Annotated[
    Literal["received", "recorded"],
    Query(description="Newest first by when the archive received it, or by the file's recorded time."),
]
