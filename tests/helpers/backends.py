"""Marks for tests that apply to one backend only: they are collected for that backend alone
(instead of being collected for every backend and skipped on the others)."""

from __future__ import annotations

import pytest

# SQLite takes one writer at a time: two transactions cannot interleave there.
postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

# Only a local folder keeps a resumable upload's bytes in one spool file (see storage/spool.py);
# an S3 store keeps every chunk as an object of its own.
embedded_only = pytest.mark.parametrize("archive", ["embedded"], indirect=True)
