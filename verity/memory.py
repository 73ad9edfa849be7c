"""Process-wide memory set-up for the long-running commands (`serve`, `worker`)."""

from __future__ import annotations

import ctypes
import ctypes.util

M_ARENA_MAX = -8  # glibc's <malloc.h>


def cap_malloc_arenas(arenas: int) -> bool:
    """Let glibc's malloc keep at most `arenas` arenas, for threads created from now on; True if
    it took. glibc gives each thread that allocates concurrently an arena of its own, up to
    8 × cores, and each keeps the high-water mark of what its thread once held: with a hundred
    request and upload threads RSS grows with the thread count rather than with the work (a
    scaled server under issue 9's load peaked at 591 MiB, 464 MiB with two arenas). 0 leaves
    glibc's default; other C libraries are left alone."""
    if arenas <= 0:
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_ARENA_MAX, arenas))
