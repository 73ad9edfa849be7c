"""Request and response models of the HTTP API."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from storage.keys import Role


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


class ClipOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "6f1c3d2e-8a4b-4f0e-9a51-0d7f3c1b2a99",
                "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                "size_bytes": 10485760,
                "filename": "VID_20191116_141502.mp4",
                "status": "ready",
            }
        },
    )

    id: str
    sha256: str
    size_bytes: int
    filename: str
    content_type: str | None
    status: str
    status_reason: str | None
    created_at: datetime
    uploaded_by: str
    acquisitions: list[AcquisitionOut]
    ingest: IngestProgress
    media: dict[str, Any] | None = Field(
        description="Normalised ffprobe fields (container, duration_s, video, audio, rotation, creation_time, "
        "location, device, encoder); null until probed. Missing values are null."
    )

    @classmethod
    def of(cls, clip: Any) -> ClipOut:
        return cls.model_validate(
            {
                **{name: getattr(clip, name) for name in cls.model_fields if hasattr(clip, name) and name != "media"},
                "acquisitions": [AcquisitionOut.model_validate(a) for a in clip.acquisitions],
                "ingest": IngestProgress(step=clip.ingest_step, progress=clip.ingest_progress),
                "media": json.loads(clip.media) if clip.media else None,
            }
        )


class UploadOut(ClipOut):
    duplicate: bool = Field(description="True when these exact bytes were already archived.")


class ClipPage(BaseModel):
    items: list[ClipOut]
    total: int
    limit: int
    offset: int


class CustodyEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    action: str
    actor: str
    occurred_at: datetime
    details: dict[str, Any]
    prev_hash: str
    hash: str

    @field_validator("details", mode="before")
    @classmethod
    def _parse_details(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value


class CustodyLog(BaseModel):
    clip_id: str
    verified: bool = Field(description="Whether every event's hash recomputes and links to the one before.")
    first_bad_seq: int | None
    reason: str | None
    events: list[CustodyEventOut]


class KeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100, examples=["field-team-tehran"])
    role: Role


class KeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None


class KeyCreated(KeyOut):
    key: str = Field(description="The secret. Shown once; only its hash is stored.")


class KeyframeOut(BaseModel):
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


class ExactMatchOut(BaseModel):
    clip: ClipOut
    first_acquisition: AcquisitionOut
    acquisitions: list[AcquisitionOut]
    custody_verified: bool


class VerifyOut(BaseModel):
    sha256: str
    exact_match: ExactMatchOut | None
    near_duplicates: list[NearDuplicateOut] = Field(description="Best first.")
    not_analysed: str | None = Field(
        default=None, description="Why the file's footage could not be compared, when it could not."
    )


class RelatedOut(BaseModel):
    clip_id: str
    first_seen_clip_id: str = Field(description="Of this clip and its copies, the one archived first.")
    related: list[NearDuplicateOut]


class Health(BaseModel):
    status: str
    database: str
    object_store: str
