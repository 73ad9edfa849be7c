"""Request and response models of the HTTP API."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from api import examples as ex
from api.examples import examples
from storage.history import RecordHistory
from storage.keys import Role
from storage.recorded import recorded_time

T = TypeVar("T")
ClipStatusName = Literal["queued", "processing", "ready", "failed", "unsupported"]
CaseStatusName = Literal["open", "closed"]
VerificationStatusName = Literal["unverified", "in_review", "verified", "disputed", "rejected"]
TimePrecision = Literal["exact", "hour", "day", "approximate"]
ZONE_EXAMPLE = "2019-11-16T14:00:00+03:30"
# Largest size or offset a request may name: what a BIGINT column holds.
MAX_BYTES = 2**63 - 1


class RequestBody(BaseModel):
    """A JSON request body: a field it does not know is an error (a typo must not pass as a no-op)."""

    model_config = ConfigDict(extra="forbid")


def _refuse_null(value: Any) -> Any:
    if value is None:
        raise ValueError("cannot be null; leave the field out to keep its value")
    return value


def _never_null(schema: dict[str, Any]) -> None:
    branches = [branch for branch in schema.pop("anyOf", []) if branch.get("type") != "null"]
    schema.update(*branches)
    schema.pop("default", None)


# A PATCH field that may be left out (keeping its value) but not set to null: the record needs a value.
NotNull = Annotated[T | None, BeforeValidator(_refuse_null), Field(json_schema_extra=_never_null)]


def _require_zone(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"give a time zone, e.g. {ZONE_EXAMPLE}")
    return value


class ErrorOut(BaseModel):
    """Every error answer."""

    model_config = ConfigDict(json_schema_extra=examples(ex.ERROR))

    error: str = Field(description="A stable code, e.g. not_found, stale_write, invalid_input.")
    detail: str = Field(description="What went wrong, for a person to read.")


class OffsetConflictOut(ErrorOut):
    """A chunk that does not start where the upload stands (409); `offset` is where it does."""

    model_config = ConfigDict(json_schema_extra=examples(ex.OFFSET_CONFLICT))

    offset: int = Field(description="The upload's received bytes, also sent as the Upload-Offset header.")


class ValidationErrorOut(ErrorOut):
    """A request that does not fit the schema (422)."""

    model_config = ConfigDict(json_schema_extra=examples(ex.VALIDATION_ERROR))

    errors: list[dict[str, Any]] = Field(description="Each problem: loc (where), msg, type, as pydantic reports it.")


class AcquisitionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    received_at: datetime
    received_by: str = Field(description="Name of the API key that handed the bytes in.")
    filename: str
    source: str | None
    source_url: str | None
    captured_at: datetime | None = Field(description="When the uploader says the footage was recorded.")
    note: str | None


class IngestProgress(BaseModel):
    step: str | None = Field(description="The pipeline step running now, while processing.")
    progress: float | None = Field(description="0–1, while processing; 1 when ready.")


class RecordedOut(BaseModel):
    """When the file says it was recorded. A time written with no zone could be under any zone
    from UTC−12 to UTC+14: `earliest`/`latest` are the span it stands for in time searches."""

    at: str = Field(description="As the file has it: ISO 8601, in UTC (`Z`) when it names a zone, else no zone.")
    zone_known: bool = Field(description="False when the file gives a local clock time with no zone.")
    earliest: datetime
    latest: datetime

    @classmethod
    def of(cls, media: dict[str, Any] | None) -> RecordedOut | None:
        created = (media or {}).get("creation_time") or {}
        recorded = recorded_time(created.get("container") or created.get("stream"))
        if recorded is None:
            return None
        return cls(
            at=recorded.as_written, zone_known=recorded.zone_known, earliest=recorded.earliest, latest=recorded.latest
        )


class ClipOut(BaseModel):
    model_config = ConfigDict(json_schema_extra=examples(ex.CLIP))

    id: str
    sha256: str
    size_bytes: int
    filename: str
    content_type: str | None
    status: str
    status_reason: str | None
    created_at: datetime
    uploaded_by: str
    verification_status: str = Field(description="unverified, in_review, verified, disputed or rejected.")
    acquisitions: list[AcquisitionOut]
    ingest: IngestProgress
    media: dict[str, Any] | None = Field(
        description="Normalised ffprobe fields (container, duration_s, video, audio, rotation, creation_time, "
        "location, device, encoder, warnings); null until probed. Missing values are null; `warnings` "
        "names metadata that could not be used (e.g. an impossible date)."
    )
    recorded: RecordedOut | None = Field(default=None, description="The file's own recorded time; null if none.")
    integrity: dict[str, Any] | None = Field(
        default=None,
        description="Declared against decoded: declared_duration_s, decoded_duration_s, declared_frames, "
        "decoded_frames, decode_errors, first_errors, and warnings in plain words (empty when the file holds "
        "what it declares); null until decoded.",
    )

    @classmethod
    def of(cls, clip: Any) -> ClipOut:
        parsed = {name: json.loads(getattr(clip, name) or "null") for name in ("media", "integrity")}
        plain = [name for name in cls.model_fields if hasattr(clip, name) and name not in parsed]
        return cls.model_validate(
            {
                **{name: getattr(clip, name) for name in plain},
                "acquisitions": [AcquisitionOut.model_validate(a) for a in clip.acquisitions],
                "ingest": IngestProgress(step=clip.ingest_step, progress=clip.ingest_progress),
                **parsed,
                "recorded": RecordedOut.of(parsed["media"]),
            }
        )


class UploadOut(ClipOut):
    model_config = ConfigDict(json_schema_extra=examples(ex.UPLOAD))

    duplicate: bool = Field(description="True when these exact bytes were already archived.")


class UploadCreate(RequestBody):
    """A resumable upload: what the file is and what the person handing it in says about it."""

    model_config = ConfigDict(json_schema_extra=examples(ex.UPLOAD_CREATE))

    filename: str = Field(min_length=1, max_length=1024)
    size_bytes: int = Field(ge=0, le=MAX_BYTES, description="The file's exact size; the chunks must add up to it.")
    content_type: str | None = Field(default=None, max_length=255)
    source: str | None = Field(default=None, description="Who or where it came from.")
    source_url: str | None = None
    captured_at: datetime | None = Field(
        default=None, description="When the uploader says it was recorded, with a time zone."
    )
    note: str | None = None

    _zone_required = field_validator("captured_at")(_require_zone)


class UploadStateOut(BaseModel):
    """A resumable upload and how far it has come (`received_bytes`, also the `Upload-Offset` header)."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra=examples(ex.UPLOAD_STATE))

    id: str
    filename: str
    content_type: str | None
    size_bytes: int
    received_bytes: int = Field(description="Where the next chunk must start.")
    source: str | None
    source_url: str | None
    captured_at: datetime | None
    note: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    clip_id: str | None = Field(description="The archived clip, once the last byte has arrived.")


class UploadCompletedOut(UploadOut):
    """The answer to the chunk that completed a resumable upload: as for POST /api/v1/clips."""

    model_config = ConfigDict(json_schema_extra=examples(ex.UPLOAD_COMPLETED))

    upload_id: str


class ClipPage(BaseModel):
    model_config = ConfigDict(json_schema_extra=examples(ex.CLIP_PAGE))

    items: list[ClipOut]
    total: int
    limit: int
    offset: int


class ChainLinkOut(BaseModel):
    """One link of a hash chain: hash = SHA-256(prev_hash ‖ canonical JSON of the link)."""

    model_config = ConfigDict(from_attributes=True)

    seq: int = Field(description="Counts from 0 along the chain.")
    action: str
    actor: str = Field(description="Name of the API key that did it.")
    occurred_at: datetime
    details: dict[str, Any] = Field(
        description="What was recorded. Stored text that is no longer a JSON object (it was altered) comes "
        'as `{"unparsed": text}`, and the chain then does not verify.'
    )
    prev_hash: str
    hash: str

    @field_validator("details", mode="before")
    @classmethod
    def _parse_details(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                parsed = json.loads(value)
            except ValueError:
                return {"unparsed": value}
            return parsed if isinstance(parsed, dict) else {"unparsed": value}
        return value


class CustodyEventOut(ChainLinkOut):
    """One event of a clip's custody log."""


class CustodyLog(BaseModel):
    model_config = ConfigDict(json_schema_extra=examples(ex.CUSTODY_LOG))

    clip_id: str
    verified: bool = Field(description="Whether every event's hash recomputes and links to the one before.")
    first_bad_seq: int | None
    reason: str | None
    events: list[CustodyEventOut]


class HistoryEntryOut(ChainLinkOut):
    """One change to an incident or a case. `details`: `record` (created, deleted: the whole record
    as it was), `before` and `after` (the fields that changed), `version` (the ETag it left),
    `incident_id` (a case's incident_added, incident_removed)."""


class HistoryLog(BaseModel):
    """Every change to an incident or a case, oldest first: created, updated, deleted, and for a
    case also closed, reopened, incident_added, incident_removed."""

    model_config = ConfigDict(json_schema_extra=examples(ex.INCIDENT_HISTORY, ex.CASE_HISTORY))

    kind: Literal["incident", "case"]
    id: str
    deleted: bool = Field(description="The record no longer exists; its `deleted` entry keeps it as it was.")
    verified: bool = Field(description="Whether every entry's hash recomputes and links to the one before.")
    first_bad_seq: int | None
    reason: str | None
    entries: list[HistoryEntryOut]

    @classmethod
    def of(cls, history: RecordHistory) -> HistoryLog:
        return cls(
            kind=history.kind,
            id=history.entity_id,
            deleted=history.deleted,
            verified=history.check.verified,
            first_bad_seq=history.check.first_bad_seq,
            reason=history.check.reason,
            entries=[HistoryEntryOut.model_validate(entry) for entry in history.entries],
        )


class KeyCreate(RequestBody):
    model_config = ConfigDict(json_schema_extra=examples(ex.KEY_CREATE))

    name: str = Field(min_length=1, max_length=100)
    role: Role


class KeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra=examples(ex.KEY))

    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None


class KeyCreated(KeyOut):
    model_config = ConfigDict(json_schema_extra=examples(ex.KEY_CREATED))

    key: str = Field(description="The secret. Shown once; only its hash is stored.")


class KeyframeOut(BaseModel):
    model_config = ConfigDict(json_schema_extra=examples(ex.KEYFRAME))

    index: int = Field(description="Counts from 0 in time order.")
    time_s: float = Field(description="Presentation time of the frame.")
    reason: str = Field(description="first, scene (a scene change) or interval.")
    scene_score: float | None
    width: int
    height: int
    size_bytes: int
    url: str


class SegmentOut(BaseModel):
    query_start_s: float = Field(description="Where the shared footage starts in the query (or this clip).")
    clip_start_s: float = Field(description="Where it starts in the matched clip.")
    duration_s: float


class NearDuplicateOut(BaseModel):
    clip_id: str
    filename: str
    score: float = Field(ge=0, le=1, description="Share of the shorter video found in the other.")
    matched_seconds: float
    mirrored: bool = Field(description="The match is with the mirror image.")
    segments: list[SegmentOut]
    first_seen_at: datetime = Field(description="When the matched clip was first archived.")
    verification_status: str = Field(description="Where the matched clip stands in review.")


class ExactMatchOut(BaseModel):
    clip: ClipOut
    first_acquisition: AcquisitionOut
    acquisitions: list[AcquisitionOut]
    custody_verified: bool


class VerifyOut(BaseModel):
    model_config = ConfigDict(json_schema_extra=examples(ex.VERIFY))

    sha256: str
    exact_match: ExactMatchOut | None
    near_duplicates: list[NearDuplicateOut] = Field(description="Best first.")
    not_analysed: str | None = Field(
        default=None, description="Why the file's footage could not be compared, when it could not."
    )


class RelatedOut(BaseModel):
    model_config = ConfigDict(json_schema_extra=examples(ex.RELATED))

    clip_id: str
    first_seen_clip_id: str = Field(description="Of this clip and its copies, the one archived first.")
    related: list[NearDuplicateOut]


class IncidentIn(RequestBody):
    model_config = ConfigDict(json_schema_extra=examples(ex.INCIDENT_IN))

    title: str = Field(min_length=1, max_length=300)
    description: str = ""
    starts_at: datetime
    ends_at: datetime | None = None
    time_precision: TimePrecision = "approximate"
    place_name: str | None = Field(default=None, max_length=300)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    radius_m: float | None = Field(default=None, ge=0, description="Uncertainty of the location, metres.")
    tags: list[str] = Field(default_factory=list)

    _zone_required = field_validator("starts_at", "ends_at")(_require_zone)


class IncidentPatch(RequestBody):
    """Fields left out keep their value; null clears ends_at, the place and the location, which
    may be unknown (send "" to clear the description)."""

    model_config = ConfigDict(json_schema_extra=examples(ex.INCIDENT_PATCH))

    title: NotNull[str] = Field(default=None, min_length=1, max_length=300)
    description: NotNull[str] = None
    starts_at: NotNull[datetime] = None
    ends_at: datetime | None = None
    time_precision: NotNull[TimePrecision] = None
    place_name: str | None = Field(default=None, max_length=300)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    radius_m: float | None = Field(default=None, ge=0)
    tags: NotNull[list[str]] = None

    _zone_required = field_validator("starts_at", "ends_at")(_require_zone)


class IncidentOut(BaseModel):
    model_config = ConfigDict(json_schema_extra=examples(ex.INCIDENT))

    id: str
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime | None
    time_precision: str
    place_name: str | None
    lat: float | None
    lon: float | None
    radius_m: float | None
    tags: list[str]
    version: int = Field(description="Also sent as the ETag header; send it back in If-Match to change.")
    created_by: str
    created_at: datetime
    updated_at: datetime

    @field_validator("tags", mode="before")
    @classmethod
    def _parse_tags(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value


class IncidentPage(BaseModel):
    model_config = ConfigDict(json_schema_extra=examples(ex.INCIDENT_PAGE))

    items: list[IncidentOut]
    total: int
    limit: int
    offset: int


class LinkIn(RequestBody):
    model_config = ConfigDict(json_schema_extra=examples(ex.LINK_IN))

    clip_id: str
    start_s: float | None = Field(default=None, ge=0)
    end_s: float | None = Field(default=None, ge=0)
    note: str | None = None


class LinkOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra=examples(ex.LINK))

    id: int
    incident_id: str
    clip_id: str
    start_s: float | None
    end_s: float | None
    note: str | None
    linked_by: str
    linked_at: datetime
    unlinked_by: str | None
    unlinked_at: datetime | None
    version: int = Field(description="Also sent as the ETag header; send it back in If-Match to change or unlink.")


class LinkPatch(RequestBody):
    model_config = ConfigDict(json_schema_extra=examples(ex.LINK_PATCH))

    start_s: float | None = Field(default=None, ge=0, description="null with end_s null: the whole clip.")
    end_s: float | None = Field(default=None, ge=0)
    note: str | None = None


class VerificationIn(RequestBody):
    model_config = ConfigDict(json_schema_extra=examples(ex.VERIFICATION_IN))

    status: VerificationStatusName
    rationale: str = Field(min_length=1, description="Why; required, kept with the change.")


class VerificationChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_status: str
    to_status: str
    rationale: str
    reviewer: str
    changed_at: datetime


class VerificationOut(BaseModel):
    model_config = ConfigDict(json_schema_extra=examples(ex.VERIFICATION))

    clip_id: str
    status: str
    history: list[VerificationChangeOut]


class CaseIn(RequestBody):
    model_config = ConfigDict(json_schema_extra=examples(ex.CASE_IN))

    title: str = Field(min_length=1, max_length=300)
    description: str = ""
    status: CaseStatusName = "open"


class CasePatch(RequestBody):
    """Fields left out keep their value; none of them can be null."""

    model_config = ConfigDict(json_schema_extra=examples(ex.CASE_PATCH))

    title: NotNull[str] = Field(default=None, min_length=1, max_length=300)
    description: NotNull[str] = None
    status: NotNull[CaseStatusName] = None


class CaseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra=examples(ex.CASE))

    id: str
    title: str
    description: str
    status: str
    incident_ids: list[str]
    version: int = Field(description="Also sent as the ETag header; send it back in If-Match to change.")
    created_by: str
    created_at: datetime
    updated_at: datetime


class CasePage(BaseModel):
    model_config = ConfigDict(json_schema_extra=examples(ex.CASE_PAGE))

    items: list[CaseOut]
    total: int
    limit: int
    offset: int


class Health(BaseModel):
    model_config = ConfigDict(json_schema_extra=examples(ex.HEALTH))

    status: str
    database: str
    object_store: str
