"""Protected sources, as an answer or an export shows them: who handed footage in and from where
(an acquisition's `source`, `source_url` and `received_by`, the clip's `uploaded_by`, and what
corrections, custody events and the chain check's mismatches repeat of them) is shown only where
`storage.access.sources_visible` allows, else as "redacted". Beyond the sources, nothing of a case
the caller may not see is shown either: an acquisition handed into it (its filename, note, when
the footage was captured, its corrections; the clip's own filename when it was the first), a
link to one of its incidents (the incident, segment, note and who linked), an export of it (which,
and by whom), a decision on a suggested copy that is a clip beyond the caller (which clip, the
note, and who decided). The rows and the chain keep every value; only what is shown is redacted, here, for
the API and the export alike."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from storage.access import Scope, incidents_in_cases, sources_visible, visible_clip_ids
from storage.acquisitions import SOURCE_FIELDS
from storage.keys import Permission
from storage.models import Acquisition, CaseIncident
from storage.vouched import LINK_ACTIONS, MATCH_OUTCOMES, RECEIPTS, Mismatch

REDACTED = "redacted"
# Custody events that name an incident (of another case, maybe).
# What a link event of another case's incident says of it beyond its id: all of it, and its actor.
LINK_DETAILS = ("incident_id", "start_s", "end_s", "note", "before", "after")
# What a receipt or the answers say of an acquisition handed into another case, beyond its sources.
# received_at stays: the receipt event's own time says it anyway.
FOREIGN_RECEIPT = ("filename", "note", "captured_at")
FOREIGN_CORRECTION = ("old_value", "new_value", "why")
# An `exported` event of a case or incident beyond the caller: which export, of which, by whom.
EXPORT_DETAILS = ("export_id", "scope_id")
# What a decision on a suggested copy says of a copy beyond the caller: which clip, and why.
MATCH_DETAILS = ("other_clip_id", "note")
# The ingest event naming the copies the matcher found (ingest/pipeline.py).
COPIES_FOUND = "near_duplicates_found"
# What a mismatch of an acquisition or a correction may repeat of a source (storage/vouched.py).
_MISMATCH = re.compile(r"^(acquisition|correction|link|match) (\d+) (\w+)$")
_SECRET_IN_MISMATCH = {
    "acquisition": {"source", "source_url", "received_by"},
    "correction": {"old_value", "new_value", "corrected_by"},
}


def _details(details: str | Mapping[str, Any]) -> Mapping[str, Any]:
    """An event's details as stored (JSON text) or as answered (a mapping)."""
    parsed = json.loads(details) if isinstance(details, str) else details
    return parsed if isinstance(parsed, Mapping) else {}


class Hidden:
    """What of one clip the caller may not see: the acquisitions whose sources it may not see,
    with the uploader each names (which a correction's author or an event's actor may repeat),
    those handed into cases beyond `seen` (what the caller may see; the API's callers see what
    their scope says, an export's job what its exporter could: storage/exports.py seen_scope),
    and (`outside`) the incidents and cases its events name beyond `seen`."""

    def __init__(
        self,
        scope: Scope,
        acquisitions: Iterable[Acquisition],
        seen: Scope | None = None,
    ) -> None:
        acquisitions = list(acquisitions)
        seen = scope if seen is None else seen
        self.seen = seen
        self.sees_all = scope.archive_may(Permission.sources)
        self.ids = {a.id for a in acquisitions}
        self.received_by: dict[int, str] = {a.id: a.received_by for a in acquisitions if not sources_visible(scope, a)}
        self.of_correction: dict[int, int] = {c.id: a.id for a in acquisitions for c in a.corrections}
        # Acquisitions handed into a case the caller may not see: nothing of them but that they are.
        self.foreign: set[int] = set()
        if not seen.archive_wide:
            self.foreign = {a.id for a in acquisitions if a.case_id is not None and a.case_id not in seen.case_ids}
        first = min(self.ids, default=None)
        # The clip's uploaded_by is its first acquisition's received_by, its filename that one's.
        self.uploader = self._hidden_id(first) or first in self.foreign
        self.first_foreign = first in self.foreign
        # Incidents and cases the clip's events name that the caller may not see (`outside`), and
        # the links to those incidents.
        self.foreign_incidents: set[str] = set()
        self.foreign_cases: set[str] = set()
        self.foreign_links: set[int] = set()
        # Clips that decisions on suggested copies name beyond the caller, and those decisions.
        self.foreign_clips: set[str] = set()
        self.foreign_matches: set[int] = set()

    def outside(self, session: Session, events: Iterable[Any]) -> Hidden:
        """Also leave out the incidents (of link events and exports), cases (of receipts and
        exports) and clips (of decisions on copies, and copies the matcher found) that `events`
        name and `seen` may not see: the chain stays whole, and names nothing beyond the caller."""
        seen = self.seen
        if seen.archive_wide:
            return self
        details = [(e.action, _details(e.details)) for e in events]
        exports = [said for action, said in details if action == "exported"]
        incidents = {said.get("incident_id") for action, said in details if action in LINK_ACTIONS}
        incidents |= {said.get("scope_id") for said in exports if said.get("scope") == "incident"}
        cases = {said.get("case_id") for action, said in details if action in RECEIPTS}
        cases |= {said.get("scope_id") for said in exports if said.get("scope") == "case"}
        named = {name for name in incidents if isinstance(name, str)}
        visible = set(session.scalars(incidents_in_cases(seen.case_ids).where(CaseIncident.incident_id.in_(named))))
        self.foreign_incidents = named - visible
        self.foreign_cases = {name for name in cases if isinstance(name, str)} - seen.case_ids
        self.foreign_links = {
            said["link_id"]
            for action, said in details
            if action in LINK_ACTIONS and isinstance(said.get("link_id"), int) and self._foreign_link(said)
        }
        matches = [said for action, said in details if action in MATCH_OUTCOMES]
        copies = {said.get("other_clip_id") for said in matches}
        for action, said in details:
            if action == COPIES_FOUND and isinstance(said.get("clips"), list):
                copies.update(said["clips"])
        named_copies = {name for name in copies if isinstance(name, str)}
        self.foreign_clips = named_copies - visible_clip_ids(session, seen, named_copies)
        self.foreign_matches = {
            said["decision_id"]
            for said in matches
            if isinstance(said.get("decision_id"), int) and said.get("other_clip_id") in self.foreign_clips
        }
        return self

    @property
    def anything(self) -> bool:
        """Whether anything of this clip is left out for the caller."""
        beyond = bool(self.foreign or self.foreign_incidents or self.foreign_cases or self.foreign_clips)
        return beyond or (not self.sees_all and (bool(self.received_by) or self.uploader))

    def acquisition(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """An acquisition as a dict (its `id`, `received_by`, `filename`, sources, `note`,
        `captured_at`, `corrections` as dicts with `field`, `old_value`, `new_value`, `why`,
        `corrected_by`; the export's `as_first_recorded`). One of another case keeps its id and
        received_at; its captured_at is null, its text "redacted"."""
        shown = dict(record)
        acquisition_id = shown.get("id")
        foreign = acquisition_id in self.foreign
        if not foreign and not self._hidden_id(acquisition_id):
            return shown
        uploader = self.received_by.get(acquisition_id, REDACTED)  # type: ignore[arg-type]
        hidden: dict[str, str | None] = {"received_by": REDACTED, **{name: REDACTED for name in SOURCE_FIELDS}}
        if foreign:
            hidden.update(filename=REDACTED, note=REDACTED, captured_at=None)
        shown.update(hidden)
        if isinstance(shown.get("as_first_recorded"), Mapping):
            first = dict(shown["as_first_recorded"])
            first.update({name: value for name, value in hidden.items() if name in first})
            shown["as_first_recorded"] = first
        shown["corrections"] = [self._correction(dict(c), uploader, foreign) for c in shown.get("corrections") or []]
        return shown

    @staticmethod
    def _correction(correction: dict[str, Any], uploader: str, foreign: bool) -> dict[str, Any]:
        if foreign:
            correction.update(old_value=REDACTED, new_value=REDACTED, why=REDACTED, corrected_by=REDACTED)
        if correction.get("field") in SOURCE_FIELDS:
            correction.update(old_value=REDACTED, new_value=REDACTED)
        if correction.get("corrected_by") == uploader:
            correction["corrected_by"] = REDACTED
        return correction

    def uploaded_by(self, uploaded_by: str) -> str:
        return REDACTED if self.uploader else uploaded_by

    def filename(self, filename: str) -> str:
        """The clip's filename as shown: its first acquisition's, left out when that one was handed
        into a case the caller may not see."""
        return REDACTED if self.first_foreign else filename

    def event(self, action: str, actor: str, details: Mapping[str, Any]) -> tuple[str, dict[str, Any], list[str]]:
        """A custody event's actor and details as shown, and the names of what was left out."""
        shown = dict(details)
        left_out: list[str] = []

        def leave_out(*names: str) -> None:
            for name in names:
                if name in shown:
                    shown[name] = REDACTED
                    left_out.append(f"details.{name}")

        anonymous = False
        acquisition_id = shown.get("acquisition_id")
        if action in LINK_ACTIONS and self._foreign_link(shown):
            leave_out(*LINK_DETAILS)
            anonymous = True
        if action == "exported" and self._foreign_export(shown):
            leave_out(*EXPORT_DETAILS)
            anonymous = True
        if action in MATCH_OUTCOMES and shown.get("other_clip_id") in self.foreign_clips:
            leave_out(*MATCH_DETAILS)
            anonymous = True
        found = shown.get("clips") if action == COPIES_FOUND else None
        if isinstance(found, list) and any(clip_id in self.foreign_clips for clip_id in found):
            leave_out("clips", "count")  # which copies the matcher found, and how many, are beyond the caller
        foreign_receipt = action in RECEIPTS and (
            acquisition_id in self.foreign or shown.get("case_id") in self.foreign_cases
        )
        if action in RECEIPTS and shown.get("case_id") in self.foreign_cases:
            leave_out("case_id")
        if action == "acquisition_corrected" and acquisition_id in self.foreign:
            leave_out(*FOREIGN_CORRECTION)
            anonymous = True
        if not self.sees_all:
            if action in RECEIPTS and self._hidden_id(acquisition_id):
                anonymous = True
                leave_out(*SOURCE_FIELDS)
            elif action == "acquisition_corrected" and self._hidden_id(acquisition_id):
                if shown.get("field") in SOURCE_FIELDS:
                    leave_out("old_value", "new_value")
                if actor == self.received_by.get(acquisition_id):  # type: ignore[arg-type]
                    anonymous = True
        if foreign_receipt:
            anonymous = True
            leave_out(*FOREIGN_RECEIPT)
        if anonymous:
            actor = REDACTED
            left_out.insert(0, "actor")
        return actor, shown, left_out

    def _foreign_link(self, details: Mapping[str, Any]) -> bool:
        return details.get("incident_id") in self.foreign_incidents

    def _foreign_export(self, details: Mapping[str, Any]) -> bool:
        scope, scope_id = details.get("scope"), details.get("scope_id")
        return (scope == "case" and scope_id in self.foreign_cases) or (
            scope == "incident" and scope_id in self.foreign_incidents
        )

    def _hidden_id(self, acquisition_id: Any) -> bool:
        # An id naming no acquisition of the clip (an event altered, a row gone) is hidden unless
        # the caller sees every source: nothing says whose it is.
        if self.sees_all:
            return False
        return acquisition_id in self.received_by or acquisition_id not in self.ids

    def mismatch(self, mismatch: Mismatch) -> Mismatch:
        """A mismatch of the chain check as shown: the values of a hidden source left out, and any
        value of an acquisition, its corrections or a link of a case beyond the caller."""
        match = _MISMATCH.match(mismatch.field)
        if match is None:
            return mismatch
        kind, row_id, name = match.group(1), int(match.group(2)), match.group(3)
        if kind == "link":
            if row_id not in self.foreign_links:
                return mismatch
        elif kind == "match":
            if row_id not in self.foreign_matches:
                return mismatch
        else:
            acquisition_id = row_id if kind == "acquisition" else self.of_correction.get(row_id, -1)
            beyond = acquisition_id in self.foreign
            if not beyond and (name not in _SECRET_IN_MISMATCH[kind] or not self._hidden_id(acquisition_id)):
                return mismatch
        return replace(
            mismatch,
            recorded=REDACTED if mismatch.recorded is not None else None,
            found=REDACTED if mismatch.found is not None else None,
        )
