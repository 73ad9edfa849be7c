"""Answers that show acquisitions, built for one caller: a clip, its acquisitions and its custody
log with the sources it may not see redacted (storage/sources.py). Every route that shows a clip
builds it here, never with `ClipOut.of` alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy.orm import Session

from api.schemas import AcquisitionOut, AnchoredHeadOut, ClipOut, CustodyEventOut, CustodyLog, MismatchOut
from storage.access import Scope
from storage.anchors import newest_anchored_head
from storage.custody import StoredEvent
from storage.models import Clip
from storage.sources import Hidden
from storage.vouched import CustodyCheck, check_custody


def hidden_of(clip: Clip, scope: Scope) -> Hidden:
    """What of `clip` the caller may not see."""
    return Hidden(scope, clip.acquisitions)


def clip_answer(clip: Clip, hidden: Hidden) -> ClipOut:
    """The clip as `hidden`'s caller may see it."""
    answer = ClipOut.of(clip)
    if not hidden.anything:
        return answer
    shown = {
        "filename": hidden.filename(clip.filename),
        "uploaded_by": hidden.uploaded_by(clip.uploaded_by),
        "acquisitions": acquisitions_answer(clip, hidden),
    }
    return answer.model_copy(update=shown)


def clip_out(clip: Clip, scope: Scope) -> ClipOut:
    return clip_answer(clip, hidden_of(clip, scope))


def clip_outs(clips: Sequence[Clip], scope: Scope) -> list[ClipOut]:
    return [clip_answer(clip, hidden_of(clip, scope)) for clip in clips]


def acquisitions_answer(clip: Clip, hidden: Hidden) -> list[AcquisitionOut]:
    shown = [AcquisitionOut.model_validate(a) for a in clip.acquisitions]
    if not hidden.anything:
        return shown
    return [AcquisitionOut.model_validate(hidden.acquisition(a.model_dump())) for a in shown]


def custody_answer(
    events: Sequence[StoredEvent], check: CustodyCheck, hidden: Hidden
) -> tuple[list[CustodyEventOut], CustodyCheck]:
    """The custody log's events and chain check as shown: the check ran on what is stored (so
    `verified` is the stored chain's), only the values it shows of a hidden source are left out."""
    shown = [CustodyEventOut.model_validate(event) for event in events]
    if not hidden.anything:
        return shown, check
    redacted = []
    for event in shown:
        actor, details, left_out = hidden.event(event.action, event.actor, event.details)
        redacted.append(event.model_copy(update={"actor": actor, "details": details}) if left_out else event)
    return redacted, replace(check, mismatches=[hidden.mismatch(m) for m in check.mismatches])


def custody_log_of(session: Session, clip: Clip, scope: Scope, *, shown: slice = slice(None)) -> CustodyLog:
    """The clip's custody log and chain check, as the caller may see them; `shown`: the stretch of
    its events to answer with (the workbench shows a page of a long log). The check and what is
    redacted are always of the whole chain."""
    events, check = check_custody(session, clip)
    hidden = hidden_of(clip, scope).outside(session, events)
    answered, check = custody_answer(events[shown], check, hidden)
    return CustodyLog(
        clip_id=clip.id,
        verified=check.verified,
        first_bad_seq=check.first_bad_seq,
        reason=check.reason,
        mismatches=[MismatchOut.model_validate(m) for m in check.mismatches],
        events=answered,
        anchored=AnchoredHeadOut.of(newest_anchored_head(session, "custody", clip.id)),
    )
