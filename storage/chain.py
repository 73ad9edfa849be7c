"""What every hash chain in Verity shares (the custody log of each clip, the history of each
incident and case): a canonical serialisation, one SHA-256 link over the previous link's hash and
that serialisation, and the check that recomputes a whole chain. Changing, removing or
reordering any stored link breaks every hash after it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, event
from sqlalchemy.orm import Session

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def timestamp(moment: datetime) -> str:
    """A UTC time as it is hashed: microseconds, which every backend stores, so the hash survives
    a round trip through the database."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def link_hash(prev_hash: str, body: dict[str, Any]) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical_json(body).encode()).hexdigest()


def next_link(session: Session, last: Select[int, str]) -> tuple[int, str]:
    """The seq and previous hash of the link to add after the one `last` selects (its seq and
    hash, newest first); the first link of a chain follows the genesis hash."""
    found = session.execute(last.limit(1)).first()
    return (found[0] + 1, found[1]) if found else (0, GENESIS_HASH)


class Link(Protocol):
    @property
    def seq(self) -> int: ...
    @property
    def prev_hash(self) -> str: ...
    @property
    def hash(self) -> str: ...


L = TypeVar("L", bound=Link)


@dataclass(frozen=True)
class ChainCheck:
    verified: bool
    first_bad_seq: int | None
    reason: str | None


def verify_links(links: Sequence[L], body_of: Callable[[L], dict[str, Any]], noun: str = "event") -> ChainCheck:
    """Recompute every link of one chain, in `seq` order; `body_of` gives what a link's hash
    covers, `noun` what the reasons call a link."""
    prev_hash = GENESIS_HASH
    for expected_seq, item in enumerate(links):
        if item.seq != expected_seq:
            return ChainCheck(False, expected_seq, f"{noun} {expected_seq} is missing")
        if item.prev_hash != prev_hash:
            return ChainCheck(False, item.seq, f"{noun} {item.seq} does not follow the {noun} before it")
        if link_hash(prev_hash, body_of(item)) != item.hash:
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
