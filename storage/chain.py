"""What every hash chain in Verity shares (the custody log of each clip, the history of each
incident and case): a canonical serialisation, one SHA-256 link over the previous link's hash and
that serialisation, and the check that recomputes a whole chain. Changing, removing or
reordering any stored link breaks every hash after it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Select, event
from sqlalchemy.orm import Session

from storage.models import utcnow

GENESIS_HASH = "0" * 64


# One encoder for every call: `json.dumps` with these options builds a new one each time, which
# was a third of hashing a link. The text is the same.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> str:
    return _CANONICAL.encode(value)


def timestamp(moment: datetime) -> str:
    """A UTC time as it is hashed: microseconds, which every backend stores, so the hash survives
    a round trip through the database."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def link_hash(prev_hash: str, body: dict[str, Any]) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical_json(body).encode()).hexdigest()


def _hashed(fields: dict[str, Any]) -> dict[str, Any]:
    """What a link's hash covers (with the previous link's hash)."""
    return {**fields, "occurred_at": timestamp(fields["occurred_at"])}


def new_link(
    session: Session,
    last: Select[int, str],
    chain: dict[str, str],
    action: str,
    actor: str,
    details: dict[str, Any],
) -> dict[str, Any]:
    """The columns of the link to add after the one `last` selects (its seq and hash, newest
    first; the first link follows the genesis hash): `chain`'s (the columns naming the chain, e.g.
    clip_id), seq, action, actor, occurred_at (now), details (canonical JSON), prev_hash, hash."""
    found = session.execute(last.limit(1)).first()
    seq, prev_hash = (found[0] + 1, found[1]) if found else (0, GENESIS_HASH)
    fields = {
        **chain,
        "seq": seq,
        "action": action,
        "actor": actor,
        "occurred_at": utcnow(),
        "details": canonical_json(details),
    }
    return {**fields, "prev_hash": prev_hash, "hash": link_hash(prev_hash, _hashed(fields))}


class Link(Protocol):
    @property
    def seq(self) -> int: ...
    @property
    def action(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def details(self) -> str: ...
    @property
    def prev_hash(self) -> str: ...
    @property
    def hash(self) -> str: ...


@dataclass(frozen=True)
class ChainCheck:
    verified: bool
    first_bad_seq: int | None
    reason: str | None


LINK_FIELDS = ("seq", "action", "actor", "occurred_at", "details")


def verify_links(links: Sequence[Link], chain: tuple[str, ...], noun: str = "event") -> ChainCheck:
    """Recompute every link of one chain, in `seq` order. `chain` names the columns that name the
    chain (as given to `new_link`), `noun` what the reasons call a link."""
    prev_hash = GENESIS_HASH
    names = (*chain, *LINK_FIELDS)
    for expected_seq, item in enumerate(links):
        if item.seq != expected_seq:
            return ChainCheck(False, expected_seq, f"{noun} {expected_seq} is missing")
        if item.prev_hash != prev_hash:
            return ChainCheck(False, item.seq, f"{noun} {item.seq} does not follow the {noun} before it")
        fields = {name: getattr(item, name) for name in names}
        fields["occurred_at"] = timestamp(fields["occurred_at"])  # as _hashed, without a copy
        if link_hash(prev_hash, fields) != item.hash:
            return ChainCheck(False, item.seq, f"{noun} {item.seq} was altered after it was recorded")
        prev_hash = item.hash
    return ChainCheck(True, None, None)


def refuse_changes(model: type[Any]) -> None:
    """Make the ORM refuse to update or delete rows of `model` (the database refuses too, by
    triggers the migrations create)."""

    def refuse(_mapper: Any, _connection: Any, target: Any) -> None:
        raise PermissionError(f"{model.__tablename__} row {target.id} is append-only")

    event.listen(model, "before_update", refuse)
    event.listen(model, "before_delete", refuse)
