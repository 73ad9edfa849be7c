"""A case's incidents on a timeline, drawn as inline SVG (no script, no style attribute): each
incident a bar from its start to the end of the time it covers (its end, or its start plus what
its precision leaves open: storage/evidence.py `covers_until`), in rows by start time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from api.web.render import in_utc
from storage.models import Incident

WIDTH = 1000  # the drawing's own units; it scales to the page
ROW = 34
AXIS = 30
LEAST_BAR = 6  # an exact moment still shows
PRECISION_WORDS = {
    "exact": "exact time",
    "hour": "known to the hour",
    "day": "known to the day",
    "approximate": "approximate",
}


@dataclass(frozen=True)
class Bar:
    incident_id: str
    title: str
    x: float
    width: float
    y: float
    label_x: float
    label_anchor: str  # where the title stands: after the bar's start, or before its end
    span: str  # the time it covers, in words


@dataclass(frozen=True)
class Timeline:
    bars: list[Bar]
    height: int
    starts: str
    ends: str
    axis_y: int


def _span(incident: Incident, ends: datetime) -> str:
    words = PRECISION_WORDS.get(incident.time_precision, incident.time_precision)
    if ends == incident.starts_at:
        return f"{in_utc(incident.starts_at)} ({words})"
    return f"{in_utc(incident.starts_at)} to {in_utc(ends)} ({words})"


def timeline(incidents: Sequence[Incident]) -> Timeline | None:
    """The incidents (in the order given) as bars over the span they cover together."""
    if not incidents:
        return None
    ends = {incident.id: incident.covers_until or incident.starts_at for incident in incidents}
    first = min(incident.starts_at for incident in incidents)
    last = max(ends.values())
    span = max(last - first, timedelta(minutes=1))
    bars = []
    for row, incident in enumerate(incidents):
        x = (incident.starts_at - first) / span * WIDTH
        width = max((ends[incident.id] - incident.starts_at) / span * WIDTH, LEAST_BAR)
        x = min(x, WIDTH - width)
        before_end = x > WIDTH / 2
        bars.append(
            Bar(
                incident_id=incident.id,
                title=incident.title,
                x=round(x, 1),
                width=round(width, 1),
                y=row * ROW + 16,
                label_x=round(x + width if before_end else x, 1),
                label_anchor="end" if before_end else "start",
                span=_span(incident, ends[incident.id]),
            )
        )
    axis_y = len(incidents) * ROW + 8
    return Timeline(bars, axis_y + AXIS, in_utc(first), in_utc(last), axis_y)
