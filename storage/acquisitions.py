"""Corrections of acquisitions. What a person said when handing a file in (its source, where it
was found, when it was recorded, a note) is kept as first recorded; a mistake in it is put right by
an appended correction, which says who, when, the value before and after, and why, and is also an
event in the clip's custody log. The acquisition's current value is its last correction's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.access import Grant, Scope
from storage.chain import refuse_changes
from storage.custody import append_event
from storage.keys import Role
from storage.models import Acquisition, AcquisitionCorrection
from verity.errors import Forbidden, InvalidInput, NotFound

CORRECTABLE_FIELDS = ("source", "source_url", "captured_at", "note")
# The correctable fields that say who footage came from or where: protected (storage/sources.py).
SOURCE_FIELDS = ("source", "source_url")
Value = str | datetime | None


def as_stored(value: Value) -> str | None:
    """A field's value as a correction keeps it: text, or a time as ISO 8601 in UTC."""
    return value.isoformat() if isinstance(value, datetime) else value


def _as_read(field: str, stored: str | None) -> Value:
    if field == "captured_at" and stored is not None:
        return datetime.fromisoformat(stored)
    return stored


def current_values(acquisition: Acquisition) -> dict[str, Any]:
    """The acquisition's correctable fields as they stand: as recorded, then each correction in order."""
    values: dict[str, Any] = {field: getattr(acquisition, field) for field in CORRECTABLE_FIELDS}
    for correction in acquisition.corrections:
        values[correction.field] = _as_read(correction.field, correction.new_value)
    return values


def load_acquisition(session: Session, clip_id: str, acquisition_id: int, *, lock: bool = False) -> Acquisition:
    query = select(Acquisition).where(Acquisition.id == acquisition_id, Acquisition.clip_id == clip_id)
    acquisition = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if acquisition is None:
        raise NotFound(f"clip {clip_id} has no acquisition {acquisition_id}")
    return acquisition


def grant_on_acquisition(scope: Scope, acquisition: Acquisition, on_clip: Grant) -> Grant:
    """The caller's grant over one acquisition of a clip it sees (`on_clip`: its grant on the
    clip): its grant in the case the acquisition was handed into, which guards it (404 as for an
    unknown acquisition when the caller may not see that case), or `on_clip` for one handed in
    archive-wide. A clip in two cases does not let one case's members change the other's."""
    if acquisition.case_id is None:
        return on_clip
    grant = scope.in_case(acquisition.case_id)
    if grant is None or not grant.allows(Role.viewer):
        raise NotFound(f"clip {acquisition.clip_id} has no acquisition {acquisition.id}")
    if not grant.allows(Role.contributor):
        held = grant.role.value
        raise Forbidden(f"correcting this acquisition needs the contributor role in its case; you hold {held}")
    return grant


def correct_acquisition(
    session: Session,
    clip_id: str,
    acquisition_id: int,
    field: str,
    value: Value,
    why: str,
    actor: str,
    *,
    may_correct_others: bool,
    sees_sources: Callable[[Acquisition], bool] = lambda _acquisition: True,
) -> AcquisitionCorrection:
    """Append a correction of `field` to `value` (None clears it) in the caller's transaction, with
    its custody event. The key that handed the file in may correct its own acquisition; another
    key needs `may_correct_others`, and to correct a source, to see it (`sees_sources`): nobody
    overwrites a source blind, or learns it from the refusal. The acquisition's row is locked
    first, so two corrections at once each see the other's value as the one before."""
    if field not in CORRECTABLE_FIELDS:
        raise InvalidInput(f"{field} cannot be corrected; the fields are {', '.join(CORRECTABLE_FIELDS)}")
    why = why.strip()
    if not why:
        raise InvalidInput("say why the value is corrected")
    acquisition = load_acquisition(session, clip_id, acquisition_id, lock=True)
    own = acquisition.received_by == actor
    sees = own or sees_sources(acquisition)
    if not own and not may_correct_others:
        uploader = f" ({acquisition.received_by})" if sees else ""
        raise Forbidden(f"only the key that handed the file in{uploader} or an analyst may correct this acquisition")
    if field in SOURCE_FIELDS and not sees:
        raise Forbidden(f"correcting {field} needs the sources permission over this acquisition")
    old_value = as_stored(current_values(acquisition)[field])
    new_value = as_stored(value)
    if new_value == old_value:
        # A protected value is named only to whom may read it (the uploader itself may not).
        readable = field not in SOURCE_FIELDS or sees_sources(acquisition)
        said = f" {old_value!r}" if readable else " the value given"
        raise InvalidInput(f"{field} already is{said}" if old_value is not None else f"{field} is already empty")
    correction = AcquisitionCorrection(
        field=field, old_value=old_value, new_value=new_value, why=why, corrected_by=actor
    )
    acquisition.corrections.append(correction)
    session.flush()
    append_event(
        session,
        clip_id,
        "acquisition_corrected",
        actor,
        {
            "acquisition_id": acquisition.id,
            "correction_id": correction.id,
            "field": field,
            "old_value": old_value,
            "new_value": new_value,
            "why": why,
        },
    )
    return correction


refuse_changes(AcquisitionCorrection)
