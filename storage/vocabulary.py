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


class StampState(StrEnum):
    """Where the trusted timestamp of a clip's original stands (`not_configured` without an authority)."""

    not_configured = "not configured"
    pending = "pending"
    stamped = "stamped"
    failed = "failed"


# The chains whose heads are anchored, as the Merkle leaves name them (verity/merkle.py).
ChainKind = Literal["custody", "incident", "case"]
