"""Failed sign-ins counted per account and per client address over a sliding window: past a
limit, sign-ins are refused (429) until the oldest failure ages out. Kept in the API process,
like the provenance query slots (ingest/verify.py): each process counts on its own."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from verity.errors import TooManyRequests

# Past this many tracked names and addresses, those with no failure in the window are dropped.
TRACKED_MAX = 10_000


class SignInLimit:
    def __init__(
        self,
        per_account: int,
        per_address: int,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = {"account": per_account, "address": per_address}
        self._window_s = window_s
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, account: str, address: str) -> None:
        """Raise `TooManyRequests` if either the account or the address has used up its failures."""
        now = self._clock()
        with self._lock:
            for kind, value in (("account", account), ("address", address)):
                failures = self._recent(kind, value, now)
                if len(failures) >= self._limits[kind]:
                    wait = max(1, math.ceil(failures[0] + self._window_s - now))
                    raise TooManyRequests(
                        f"too many failed sign-ins for this {kind}; try again in {wait} s", retry_after_s=wait
                    )

    def failed(self, account: str, address: str) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) > TRACKED_MAX:
                for tracked in list(self._failures):
                    self._recent(*tracked, now)
            for tracked in (("account", account), ("address", address)):
                self._failures.setdefault(tracked, deque()).append(now)

    def succeeded(self, account: str) -> None:
        """A right password clears the account's failures (not the address's: one address may try many)."""
        with self._lock:
            self._failures.pop(("account", account), None)

    def _recent(self, kind: str, value: str, now: float) -> deque[float]:
        failures = self._failures.get((kind, value), deque())
        while failures and failures[0] <= now - self._window_s:
            failures.popleft()
        if not failures:
            self._failures.pop((kind, value), None)
        return failures
