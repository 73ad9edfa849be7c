"""Moments as Verity keeps them: with a time zone, stored and answered in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from verity.errors import InvalidInput

ZONE_EXAMPLE = "e.g. 2019-11-16T14:15:00+03:30 or 2019-11-16T10:45:00Z"


def to_utc(moment: datetime, name: str) -> datetime:
    """`moment` in UTC. One without a zone is refused (guessing one would shift it by hours), and
    so is one whose UTC form falls outside the years 1–9999 (0001-01-01T00:00+01:00, say)."""
    if moment.tzinfo is None:
        raise InvalidInput(f"{name} needs a time zone, {ZONE_EXAMPLE}")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(f"{name} {moment.isoformat()} is outside the years 1 to 9999 in UTC") from None
