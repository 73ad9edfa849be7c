"""The archive's typed ORM models. The schema itself only changes through `migrations/`."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        """On SQLite, the stored text (`2026-12-01 21:47:06.728794`, as SQLAlchemy writes it) is
        read by `datetime.fromisoformat`: SQLAlchemy's own parser is a regular expression in
        Python, which was most of the time of reading a custody log of 3,000 events."""
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def read(value: Any) -> datetime | None:
            if not isinstance(value, str):
                return self.process_result_value(value, dialect)
            parsed = datetime.fromisoformat(value)
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)

        return read


class Base(DeclarativeBase):
    pass


class Person(Base):
    """Someone with an account: a password (argon2 hash), maybe a TOTP second factor, and an
    archive-wide role ("none" for one who may only do what case memberships give)."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)  # None: cannot sign in
    totp_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)  # refuses a code twice
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class ApiKey(Base):
    """A key of one person: its role at most the person's, maybe narrowed to some cases
    (`KeyCase`) and to a time (`expires_at`)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    person: Mapped[Person] = relationship(lazy="joined")
    scope: Mapped[list[KeyCase]] = relationship(lazy="selectin", order_by="KeyCase.case_id")

    @property
    def case_ids(self) -> list[str]:
        """The cases the key is narrowed to; empty when it is not narrowed."""
        return [item.case_id for item in self.scope]


class KeyCase(Base):
    """One case a key is narrowed to. No foreign key to `cases`: the scope is what the key was
    given, kept when a case is deleted (a narrowed key never widens)."""

    __tablename__ = "key_cases"

    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(36), primary_key=True)


class Clip(Base):
    __tablename__ = "clips"
    # The order clips are listed in (storage/search.py), so a deep page walks an index.
    __table_args__ = (Index("ix_clips_created_at_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    filename: Mapped[str] = mapped_column(String(1024))
    content_type: Mapped[str | None] = mapped_column(String(255))
    blob_key: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20))
    status_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    ingest_step: Mapped[str | None] = mapped_column(String(50))
    ingest_progress: Mapped[float | None] = mapped_column(Float)
    # The number of the analysis that holds the clip: each claim takes the next one, and a write
    # of an analysis whose number is no longer this one is refused (storage/custody.py).
    ingest_attempt: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    verification_status: Mapped[str] = mapped_column(String(20), default="unverified")
    # Searchable copies of what the file says (see `media`): null when it does not say.
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    device_make: Mapped[str | None] = mapped_column(String(200))
    device_model: Mapped[str | None] = mapped_column(String(200))
    # The span the recorded time stands for (one instant when the file names its zone; see
    # storage/recorded.py for a time without one) and the order it sorts in.
    recorded_earliest: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorded_latest: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorded_sort_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # Declared against decoded duration and frames, decode errors, warnings (JSON, see
    # ingest/integrity.py), and how many warnings: null until the clip has been decoded.
    integrity: Mapped[str | None] = mapped_column(Text)
    integrity_warnings: Mapped[int | None] = mapped_column(Integer, index=True)
    # What the file's Content Credentials (C2PA manifest) say and whether they hold (JSON, see
    # ingest/content_credentials.py), their state (storage/vocabulary.py) and the reader's whole
    # report, verbatim: null until read (clips analysed before migration 0017).
    content_credentials: Mapped[str | None] = mapped_column(Text)
    content_credentials_state: Mapped[str | None] = mapped_column(String(20), index=True)
    content_credentials_report: Mapped[str | None] = mapped_column(Text)
    media: Mapped[str | None] = mapped_column(Text)  # normalised fields, JSON
    probe_raw: Mapped[str | None] = mapped_column(Text)  # ffprobe's JSON, verbatim
    # How the clip's last fixity check went (storage/fixity.py): unchecked, ok or failed. The
    # custody log holds every outcome; this is what is searched and counted.
    fixity_status: Mapped[str] = mapped_column(String(20), default="unchecked", server_default="unchecked", index=True)
    fixity_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Whether a browser plays the original as it is (ingest/viewing_copy.py); null until decided.
    browser_playable: Mapped[bool | None] = mapped_column(Boolean)

    acquisitions: Mapped[list[Acquisition]] = relationship(
        back_populates="clip", order_by="Acquisition.id", lazy="selectin"
    )
    # Where the trusted timestamp of the original stands; None: no authority was configured.
    timestamp: Mapped[ClipTimestamp | None] = relationship(lazy="selectin", viewonly=True)
    # The copy made for watching when a browser cannot play the original (or why it was not made).
    viewing_copy: Mapped[ViewingCopy | None] = relationship(lazy="selectin", viewonly=True)

    @property
    def duration_s(self) -> float | None:
        """The duration the file states, once probed."""
        value = json.loads(self.media).get("duration_s") if self.media else None
        return float(value) if value is not None else None


class Acquisition(Base):
    """One receipt of a clip's bytes: who handed them in, when, from where, under what name."""

    __tablename__ = "acquisitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clip_id: Mapped[str] = mapped_column(ForeignKey("clips.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_by: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(1024))
    source: Mapped[str | None] = mapped_column(Text)
    source_url: Mapped[str | None] = mapped_column(Text)
    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    # The case it was handed into (None: archive-wide); no foreign key, so a deleted case leaves it.
    case_id: Mapped[str | None] = mapped_column(String(36), index=True, default=None)

    clip: Mapped[Clip] = relationship(back_populates="acquisitions")
    corrections: Mapped[list[AcquisitionCorrection]] = relationship(
        order_by="AcquisitionCorrection.id", lazy="selectin"
    )


@event.listens_for(Acquisition, "init")
def _starts_uncorrected(_target: Acquisition, _args: Any, kwargs: dict[str, Any]) -> None:
    # A new acquisition has no corrections: say so, so reading them after its session has closed
    # (the answer to an upload) needs no load.
    kwargs.setdefault("corrections", [])


class AcquisitionCorrection(Base):
    """A mistaken acquisition field put right: the acquisition keeps what was first recorded, the
    corrections say what it is now and why. Insert-only: see storage/acquisitions.py."""

    __tablename__ = "acquisition_corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    acquisition_id: Mapped[int] = mapped_column(ForeignKey("acquisitions.id"), index=True)
    field: Mapped[str] = mapped_column(String(20))  # source, source_url, captured_at, note
    old_value: Mapped[str | None] = mapped_column(Text)  # captured_at: ISO 8601 in UTC
    new_value: Mapped[str | None] = mapped_column(Text)
    why: Mapped[str] = mapped_column(Text)
    corrected_by: Mapped[str] = mapped_column(String(100))
    corrected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CustodyEvent(Base):
    """One link of a clip's hash chain. Insert-only: see storage/custody.py."""

    __tablename__ = "custody_events"
    __table_args__ = (UniqueConstraint("clip_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clip_id: Mapped[str] = mapped_column(ForeignKey("clips.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(50))
    actor: Mapped[str] = mapped_column(String(100))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Keyframe(Base):
    """A representative frame of a clip: its time, why it was chosen, and its thumbnail."""

    __tablename__ = "keyframes"
    __table_args__ = (UniqueConstraint("clip_id", "index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clip_id: Mapped[str] = mapped_column(ForeignKey("clips.id"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    time_s: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(20))
    scene_score: Mapped[float | None] = mapped_column(Float)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    blob_key: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(Integer)
    phash: Mapped[str | None] = mapped_column(String(16))  # 64-bit pHash of the thumbnail, hex


class ViewingCopy(Base):
    """The derivative a browser can play, made when it cannot play the clip's original: an
    H.264/AAC MP4 with its own hash (`blob_key` and the rest null, with `failure`, when making it
    failed). `needed_because`: JSON list of the reasons the original needs one. Not evidence."""

    __tablename__ = "viewing_copies"

    clip_id: Mapped[str] = mapped_column(ForeignKey("clips.id"), primary_key=True)
    needed_because: Mapped[str] = mapped_column(Text)
    blob_key: Mapped[str | None] = mapped_column(String(255))
    sha256: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    content_type: Mapped[str | None] = mapped_column(String(100))
    video_codec: Mapped[str | None] = mapped_column(String(50))
    audio_codec: Mapped[str | None] = mapped_column(String(50))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    failure: Mapped[str | None] = mapped_column(Text)
    made_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempt: Mapped[int] = mapped_column(Integer)  # the analysis that made it


class StoredFingerprint(Base):
    """A clip's frame hashes, packed: sample i is at start_s + i / sample_fps. The id only grows,
    so a process can load what it has not seen yet."""

    __tablename__ = "fingerprints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clip_id: Mapped[str] = mapped_column(ForeignKey("clips.id"), unique=True)
    start_s: Mapped[float] = mapped_column(Float)
    sample_fps: Mapped[float] = mapped_column(Float)
    frame_count: Mapped[int] = mapped_column(Integer)
    hashes: Mapped[bytes] = mapped_column(LargeBinary)  # little-endian uint64 each
    centre_hashes: Mapped[bytes] = mapped_column(LargeBinary)
    informative: Mapped[bytes] = mapped_column(LargeBinary)  # one byte (0/1) per sample
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StoredAudioFingerprint(Base):
    """A clip's sound as Chromaprint values (ingest/chromaprint.py), packed: value i describes the
    sound from start_s + i * step_s. Only clips with an audio track that could be read have one;
    the id only grows, as for `fingerprints`."""

    __tablename__ = "audio_fingerprints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clip_id: Mapped[str] = mapped_column(ForeignKey("clips.id"), unique=True)
    algorithm: Mapped[int] = mapped_column(Integer)  # Chromaprint's algorithm number
    start_s: Mapped[float] = mapped_column(Float)
    step_s: Mapped[float] = mapped_column(Float)
    value_count: Mapped[int] = mapped_column(Integer)
    values: Mapped[bytes] = mapped_column(LargeBinary)  # little-endian uint32 each
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClipRelation(Base):
    """Footage shared between a clip and an earlier-archived one, found when the clip was ingested.
    Segments are in the clip's (query's) time and the related clip's time."""

    __tablename__ = "clip_relations"
    __table_args__ = (UniqueConstraint("clip_id", "related_clip_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clip_id: Mapped[str] = mapped_column(ForeignKey("clips.id"), index=True)
    related_clip_id: Mapped[str] = mapped_column(ForeignKey("clips.id"), index=True)
    score: Mapped[float] = mapped_column(Float)
    matched_seconds: Mapped[float] = mapped_column(Float)
    mirrored: Mapped[bool] = mapped_column(Boolean)
    segments: Mapped[str] = mapped_column(Text)  # JSON list of {query_start_s, clip_start_s, duration_s}
    # JSON list of what matched (storage/vocabulary.py MATCH_SIGNALS); rows from before sound: pictures.
    signals: Mapped[str] = mapped_column(String(40), default='["picture"]', server_default='["picture"]')
    found_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MatchDecision(Base):
    """An analyst's decision on a suggested pair of copies (storage/matches.py): confirmed, the two
    are one family; rejected, the pair is never suggested again. One row per unordered pair, the
    lower clip id first; a new decision replaces the row, the custody log of both keeps each."""

    __tablename__ = "match_decisions"
    __table_args__ = (
        UniqueConstraint("clip_id", "other_clip_id"),
        CheckConstraint("clip_id < other_clip_id", name="ck_match_decisions_ordered_pair"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clip_id: Mapped[str] = mapped_column(ForeignKey("clips.id"), index=True)
    other_clip_id: Mapped[str] = mapped_column(ForeignKey("clips.id"), index=True)
    decision: Mapped[str] = mapped_column(String(20))  # storage/vocabulary.py MATCH_DECISIONS
    note: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEvent(Base):
    """An action that concerns no archived clip, such as a provenance query with a file that is
    not kept. Insert-only, like the custody log."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    details: Mapped[str] = mapped_column(Text)  # canonical JSON


class HistoryEntry(Base):
    """One link of an incident's or a case's hash chain: what was done to the record, by whom, with
    what it was before. No foreign key: the history outlives the record. Insert-only: see
    storage/history.py."""

    __tablename__ = "history_entries"
    __table_args__ = (UniqueConstraint("entity_kind", "entity_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_kind: Mapped[str] = mapped_column(String(20))  # incident, case
    entity_id: Mapped[str] = mapped_column(String(36))
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(50))
    actor: Mapped[str] = mapped_column(String(100))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    details: Mapped[str] = mapped_column(Text)  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Incident(Base):
    """Something that happened at a place and time, which clips may document."""

    __tablename__ = "incidents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    time_precision: Mapped[str] = mapped_column(String(20))
    # The end of the time it covers: ends_at, or starts_at plus what its precision leaves open.
    covers_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    place_name: Mapped[str | None] = mapped_column(String(300))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    radius_m: Mapped[float | None] = mapped_column(Float)
    tags: Mapped[str] = mapped_column(Text, default="[]")  # JSON list
    version: Mapped[int] = mapped_column(Integer, default=1)  # the ETag
    # Every UPDATE and DELETE also checks and bumps it, so of two edits made from the same
    # read only the first can land (the other gets StaleDataError, then 412).
    __mapper_args__ = {"version_id_col": version}
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClipLink(Base):
    """A clip, or a segment of it, documenting an incident. Unlinking keeps the row."""

    __tablename__ = "clip_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    clip_id: Mapped[str] = mapped_column(ForeignKey("clips.id"), index=True)
    start_s: Mapped[float | None] = mapped_column(Float)
    end_s: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)
    linked_by: Mapped[str] = mapped_column(String(100))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    unlinked_by: Mapped[str | None] = mapped_column(String(100))
    unlinked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)  # the ETag
    # Every UPDATE and DELETE also checks and bumps it, so of two edits made from the same
    # read only the first can land (the other gets StaleDataError, then 412).
    __mapper_args__ = {"version_id_col": version}


class VerificationChange(Base):
    """One reviewer's change of a clip's verification status, with the reason."""

    __tablename__ = "verification_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clip_id: Mapped[str] = mapped_column(ForeignKey("clips.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    rationale: Mapped[str] = mapped_column(Text)
    reviewer: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseIncident(Base):
    __tablename__ = "case_incidents"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), primary_key=True, index=True)


class Case(Base):
    """A group of incidents: a report, a submission to an inquiry."""

    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="open")
    version: Mapped[int] = mapped_column(Integer, default=1)  # the ETag
    # Every UPDATE and DELETE also checks and bumps it, so of two edits made from the same
    # read only the first can land (the other gets StaleDataError, then 412).
    __mapper_args__ = {"version_id_col": version}
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    incident_links: Mapped[list[CaseIncident]] = relationship(lazy="selectin", cascade="all, delete-orphan")
    members: Mapped[list[CaseMember]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="CaseMember.person_id"
    )

    @property
    def incident_ids(self) -> list[str]:
        return sorted(link.incident_id for link in self.incident_links)


class CaseMember(Base):
    """A person's membership of a case: a role there, the permissions it grants of its own
    (download, export, sources; storage/access.py), and maybe an end ("until 31 March")."""

    __tablename__ = "case_members"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(20))
    permissions: Mapped[str] = mapped_column(Text, default="[]")  # JSON list
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    added_by: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    person: Mapped[Person] = relationship(lazy="joined")


class Upload(Base):
    """A resumable upload: declared with its size, received in chunks (`UploadChunk`), archived as
    a clip when the last byte arrives. The acquisition fields wait here until then."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    created_by: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(1024))
    content_type: Mapped[str | None] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    received_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    source: Mapped[str | None] = mapped_column(Text)
    source_url: Mapped[str | None] = mapped_column(Text)
    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    case_id: Mapped[str | None] = mapped_column(String(36), default=None)  # the case it is handed into
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set by the request that received the last byte while it archives the whole; a claim older
    # than the lease may be taken over (that request's process died).
    completing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    clip_id: Mapped[str | None] = mapped_column(ForeignKey("clips.id"))
    duplicate: Mapped[bool | None] = mapped_column(Boolean)
    # The whole file's SHA-256 as the client declared it (lowercase hex): the finished bytes must
    # match, and a new upload declaring it again (same caller, same size) continues this one.
    sha256: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_uploads_created_by_sha256", "created_by", "sha256"),)


class FixityRun(Base):
    """One audit of every original, in clip id order; `cursor` is the last clip it finished, so a
    run cut off by a restart resumes after it. Unfinished while `finished_at` is null."""

    __tablename__ = "fixity_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    started_by: Mapped[str] = mapped_column(String(100))
    cursor: Mapped[str | None] = mapped_column(String(36))
    clips_checked: Mapped[int] = mapped_column(Integer, default=0)
    clips_failed: Mapped[int] = mapped_column(Integer, default=0)
    bytes_read: Mapped[int] = mapped_column(BigInteger, default=0)


class UploadChunk(Base):
    """Bytes `first_byte` … `first_byte + size_bytes - 1` of an upload, accepted; `blob_key` is the
    upload's spool file (written in place) or the object they were stored as."""

    __tablename__ = "upload_chunks"
    __table_args__ = (UniqueConstraint("upload_id", "first_byte"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    upload_id: Mapped[str] = mapped_column(ForeignKey("uploads.id"))
    first_byte: Mapped[int] = mapped_column(BigInteger)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    blob_key: Mapped[str] = mapped_column(String(255))


class TimestampToken(Base):
    """A trusted timestamp (RFC 3161) over one SHA-256 digest: the authority's whole answer
    (TimeStampResp, DER) as it came, with the certificates that verify it. Insert-only."""

    __tablename__ = "timestamp_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), index=True)  # hex: the hashed message itself
    purpose: Mapped[str] = mapped_column(String(20))  # original, anchor, export …
    tsa_url: Mapped[str] = mapped_column(Text)
    gen_time: Mapped[datetime] = mapped_column(UTCDateTime)  # the time the authority asserts
    serial_number: Mapped[str] = mapped_column(String(64))  # hex; may exceed 64 bits
    token: Mapped[bytes] = mapped_column(LargeBinary)
    tsa_certs_pem: Mapped[str] = mapped_column(Text)  # embedded in the token, the signer's first
    root_pem: Mapped[str] = mapped_column(Text)  # the trusted roots they chain up to
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClipTimestamp(Base):
    """Where the trusted timestamp of a clip's original stands: pending (tried again from
    `next_attempt_at`), stamped (`token_id`) or failed (`reason`)."""

    __tablename__ = "clip_timestamps"

    clip_id: Mapped[str] = mapped_column(ForeignKey("clips.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(20))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("timestamp_tokens.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    token: Mapped[TimestampToken | None] = relationship(lazy="selectin")


class Anchor(Base):
    """One trusted timestamp over the Merkle root (verity/merkle.py) of the heads of the chains
    that moved since their last anchor. Insert-only."""

    __tablename__ = "anchors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    root: Mapped[str] = mapped_column(String(64))  # hex
    chain_count: Mapped[int] = mapped_column(Integer)
    token_id: Mapped[int] = mapped_column(ForeignKey("timestamp_tokens.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    token: Mapped[TimestampToken] = relationship(lazy="selectin")


class AnchorInclusion(Base):
    """A chain's head as one anchor covered it, with the proof from its leaf to the anchor's root.
    Insert-only."""

    __tablename__ = "anchor_inclusions"
    __table_args__ = (Index("ix_anchor_inclusions_chain", "kind", "chain_id", "length"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    anchor_id: Mapped[int] = mapped_column(ForeignKey("anchors.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # custody, incident, case
    chain_id: Mapped[str] = mapped_column(String(36))
    length: Mapped[int] = mapped_column(Integer)  # links in the chain when anchored
    head_hash: Mapped[str] = mapped_column(String(64))
    proof: Mapped[str] = mapped_column(Text)  # JSON list of {"side", "hash"}, leaf upward


class PeriodicRun(Base):
    """When a periodic task (ingest/periodic.py) last started and ended, so its schedule survives
    a restart and any process can tell when it is due."""

    __tablename__ = "periodic_runs"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class Export(Base):
    """An evidence export: what it covers (a case, an incident or chosen clips) and includes, how
    far its job has come, and once ready the BagIt zip it left in the object store."""

    __tablename__ = "exports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    scope: Mapped[str] = mapped_column(String(20))  # storage/vocabulary.py EXPORT_SCOPES
    scope_id: Mapped[str | None] = mapped_column(String(36))  # the case or incident; null for clips
    clip_ids: Mapped[str] = mapped_column(Text, default="[]")  # JSON: asked for (clips), then those included
    include_originals: Mapped[bool] = mapped_column(Boolean, default=True)
    include_keyframes: Mapped[bool] = mapped_column(Boolean, default=False)
    include_probe: Mapped[bool] = mapped_column(Boolean, default=False)
    # JSON: whose sources the bag may carry (storage/exports.py sources_scope); null: left out.
    sources: Mapped[str | None] = mapped_column(Text, default=None)
    # JSON: the cases the exporter could see when it asked; null: the whole archive.
    visible: Mapped[str | None] = mapped_column(Text, default=None)
    status: Mapped[str] = mapped_column(String(20), index=True)  # storage/vocabulary.py ExportStatus
    status_reason: Mapped[str | None] = mapped_column(Text)
    step: Mapped[str | None] = mapped_column(String(50))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    bytes_written: Mapped[int] = mapped_column(BigInteger, default=0)
    requested_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    blob_key: Mapped[str | None] = mapped_column(String(255))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))  # of the whole zip
    manifest_sha256: Mapped[str | None] = mapped_column(String(64))  # of manifest-sha256.txt: what is stamped
