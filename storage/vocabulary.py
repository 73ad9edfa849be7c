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

# What reading a file's Content Credentials (C2PA manifest) found: ingest/content_credentials.py.
# valid: intact and signed by a certificate that chains to a configured trust anchor;
# signer_untrusted: intact, but its signer chains to no trust anchor (none configured, or not one of them);
# invalid: the manifest does not hold for this file (a hash, a signature, a certificate fails);
# malformed: something manifest-like that could not be parsed; none: no manifest;
# unsupported: a format the reader does not look in, or a manifest only pointed to (not fetched);
# not_read: not read (yet), or the trust anchors or the reader itself failed.
ContentCredentialsState = Literal[
    "valid", "signer_untrusted", "invalid", "malformed", "none", "unsupported", "not_read"
]
CONTENT_CREDENTIALS_STATES: tuple[ContentCredentialsState, ...] = get_args(ContentCredentialsState)
# The states in which the file carries a manifest (whatever its validity): `has_content_credentials`.
CREDENTIALS_PRESENT: tuple[ContentCredentialsState, ...] = ("valid", "signer_untrusted", "invalid", "malformed")
CREDENTIALS_ABSENT: tuple[ContentCredentialsState, ...] = ("none", "unsupported")
# How a clip's last fixity check went (storage/fixity.py); unchecked until its first.
FixityStatus = Literal["unchecked", "ok", "failed"]
FIXITY_STATUSES: tuple[FixityStatus, ...] = get_args(FixityStatus)


class StampState(StrEnum):
    """Where the trusted timestamp of a clip's original stands (`not_configured` without an authority)."""

    not_configured = "not configured"
    pending = "pending"
    stamped = "stamped"
    failed = "failed"


# The chains whose heads are anchored, as the Merkle leaves name them (verity/merkle.py).
ChainKind = Literal["custody", "incident", "case"]


class ExportStatus(StrEnum):
    """Where an evidence export stands: waiting for its job, being built, ready to download, failed."""

    queued = "queued"
    running = "running"
    ready = "ready"
    failed = "failed"


# What an export covers: a case (its incidents and their clips), an incident, or chosen clips.
ExportScope = Literal["case", "incident", "clips"]
EXPORT_SCOPES: tuple[ExportScope, ...] = get_args(ExportScope)

# An analyst's decision on a suggested near-duplicate pair (storage/matches.py).
MatchDecisionValue = Literal["confirmed", "rejected"]
MATCH_DECISIONS: tuple[MatchDecisionValue, ...] = get_args(MatchDecisionValue)

# What a near-duplicate was found by: its pictures, its sound, or both (ingest/audio_match.py).
MatchSignal = Literal["picture", "audio"]
MATCH_SIGNALS: tuple[MatchSignal, ...] = get_args(MatchSignal)
