"""The words Verity's records use, each defined once: the API's schemas and the storage code both
take them from here."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, get_args


class ClipStatus(StrEnum):
    """Where a clip's analysis stands."""

    queued = "queued"
    processing = "processing"
    ready = "ready"
    failed = "failed"
    unsupported = "unsupported"


# A clip's review, and the moves it allows from each status.
VerificationStatus = Literal["unverified", "in_review", "verified", "disputed", "rejected"]
VERIFICATION_STATUSES: tuple[VerificationStatus, ...] = get_args(VerificationStatus)
VERIFICATION_STEPS: dict[str, frozenset[str]] = {
    "unverified": frozenset({"in_review"}),
    "in_review": frozenset({"verified", "disputed", "rejected"}),
    "verified": frozenset({"in_review"}),
    "disputed": frozenset({"in_review"}),
    "rejected": frozenset({"in_review"}),
}

CaseStatus = Literal["open", "closed"]
CASE_STATUSES: tuple[CaseStatus, ...] = get_args(CaseStatus)

# How precisely an incident's start time is known.
TimePrecision = Literal["exact", "hour", "day", "approximate"]
TIME_PRECISIONS: tuple[TimePrecision, ...] = get_args(TimePrecision)


class ExportStatus(StrEnum):
    """Where an evidence export stands: waiting for its job, being built, ready to download, failed."""

    queued = "queued"
    running = "running"
    ready = "ready"
    failed = "failed"


# What an export covers: a case (its incidents and their clips), an incident, or chosen clips.
ExportScope = Literal["case", "incident", "clips"]
EXPORT_SCOPES: tuple[ExportScope, ...] = get_args(ExportScope)
