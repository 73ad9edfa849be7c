"""When a clip was recorded, by the file's own clock, and the rule for times that name no zone.

A camera clock often writes local time with no zone (AVI files always do). Such a time is kept as
written and stands for every instant it could be under some zone from UTC−12 to UTC+14: a time
search matches it when that span overlaps the range asked for, and the answer says the zone is
unknown. Sorting uses the clock reading as if it were UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# The zones in use on Earth: UTC−12 (Baker Island) to UTC+14 (Line Islands).
WEST_MOST = timedelta(hours=12)
EAST_MOST = timedelta(hours=14)


@dataclass(frozen=True)
class RecordedTime:
    as_written: str  # ISO 8601, `Z` when the zone is known, no zone otherwise
    zone_known: bool
    at: datetime | None  # the instant, in UTC, when the zone is known
    earliest: datetime  # UTC: the span the time can stand for
    latest: datetime
    sort_at: datetime  # UTC: the instant, or the clock reading taken as UTC


def recorded_time(text: str | None) -> RecordedTime | None:
    """The rule applied to a normalised creation time (see `ingest.probe.parse_time`); None when
    there is none, or it lies so near the calendar's ends that the span cannot be formed."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
            return RecordedTime(text, True, moment, moment, moment, moment)
        wall = moment.replace(tzinfo=UTC)
        return RecordedTime(text, False, None, wall - EAST_MOST, wall + WEST_MOST, wall)
    except (ValueError, OverflowError):
        return None
