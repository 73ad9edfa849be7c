"""The malloc arena cap that `verity serve` and `verity worker` set at start."""

from __future__ import annotations

from verity.memory import cap_malloc_arenas


def test_glibc_takes_the_arena_cap() -> None:
    assert cap_malloc_arenas(2) is True  # Debian's glibc: mallopt(M_ARENA_MAX) answers 1


def test_zero_leaves_the_default_alone() -> None:
    assert cap_malloc_arenas(0) is False
