"""Request and response models of the HTTP API."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from api import examples as ex
from api.examples import examples
from storage.acquisitions import current_values
from storage.anchors import AnchoredHead
from storage.exports import MAX_NAMED_CLIPS as MAX_EXPORT_CLIPS
from storage.history import RecordHistory
from storage.keys import Role
from storage.models import Acquisition, ApiKey, CaseMember, Person, utcnow
from storage.recorded import recorded_time
from storage.vocabulary import (
    CaseStatus,
    ContentCredentialsState,
    ExportScope,
    ExportStatus,
    FixityStatus,
    MatchDecisionValue,
    MatchSignal,
    StampState,
    TimePrecision,
    VerificationStatus,
)

if TYPE_CHECKING:
    from ingest.fixity import AuditStatus

T = TypeVar("T")
ZONE_EXAMPLE = "2019-11-16T14:00:00+03:30"
# Largest size or offset a request may name: what a BIGINT column holds.
MAX_BYTES = 2**63 - 1

# The longest text each field takes, in characters (docs/input-limits.md lists them).
TITLE_MAX = 300
PLACE_MAX = 300
DESCRIPTION_MAX = 20_000
NOTE_MAX = 10_000
SOURCE_MAX = 2_000
URL_MAX = 2_048
RATIONALE_MAX = 10_000
TAG_MAX = 100
TAGS_MAX = 50  # tags on one incident
ID_MAX = 64
FILENAME_MAX = 1024
CONTENT_TYPE_MAX = 255
Tag = Annotated[str, Field(max_length=TAG_MAX)]


def _broken_text(value: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], PydanticCustomError]]:
    """Where in a decoded JSON value a string cannot be stored as text, and why: a lone UTF-16
    surrogate (`"\\ud800"`: JSON's escapes allow one, but it is half a character, which no database
    or JSON encoder takes), or a NUL character (PostgreSQL refuses it; SQLite would keep it)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as problem:
            escape = f"\\u{ord(value[problem.start]):04x}"
            message = "is not valid text: it holds a lone UTF-16 surrogate ({escape}), half of a character"
            yield loc, PydanticCustomError("text_surrogate", message, {"escape": escape})
        if "\x00" in value:
            yield loc, PydanticCustomError("text_nul", "is not valid text: it holds a NUL character (\\u0000)")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _broken_text(key, (*loc, str(key)))  # a field's name, as much as its value
            yield from _broken_text(item, (*loc, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _broken_text(item, (*loc, index))


class RequestBody(BaseModel):
    """A JSON request body: a field it does not know is an error (a typo must not pass as a no-op);
    so are NaN and ±Infinity (JSON has no such numbers) and text with a lone surrogate or a NUL,
    each reported at its field."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _refuse_broken_text(cls, data: Any) -> Any:
        problems = [InitErrorDetails(type=why, loc=loc, input=None) for loc, why in _broken_text(data, ())]
        if problems:
            raise ValidationError.from_exception_data(cls.__name__, problems)
        return data


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


DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _days_as_dates(data: Any) -> Any:
    """An incident known to the day may give its day as a date: `starts_at` "2019-11-16" is the
    start of that day in UTC, `ends_at` "2019-11-17" the end of that day."""
    if not isinstance(data, dict) or data.get("time_precision") != "day":
        return data
    data = dict(data)
    for name, days_after in (("starts_at", 0), ("ends_at", 1)):
        value = data.get(name)
        if isinstance(value, str) and DATE_ONLY.match(value):
            try:
                day = date.fromisoformat(value)
            except ValueError:
                continue  # not a real day: the datetime field says so
            moment = datetime.combine(day, time(), UTC)
            data[name] = moment + timedelta(days=days_after) if days_after else moment
    return data


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


class CorrectionOut(BaseModel):
    """A correction of one field of an acquisition."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    field: str = Field(description="source, source_url, captured_at or note.")
    old_value: str | None = Field(description="The value before (captured_at: ISO 8601 in UTC).")
    new_value: str | None = Field(description="The value after; null: the field was cleared.")
    why: str
    corrected_by: str = Field(description="Name of the API key that made the correction.")
    corrected_at: datetime


class AcquisitionOut(BaseModel):
    """One receipt of the clip's bytes. source, source_url, captured_at and note are as they stand
    now: as first recorded, unless a correction (oldest first in `corrections`) changed them."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra=examples(ex.ACQUISITION))

    id: int
    received_at: datetime
    received_by: str = Field(description="Name of the API key that handed the bytes in.")
    filename: str
    source: str | None
    source_url: str | None
    captured_at: datetime | None = Field(description="When the uploader says the footage was recorded.")
    note: str | None
    corrections: list[CorrectionOut] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _as_corrected(cls, data: Any) -> Any:
        if not isinstance(data, Acquisition):
            return data
        recorded = {name: getattr(data, name) for name in ("id", "received_at", "received_by", "filename")}
        corrections = [CorrectionOut.model_validate(c) for c in data.corrections]
        return {**recorded, **current_values(data), "corrections": corrections}


CorrectableField = Literal["source", "source_url", "captured_at", "note"]
# The longest value a correction may give each field: what the upload takes.
CORRECTION_MAX = {"source": SOURCE_MAX, "source_url": URL_MAX, "captured_at": 64, "note": NOTE_MAX}


def _invalid_at(model: str, loc: tuple[str | int, ...], message: str) -> ValidationError:
    """A validation problem at `loc`, from a check that spans fields."""
    problem = InitErrorDetails(type=PydanticCustomError("value_error", message), loc=loc, input=None)
    return ValidationError.from_exception_data(model, [problem])


class CorrectionIn(RequestBody):
    """Put one mistaken field of an acquisition right; the acquisition keeps what was first recorded."""

    model_config = ConfigDict(json_schema_extra=examples(ex.CORRECTION_IN))

    field: CorrectableField
    value: str | None = Field(
        max_length=NOTE_MAX,
        description="The right value, or null to clear the field; captured_at: a date-time with a time zone.",
    )
    why: str = Field(min_length=1, max_length=RATIONALE_MAX, description="Why it is corrected; required, kept.")

    @model_validator(mode="after")
    def _fits_the_field(self) -> CorrectionIn:
        if self.value is not None and len(self.value) > CORRECTION_MAX[self.field]:
            raise _invalid_at(
                type(self).__name__, ("value",), f"a {self.field} has at most {CORRECTION_MAX[self.field]} characters"
            )
        if self.field == "captured_at" and self.value is not None:
            try:
                moment = datetime.fromisoformat(self.value.replace("Z", "+00:00"))
            except ValueError:
                raise _invalid_at(
                    type(self).__name__, ("value",), "captured_at must be an ISO 8601 date-time"
                ) from None
            if moment.tzinfo is None:
                raise _invalid_at(type(self).__name__, ("value",), f"give a time zone, e.g. {ZONE_EXAMPLE}")
        return self

    def parsed_value(self) -> str | datetime | None:
        """The value as the field holds it: text, or for captured_at a time in UTC."""
        if self.value is None or self.field != "captured_at":
            return self.value
        return datetime.fromisoformat(self.value.replace("Z", "+00:00")).astimezone(UTC)


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


class CredentialSigner(BaseModel):
    common_name: str | None
    issuer: str | None
    serial_number: str | None
    algorithm: str | None = Field(description="The signature algorithm as the reader names it (Es256, Ps256 …).")


class CredentialFailure(BaseModel):
    code: str = Field(description="The C2PA validation code, e.g. `assertion.bmffHash.mismatch`.")
    explanation: str | None
    assertion: str | None = Field(
        description="The assertion that failed (e.g. `c2pa.hash.bmff.v3`); null for the signature or the certificate."
    )
    url: str | None = Field(description="Where in the manifest store, as the reader names it.")


class CredentialAction(BaseModel):
    action: str = Field(description="`c2pa.created`, `c2pa.opened`, `c2pa.edited`, `c2pa.cropped` …")
    when: str | None
    software_agent: str | None
    digital_source_type: str | None = Field(
        description="The IPTC term: `digitalCapture` (recorded by a device), `trainedAlgorithmicMedia` (made by AI), "
        "`composite` …"
    )
    description: str | None


class CredentialIngredient(BaseModel):
    title: str | None
    format: str | None
    relationship: str | None = Field(description="`parentOf` (what this file was made from), `componentOf` …")
    has_manifest: bool = Field(description="The ingredient carried Content Credentials of its own.")


class ContentCredentialsOut(BaseModel):
    """What the file's Content Credentials (C2PA manifest) say, and whether they hold for its bytes
    (docs/media-analysis.md). The reader's whole report is kept with the clip for the evidence export."""

    model_config = ConfigDict(json_schema_extra=examples(ex.CONTENT_CREDENTIALS))

    state: ContentCredentialsState = Field(
        description="valid (intact, signer chains to a configured trust anchor), signer_untrusted (intact, signer "
        "chains to none), invalid (a hash, signature or certificate fails: see `failures`), malformed (cannot be "
        "parsed: see `reason`), none (no manifest), unsupported (a format not read for them), not_read (not yet)."
    )
    reason: str | None = Field(default=None, description="Why, in plain words, for every state but valid and none.")
    validation_state: str | None = Field(default=None, description="The reader's own word: Trusted, Valid, Invalid.")
    signer_trusted: bool | None = None
    trust_anchors_configured: bool = False
    failures: list[CredentialFailure] = []
    active_manifest: str | None = None
    manifest_count: int = 0
    title: str | None = None
    format: str | None = None
    claim_generator: str | None = Field(default=None, description="The tool that made the claim, with its version.")
    signer: CredentialSigner | None = None
    signed_at: str | None = Field(
        default=None, description="The time a timestamp in the signature asserts; null when it has none."
    )
    actions: list[CredentialAction] = []
    ingredients: list[CredentialIngredient] = []
    reader: str | None = Field(default=None, description="The reader and its version.")

    @classmethod
    def of(cls, stored: str | None) -> ContentCredentialsOut:
        return cls.model_validate(json.loads(stored)) if stored else cls(state="not_read")


class TimestampOut(BaseModel):
    """The trusted timestamp (RFC 3161) of the clip's original SHA-256."""

    state: StampState = Field(
        description="`not configured` (no time-stamping authority was set when it arrived), `pending` (tried "
        "again at next_attempt_at), `stamped` or `failed` (reason)."
    )
    tsa: str | None = Field(default=None, description="The authority that stamped it.")
    time: datetime | None = Field(default=None, description="The time the authority asserts.")
    reason: str | None = Field(default=None, description="Why it failed, or why the last try did not succeed.")
    next_attempt_at: datetime | None = Field(default=None, description="When a pending stamp is tried next.")

    @classmethod
    def of(cls, row: Any) -> TimestampOut:
        if row is None:
            return cls(state=StampState.not_configured)
        token = row.token
        return cls(
            state=row.state,
            tsa=token.tsa_url if token is not None else None,
            time=token.gen_time if token is not None else None,
            reason=row.reason if row.state != StampState.stamped else None,
            next_attempt_at=row.next_attempt_at if row.state == StampState.pending else None,
        )


VIEWING_COPY_LABEL = "viewing copy, not the original"


class ViewingCopyOut(BaseModel):
    """The H.264/AAC MP4 made for watching a clip whose original a browser cannot play: a derivative
    with its own hash, not evidence (the original is `GET /api/v1/clips/{id}/original`)."""

    label: str = Field(default=VIEWING_COPY_LABEL, description="What to show wherever it plays.")
    url: str
    sha256: str = Field(description="Of the viewing copy's own bytes (not the original's).")
    size_bytes: int
    content_type: str
    made_at: datetime
    video_codec: str | None
    audio_codec: str | None
    width: int | None
    height: int | None
    needed_because: list[str] = Field(description="Why a browser cannot play the original as it is.")

    @classmethod
    def of(cls, clip_id: str, row: Any) -> ViewingCopyOut | None:
        if row is None or row.blob_key is None:
            return None
        return cls(
            url=f"/api/v1/clips/{clip_id}/viewing-copy",
            sha256=row.sha256,
            size_bytes=row.size_bytes,
            content_type=row.content_type,
            made_at=row.made_at,
            video_codec=row.video_codec,
            audio_codec=row.audio_codec,
            width=row.width,
            height=row.height,
            needed_because=json.loads(row.needed_because),
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
    content_credentials: ContentCredentialsOut = Field(
        default_factory=lambda: ContentCredentialsOut(state="not_read"),
        description="The file's Content Credentials (C2PA): `state` says whether it has any and whether they hold.",
    )

    fixity: FixityStatus = Field(
        default="unchecked",
        description="How the last fixity check of the original went (an audit, or a whole download): `ok`, "
        "`failed` (GET /api/v1/fixity says what differs), or `unchecked` until the first.",
    )
    fixity_checked_at: datetime | None = Field(default=None, description="When that check was made.")
    timestamp: TimestampOut = Field(
        default_factory=lambda: TimestampOut(state=StampState.not_configured),
        description="The trusted timestamp of the original's SHA-256; its token: GET /api/v1/clips/{id}/timestamp.",
    )
    browser_playable: bool | None = Field(
        default=None,
        description="Whether a browser plays the original as it is (H.264 or VP8/VP9/AV1 in MP4 or WebM, 8-bit "
        "4:2:0, progressive, not rotated); null until analysed.",
    )
    viewing_copy: ViewingCopyOut | None = Field(
        default=None,
        description="The copy made to watch it in a browser when it cannot play the original; null when none "
        "is needed or none could be made.",
    )
    viewing_copy_warning: str | None = Field(
        default=None, description="Why no viewing copy could be made for an original that needs one."
    )

    @classmethod
    def of(cls, clip: Any) -> ClipOut:
        parsed = {name: json.loads(getattr(clip, name) or "null") for name in ("media", "integrity")}
        built = {*parsed, "content_credentials", "timestamp", "viewing_copy"}
        viewing_copy = getattr(clip, "viewing_copy", None)
        plain = [name for name in cls.model_fields if hasattr(clip, name) and name not in built]
        return cls.model_validate(
            {
                **{name: getattr(clip, name) for name in plain},
                "acquisitions": [AcquisitionOut.model_validate(a) for a in clip.acquisitions],
                "ingest": IngestProgress(step=clip.ingest_step, progress=clip.ingest_progress),
                **parsed,
                "recorded": RecordedOut.of(parsed["media"]),
                "content_credentials": ContentCredentialsOut.of(clip.content_credentials),
                "fixity": clip.fixity_status,
                "timestamp": TimestampOut.of(getattr(clip, "timestamp", None)),
                "viewing_copy": ViewingCopyOut.of(clip.id, viewing_copy),
                "viewing_copy_warning": viewing_copy.failure if viewing_copy is not None else None,
            }
        )


class UploadOut(ClipOut):
    model_config = ConfigDict(json_schema_extra=examples(ex.UPLOAD))

    duplicate: bool = Field(description="True when these exact bytes were already archived.")


CASE_ID_DOC = (
    "The case to hand it into: its members see it. Needs the contributor role there; required with a key "
    "that sees only some cases (else the footage would be archive-wide, out of its own sight)."
)


class UploadCreate(RequestBody):
    """A resumable upload: what the file is and what the person handing it in says about it."""

    model_config = ConfigDict(json_schema_extra=examples(ex.UPLOAD_CREATE))

    filename: str = Field(min_length=1, max_length=FILENAME_MAX)
    size_bytes: int = Field(ge=0, le=MAX_BYTES, description="The file's exact size; the chunks must add up to it.")
    content_type: str | None = Field(default=None, max_length=CONTENT_TYPE_MAX)
    source: str | None = Field(default=None, max_length=SOURCE_MAX, description="Who or where it came from.")
    source_url: str | None = Field(default=None, max_length=URL_MAX)
    captured_at: datetime | None = Field(
        default=None, description="When the uploader says it was recorded, with a time zone."
    )
    note: str | None = Field(default=None, max_length=NOTE_MAX)
    case_id: str | None = Field(default=None, max_length=ID_MAX, description=CASE_ID_DOC)
    sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-fA-F]{64}$",
        description="The whole file's SHA-256 (hex), optional: bytes that end up otherwise are refused, and "
        "declaring it again (same size and fields) continues your unfinished upload of it.",
    )

    _zone_required = field_validator("captured_at")(_require_zone)

    @field_validator("sha256")
    @classmethod
    def _lowercase(cls, value: str | None) -> str | None:
        return None if value is None else value.lower()


class AcquisitionForm(RequestBody):
    """The text fields of the upload form (POST /api/v1/clips), each optional, each at most once."""

    source: str | None = Field(default=None, max_length=SOURCE_MAX)
    source_url: str | None = Field(default=None, max_length=URL_MAX)
    captured_at: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, max_length=NOTE_MAX)
    case_id: str | None = Field(default=None, max_length=ID_MAX)


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
    case_id: str | None = Field(default=None, description="The case it is handed into; null: archive-wide.")
    created_by: str
    created_at: datetime
    updated_at: datetime
    clip_id: str | None = Field(description="The archived clip, once the last byte has arrived.")
    sha256: str | None = Field(default=None, description="The whole file's SHA-256 as declared, if it was.")


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
    actor: str = Field(
        description="Who did it: `person/key`, or the key's name alone when it is named after its person "
        "(every key made before people existed, docs/design.md)."
    )
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


class MismatchOut(BaseModel):
    """A field of the clip (or of a row its chain vouches for) that is not what the chain recorded."""

    model_config = ConfigDict(from_attributes=True)

    seq: int | None = Field(description="The event that recorded it; null for a row no event records.")
    field: str = Field(description="e.g. `sha256`, `size_bytes`, `acquisition 3 source`, `link 5 start_s`.")
    recorded: Any = Field(description="What the chain recorded (null: no event records the row).")
    found: Any = Field(description="What is stored (null: the row the event records is gone).")


class AnchoredHeadOut(BaseModel):
    """The chain's newest head under a trusted timestamp: the leaf (kind, chain id, length, head
    hash), its proof up to the anchor's root, and the anchor (token: GET /api/v1/anchors/{id}/token)."""

    anchor_id: int
    length: int = Field(description="Links in the chain when anchored: the head is link `length - 1`.")
    head_hash: str
    proof: list[dict[str, str]] = Field(description='From the leaf up: {"side": "left"|"right", "hash": hex}.')
    root: str
    time: datetime = Field(description="The time the authority asserts for the root.")

    @classmethod
    def of(cls, head: AnchoredHead | None) -> AnchoredHeadOut | None:
        if head is None:
            return None
        return cls(
            anchor_id=head.anchor.id,
            length=head.inclusion.length,
            head_hash=head.inclusion.head_hash,
            proof=json.loads(head.inclusion.proof),
            root=head.anchor.root,
            time=head.anchor.token.gen_time,
        )


class CustodyLog(BaseModel):
    model_config = ConfigDict(json_schema_extra=examples(ex.CUSTODY_LOG))

    clip_id: str
    verified: bool = Field(
        description="Whether every event's hash recomputes and links to the one before, the newest anchored "
        "head is still in the chain, and every field the chain vouches for (the clip's sha256 and size, "
        "acquisitions, corrections, review status, links, fixity flag) holds what the chain recorded."
    )
    first_bad_seq: int | None
    reason: str | None
    mismatches: list[MismatchOut] = Field(default_factory=list, description="Each field that differs.")
    events: list[CustodyEventOut]
    anchored: AnchoredHeadOut | None = Field(default=None, description="The newest anchored head; null if none.")


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
    verified: bool = Field(
        description="Whether every entry's hash recomputes and links to the one before, and the newest anchored "
        "head is still in the chain."
    )
    first_bad_seq: int | None
    reason: str | None
    entries: list[HistoryEntryOut]
    anchored: AnchoredHeadOut | None = Field(default=None, description="The newest anchored head; null if none.")

    @classmethod
    def of(cls, history: RecordHistory) -> HistoryLog:
        return cls(
            anchored=AnchoredHeadOut.of(history.anchored),
            kind=history.kind,
            id=history.entity_id,
            deleted=history.deleted,
            verified=history.check.verified,
            first_bad_seq=history.check.first_bad_seq,
            reason=history.check.reason,
            entries=[HistoryEntryOut.model_validate(entry) for entry in history.entries],
        )


class AnchorOut(BaseModel):
    """One trusted timestamp over the Merkle root of the heads of the chains that moved since their
    last anchor (docs/design.md, *Timestamps and anchors*); its token: GET /api/v1/anchors/{id}/token."""

    model_config = ConfigDict(json_schema_extra=examples(ex.ANCHOR))

    id: int
    root: str = Field(description="The Merkle root, hex: the digest the token stamps.")
    chain_count: int = Field(description="Chain heads under the root.")
    tsa: str
    time: datetime = Field(description="The time the authority asserts.")
    created_at: datetime

    @classmethod
    def of(cls, anchor: Any) -> AnchorOut:
        return cls(
            id=anchor.id,
            root=anchor.root,
            chain_count=anchor.chain_count,
            tsa=anchor.token.tsa_url,
            time=anchor.token.gen_time,
            created_at=anchor.created_at,
        )


class AnchorPage(BaseModel):
    model_config = ConfigDict(json_schema_extra=examples(ex.ANCHOR_PAGE))

    items: list[AnchorOut] = Field(description="Newest first.")
    total: int
    limit: int
    offset: int


class KeyCreate(RequestBody):
    model_config = ConfigDict(json_schema_extra=examples(ex.KEY_CREATE))

    name: str = Field(min_length=1, max_length=100)
    role: Role = Field(description="At most the person's archive-wide role.")
    person: str | None = Field(
        default=None,
        max_length=100,
        description="Whose key it is; by default a person named after the key, made with its role if missing.",
    )
    cases: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="Case ids the key is narrowed to (none: not narrowed).",
    )
    expires_at: datetime | None = Field(default=None, description="When the key stops working, with a time zone.")

    _zone_required = field_validator("expires_at")(_require_zone)


class KeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra=examples(ex.KEY))

    name: str
    role: str
    person: str = Field(description="Whose key it is.")
    cases: list[str] = Field(description="Case ids the key is narrowed to; empty when it is not narrowed.")
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> Self:
        return cls(
            name=key.name,
            role=key.role,
            person=key.person.name,
            cases=key.case_ids,
            created_at=key.created_at,
            expires_at=key.expires_at,
            revoked_at=key.revoked_at,
        )


class KeyCreated(KeyOut):
    model_config = ConfigDict(json_schema_extra=examples(ex.KEY_CREATED))

    key: str = Field(description="The secret. Shown once; only its hash is stored.")


class PersonOut(BaseModel):
    model_config = ConfigDict(json_schema_extra=examples(ex.PERSON))

    name: str
    role: str = Field(description="Archive-wide role: viewer, contributor, analyst, admin, or none.")
    totp: bool = Field(description="Whether signing in also needs a TOTP code.")
    created_at: datetime
    disabled_at: datetime | None

    @classmethod
    def of(cls, person: Person) -> Self:
        return cls(
            name=person.name,
            role=person.role,
            totp=person.totp_secret is not None,
            created_at=person.created_at,
            disabled_at=person.disabled_at,
        )


class SignIn(RequestBody):
    model_config = ConfigDict(json_schema_extra=examples(ex.SIGN_IN))

    name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1024)
    totp: str | None = Field(default=None, max_length=10, description="The current code, when the person has TOTP.")


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
    signals: list[MatchSignal] = Field(
        description="What matched: the pictures, the sound, or both (by sound alone: the segments are the sound's)."
    )
    segments: list[SegmentOut]
    first_seen_at: datetime = Field(description="When the matched clip was first archived.")
    verification_status: str = Field(description="Where the matched clip stands in review.")
    decision: MatchDecisionValue | None = Field(default=None, description="An analyst's decision on the pair, if any.")
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str | None = Field(default=None, description="Why the pair was decided so.")


class ExactMatchOut(BaseModel):
    clip: ClipOut
    first_acquisition: AcquisitionOut
    acquisitions: list[AcquisitionOut]
    custody_verified: bool


class RestrictedMatchOut(BaseModel):
    """What a provenance answer says of matches in clips the caller may not see, when the archive is
    set to say anything of them (VERITY_VERIFY_REVEALS_RESTRICTED): that they are held, and no
    more: no id, hash, time or score of them."""

    exact: bool = Field(description="These exact bytes are held in the archive under restricted access.")
    near_duplicates: bool = Field(description="Footage matching it is held in the archive under restricted access.")
    detail: str = Field(default="held in the archive under restricted access")


class VerifyOut(BaseModel):
    model_config = ConfigDict(json_schema_extra=examples(ex.VERIFY))

    sha256: str
    exact_match: ExactMatchOut | None
    near_duplicates: list[NearDuplicateOut] = Field(description="Best first.")
    restricted: RestrictedMatchOut | None = Field(
        default=None,
        description="Matches in clips you may not see, said only where the archive is set to "
        "(VERITY_VERIFY_REVEALS_RESTRICTED); otherwise, and when there are none, null: such clips are "
        "answered as footage the archive does not hold.",
    )
    not_analysed: str | None = Field(
        default=None, description="Why the file's footage could not be compared, when it could not."
    )
    first_seen_clip_id: str | None = Field(
        default=None,
        description="Of the clips the file matches (exactly or as a copy) and their families of confirmed "
        "copies, those you may see, the one archived first; null when it matches none.",
    )


class RelatedOut(BaseModel):
    model_config = ConfigDict(json_schema_extra=examples(ex.RELATED))

    clip_id: str
    first_seen_clip_id: str = Field(description="Of this clip and its copies, the one archived first.")
    related: list[NearDuplicateOut] = Field(description="Suggested and confirmed copies, best first.")
    rejected: list[NearDuplicateOut] = Field(
        default_factory=list,
        description="Pairs an analyst rejected: no copies, listed apart so a decision can be seen.",
    )


class MatchDecisionIn(RequestBody):
    model_config = ConfigDict(json_schema_extra=examples(ex.MATCH_DECISION_IN))

    decision: MatchDecisionValue
    note: str = Field(min_length=1, max_length=NOTE_MAX, description="Why; required, kept in both clips' custody.")


class MatchDecisionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra=examples(ex.MATCH_DECISION))

    clip_id: str
    other_clip_id: str
    decision: MatchDecisionValue | None = Field(description="null: suggested, not decided yet.")
    note: str | None
    decided_by: str | None
    decided_at: datetime | None


class FamilyMemberOut(BaseModel):
    clip_id: str
    filename: str
    first_seen_at: datetime = Field(description="When the archive first received it.")
    first_seen: bool = Field(description="Of the family as shown, the one archived first.")
    verification_status: str


class FamilyOut(BaseModel):
    model_config = ConfigDict(json_schema_extra=examples(ex.FAMILY))

    clip_id: str
    first_seen_clip_id: str
    clips: list[FamilyMemberOut] = Field(description="This clip and its confirmed copies, first seen first.")


class IncidentIn(RequestBody):
    model_config = ConfigDict(json_schema_extra=examples(ex.INCIDENT_IN))

    title: str = Field(min_length=1, max_length=TITLE_MAX)
    description: str = Field(default="", max_length=DESCRIPTION_MAX)
    starts_at: datetime = Field(
        description="With a time zone; for time_precision `day`, a date alone is that day in UTC."
    )
    ends_at: datetime | None = None
    time_precision: TimePrecision = "approximate"
    place_name: str | None = Field(default=None, max_length=PLACE_MAX)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    radius_m: float | None = Field(default=None, ge=0, description="Uncertainty of the location, metres.")
    tags: list[Tag] = Field(default_factory=list, max_length=TAGS_MAX)
    case_id: str | None = Field(
        default=None,
        max_length=ID_MAX,
        description="A case to put the incident into at once (you must be a contributor there); required of "
        "a caller who is a contributor only in some cases, so it never makes an incident it cannot see.",
    )

    _day_as_date = model_validator(mode="before")(_days_as_dates)

    _zone_required = field_validator("starts_at", "ends_at")(_require_zone)


class IncidentPatch(RequestBody):
    """Fields left out keep their value; null clears ends_at, the place and the location, which
    may be unknown (send "" to clear the description)."""

    model_config = ConfigDict(json_schema_extra=examples(ex.INCIDENT_PATCH))

    title: NotNull[str] = Field(default=None, min_length=1, max_length=TITLE_MAX)
    description: NotNull[str] = Field(default=None, max_length=DESCRIPTION_MAX)
    starts_at: NotNull[datetime] = Field(
        default=None, description="A date alone is taken when the same change sets time_precision `day`."
    )
    ends_at: datetime | None = None
    time_precision: NotNull[TimePrecision] = None
    place_name: str | None = Field(default=None, max_length=PLACE_MAX)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    radius_m: float | None = Field(default=None, ge=0)
    tags: NotNull[list[Tag]] = Field(default=None, max_length=TAGS_MAX)

    _day_as_date = model_validator(mode="before")(_days_as_dates)

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

    clip_id: str = Field(max_length=ID_MAX)
    start_s: float | None = Field(default=None, ge=0)
    end_s: float | None = Field(default=None, ge=0)
    note: str | None = Field(default=None, max_length=NOTE_MAX)


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
    note: str | None = Field(default=None, max_length=NOTE_MAX)


class VerificationIn(RequestBody):
    model_config = ConfigDict(json_schema_extra=examples(ex.VERIFICATION_IN))

    status: VerificationStatus
    rationale: str = Field(min_length=1, max_length=RATIONALE_MAX, description="Why; required, kept with the change.")


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

    title: str = Field(min_length=1, max_length=TITLE_MAX)
    description: str = Field(default="", max_length=DESCRIPTION_MAX)
    status: CaseStatus = "open"


class CasePatch(RequestBody):
    """Fields left out keep their value; none of them can be null."""

    model_config = ConfigDict(json_schema_extra=examples(ex.CASE_PATCH))

    title: NotNull[str] = Field(default=None, min_length=1, max_length=TITLE_MAX)
    description: NotNull[str] = Field(default=None, max_length=DESCRIPTION_MAX)
    status: NotNull[CaseStatus] = None


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


class MemberIn(RequestBody):
    """A person's membership of a case: their role there, what else it lets them do, and until when."""

    model_config = ConfigDict(json_schema_extra=examples(ex.MEMBER_IN))

    role: Literal["viewer", "contributor", "analyst", "admin"] = Field(
        description="What they may do in the case: read (viewer), hand in footage and edit (contributor), "
        "review (analyst), manage its members (admin)."
    )
    permissions: list[Literal["download", "export", "sources"]] = Field(
        default=[],
        max_length=3,
        description="Granted one by one: take copies of originals (download), build exports (export), see who "
        "handed footage in and from where (sources).",
    )
    expires_at: datetime | None = Field(
        default=None, description="When the membership ends, with a time zone (null: it does not)."
    )

    _zone_required = field_validator("expires_at")(_require_zone)


class MemberOut(BaseModel):
    model_config = ConfigDict(json_schema_extra=examples(ex.MEMBER))

    person: str
    role: str
    permissions: list[str]
    expires_at: datetime | None
    live: bool = Field(description="Whether it grants access now (false once expires_at has passed).")
    added_by: str
    added_at: datetime

    @classmethod
    def of(cls, member: CaseMember) -> Self:
        return cls(
            person=member.person.name,
            role=member.role,
            permissions=json.loads(member.permissions),
            expires_at=member.expires_at,
            live=member.expires_at is None or member.expires_at > utcnow(),
            added_by=member.added_by,
            added_at=member.added_at,
        )


class MemberList(BaseModel):
    model_config = ConfigDict(json_schema_extra=examples(ex.MEMBER_LIST))

    case_id: str
    items: list[MemberOut]


class CasePage(BaseModel):
    model_config = ConfigDict(json_schema_extra=examples(ex.CASE_PAGE))

    items: list[CaseOut]
    total: int
    limit: int
    offset: int


class Health(BaseModel):
    model_config = ConfigDict(json_schema_extra=examples(ex.HEALTH))

    status: str = Field(description="`ok`, or `degraded` when any part below is not.")
    database: str
    object_store: str
    fixity: str = Field(
        default="ok", description="`ok`, or how many clips failed their last fixity check (GET /api/v1/fixity)."
    )


class FixityRunOut(BaseModel):
    """One fixity audit of every original, in clip id order."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    started_at: datetime
    finished_at: datetime | None = Field(description="Null while it runs (or until it resumes after a restart).")
    started_by: str
    clips_checked: int
    clips_failed: int
    bytes_read: int


class FixityFailureOut(BaseModel):
    clip_id: str
    filename: str
    checked_at: datetime | None
    problems: list[str] = Field(description="What differed, in words.")


class FixityReport(BaseModel):
    model_config = ConfigDict(json_schema_extra=examples(ex.FIXITY_REPORT))

    last_run: FixityRunOut | None = Field(description="The last finished audit; null before the first.")
    running: FixityRunOut | None = Field(description="The audit under way (or cut off, to resume), if any.")
    next_run_at: datetime = Field(description="When the schedule starts the next audit.")
    interval_s: float
    failed: int = Field(description="How many clips failed their last check.")
    failures: list[FixityFailureOut] = Field(description="Those clips, oldest failure first (at most 1000).")

    @classmethod
    def of(cls, status: AuditStatus) -> FixityReport:
        return cls(
            last_run=FixityRunOut.model_validate(status.last_run) if status.last_run else None,
            running=FixityRunOut.model_validate(status.running) if status.running else None,
            next_run_at=status.next_run_at,
            interval_s=status.interval_s,
            failed=status.failed,
            failures=[FixityFailureOut.model_validate(vars(failure)) for failure in status.failures],
        )


class FixityCheckOut(BaseModel):
    model_config = ConfigDict(json_schema_extra=examples(ex.FIXITY_CHECK))

    clip_id: str
    fixity: FixityStatus
    problems: list[str]


class ExportCreate(RequestBody):
    """What to export: exactly one of a case, an incident or a list of clips; and what to include
    beside the records and chains, which every export holds."""

    model_config = ConfigDict(json_schema_extra=examples(ex.EXPORT_IN))

    case_id: str | None = Field(default=None, max_length=ID_MAX, description="A case: its incidents and their clips.")
    incident_id: str | None = Field(default=None, max_length=ID_MAX, description="An incident and its clips.")
    clip_ids: list[Annotated[str, Field(max_length=ID_MAX)]] | None = Field(
        default=None, min_length=1, max_length=MAX_EXPORT_CLIPS, description="These clips (and their incidents)."
    )
    include_originals: bool = Field(default=True, description="The original files, named by SHA-256.")
    include_keyframes: bool = Field(default=False, description="Every keyframe JPEG (the report has one each anyway).")
    include_probe: bool = Field(default=False, description="ffprobe's raw JSON of each clip.")
    include_sources: bool = Field(
        default=False,
        description="Who handed each clip in and from where (source, source_url, received_by); needs the sources "
        'permission over all the export covers (403 otherwise). Left out ("redacted"), also from the custody '
        "chains, unless asked for; each clip's `exported` event says which.",
    )

    @model_validator(mode="after")
    def _one_scope(self) -> ExportCreate:
        given = [name for name in ("case_id", "incident_id", "clip_ids") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of case_id, incident_id, clip_ids (got {', '.join(given) or 'none'})")
        return self


class ExportOut(BaseModel):
    """An export and how far its job has come; `download_url` once it is ready."""

    model_config = ConfigDict(json_schema_extra=examples(ex.EXPORT))

    id: str
    scope: ExportScope = Field(description="case, incident or clips.")
    scope_id: str | None = Field(description="The case or incident; null for clips.")
    clip_ids: list[str] = Field(description="The clips named; once ready, the clips the bag holds.")
    include_originals: bool
    include_keyframes: bool
    include_probe: bool
    include_sources: bool = Field(description="Whether the bag carries the sources the exporter may see.")
    status: ExportStatus = Field(description="queued, running, ready or failed.")
    status_reason: str | None = Field(description="Why it failed.")
    step: str | None = Field(description="What the job is doing now: originals, records …")
    progress: float = Field(ge=0, le=1)
    bytes_written: int = Field(description="Bytes of the zip written so far.")
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    size_bytes: int | None = Field(description="The zip's size, once ready.")
    sha256: str | None = Field(description="The zip's SHA-256, once ready (also its ETag).")
    manifest_sha256: str | None = Field(description="SHA-256 of the bag's manifest-sha256.txt: what is timestamped.")
    download_url: str | None

    @classmethod
    def of(cls, export: Any) -> ExportOut:
        names = [name for name in cls.model_fields if name not in ("clip_ids", "download_url", "include_sources")]
        ready = export.status == ExportStatus.ready
        return cls.model_validate(
            {
                **{name: getattr(export, name) for name in names},
                "include_sources": export.sources is not None,
                "clip_ids": json.loads(export.clip_ids),
                "download_url": f"/api/v1/exports/{export.id}/download" if ready else None,
            }
        )
