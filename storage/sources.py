"""Protected sources, as an answer or an export shows them: who handed footage in and from where
(an acquisition's `source`, `source_url` and `received_by`, the clip's `uploaded_by`, and what
corrections, custody events and the chain check's mismatches repeat of them) is shown only where
`storage.access.sources_visible` allows, else as "redacted". The rows and the chain keep every
value; only what is shown is redacted, here, for the API and the export alike."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from storage.access import Scope, incidents_in_cases, sources_visible
from storage.acquisitions import SOURCE_FIELDS
from storage.keys import Permission
from storage.models import Acquisition, CaseIncident
from storage.vouched import RECEIPTS, Mismatch

REDACTED = "redacted"
# Custody events that name an incident (of another case, maybe).
LINK_ACTIONS = ("linked", "unlinked", "link_changed")
# What a mismatch of an acquisition or a correction may repeat of a source (storage/vouched.py).
_MISMATCH = re.compile(r"^(acquisition|correction) (\d+) (\w+)$")
_SECRET_IN_MISMATCH = {
    "acquisition": {"source", "source_url", "received_by"},
    "correction": {"old_value", "new_value", "corrected_by"},
}


def _details(details: str | Mapping[str, Any]) -> Mapping[str, Any]:
    """An event's details as stored (JSON text) or as answered (a mapping)."""
    parsed = json.loads(details) if isinstance(details, str) else details
    return parsed if isinstance(parsed, Mapping) else {}


class Hidden:
    """The acquisitions of one clip whose sources the caller may not see, with the uploader each
    names (which a correction's author or an event's actor may repeat)."""

    def __init__(self, scope: Scope, acquisitions: Iterable[Acquisition], clip_cases: Iterable[str]) -> None:
        acquisitions = list(acquisitions)
        self.sees_all = scope.archive is not None and scope.archive.may(Permission.sources)
        self.ids = {a.id for a in acquisitions}
        self.received_by: dict[int, str] = {a.id: a.received_by for a in acquisitions if not sources_visible(scope, a)}
        self.of_correction: dict[int, int] = {c.id: a.id for a in acquisitions for c in a.corrections}
        # The clip's uploaded_by is its first acquisition's received_by.
        self.uploader = self._hidden_id(min(self.ids, default=None))
        # Incidents and cases the clip's events name that the caller may not see (`outside`).
        self.foreign_incidents: set[str] = set()
        self.foreign_cases: set[str] = set()

    def outside(self, session: Session, seen: Scope, events: Iterable[Any]) -> Hidden:
        """Also leave out the incidents (of link events) and cases (of receipts) that `events`
        name and `seen` may not see: the chain stays whole, and names nothing beyond the caller."""
        if seen.archive_wide:
            return self
        details = [(e.action, _details(e.details)) for e in events]
        incidents = {said.get("incident_id") for action, said in details if action in LINK_ACTIONS}
        cases = {said.get("case_id") for action, said in details if action in RECEIPTS}
        named = {name for name in incidents if isinstance(name, str)}
        visible = set(session.scalars(incidents_in_cases(seen.case_ids).where(CaseIncident.incident_id.in_(named))))
        self.foreign_incidents = named - visible
        self.foreign_cases = {name for name in cases if isinstance(name, str)} - seen.case_ids
        return self

    @property
    def anything(self) -> bool:
        """Whether anything of this clip is left out for the caller."""
        beyond = bool(self.foreign_incidents or self.foreign_cases)
        return beyond or (not self.sees_all and (bool(self.received_by) or self.uploader))

    def acquisition(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """An acquisition as a dict (its `id`, `received_by`, sources, `corrections` as dicts with
        `field`, `old_value`, `new_value`, `corrected_by`; the export's `as_first_recorded`)."""
        shown = dict(record)
        acquisition_id = shown.get("id")
        if not self._hidden_id(acquisition_id):
            return shown
        uploader = self.received_by.get(acquisition_id, REDACTED)  # type: ignore[arg-type]
        shown.update({"received_by": REDACTED, **{name: REDACTED for name in SOURCE_FIELDS}})
        if isinstance(shown.get("as_first_recorded"), Mapping):
            shown["as_first_recorded"] = {**shown["as_first_recorded"], **{name: REDACTED for name in SOURCE_FIELDS}}
        shown["corrections"] = [self._correction(dict(c), uploader) for c in shown.get("corrections") or []]
        return shown

    @staticmethod
    def _correction(correction: dict[str, Any], uploader: str) -> dict[str, Any]:
        if correction.get("field") in SOURCE_FIELDS:
            correction.update(old_value=REDACTED, new_value=REDACTED)
        if correction.get("corrected_by") == uploader:
            correction["corrected_by"] = REDACTED
        return correction

    def uploaded_by(self, uploaded_by: str) -> str:
        return REDACTED if self.uploader else uploaded_by

    def event(self, action: str, actor: str, details: Mapping[str, Any]) -> tuple[str, dict[str, Any], list[str]]:
        """A custody event's actor and details as shown, and the names of what was left out."""
        shown = dict(details)
        left_out: list[str] = []
        if action in LINK_ACTIONS and shown.get("incident_id") in self.foreign_incidents:
            shown["incident_id"] = REDACTED
            left_out.append("details.incident_id")
        if action in RECEIPTS and shown.get("case_id") in self.foreign_cases:
            shown["case_id"] = REDACTED
            left_out.append("details.case_id")
        if self.sees_all:
            return actor, shown, left_out
        acquisition_id = shown.get("acquisition_id")
        if action in RECEIPTS and self._hidden_id(acquisition_id):
            left_out.append("actor")
            actor = REDACTED
            for name in SOURCE_FIELDS:
                if name in shown:
                    shown[name] = REDACTED
                    left_out.append(f"details.{name}")
        elif action == "acquisition_corrected" and self._hidden_id(acquisition_id):
            if shown.get("field") in SOURCE_FIELDS:
                for name in ("old_value", "new_value"):
                    shown[name] = REDACTED
                    left_out.append(f"details.{name}")
            if actor == self.received_by.get(acquisition_id):  # type: ignore[arg-type]
                actor = REDACTED
                left_out.append("actor")
        return actor, shown, left_out

    def _hidden_id(self, acquisition_id: Any) -> bool:
        # An id naming no acquisition of the clip (an event altered, a row gone) is hidden unless
        # the caller sees every source: nothing says whose it is.
        if self.sees_all:
            return False
        return acquisition_id in self.received_by or acquisition_id not in self.ids

    def mismatch(self, mismatch: Mismatch) -> Mismatch:
        """A mismatch of the chain check as shown: the values of a hidden source left out."""
        match = _MISMATCH.match(mismatch.field)
        if match is None:
            return mismatch
        kind, row_id, name = match.group(1), int(match.group(2)), match.group(3)
        acquisition_id = row_id if kind == "acquisition" else self.of_correction.get(row_id, -1)
        if name not in _SECRET_IN_MISMATCH[kind] or not self._hidden_id(acquisition_id):
            return mismatch
        return replace(
            mismatch,
            recorded=REDACTED if mismatch.recorded is not None else None,
            found=REDACTED if mismatch.found is not None else None,
        )
