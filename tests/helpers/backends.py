"""Marks for tests that apply to one backend only: they are collected for that backend alone
(instead of being collected for every backend and skipped on the others)."""

from __future__ import annotations

import pytest

# SQLite takes one writer at a time: two transactions cannot interleave there.
postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

# Only a local folder keeps a resumable upload's bytes in one spool file (see storage/spool.py);
# an S3 store keeps every chunk as an object of its own.
embedded_only = pytest.mark.parametrize("archive", ["embedded"], indirect=True)

# What only a second process can do to an archive: an embedded one has a single owner process.
scaled_only = pytest.mark.parametrize("archive", [pytest.param("scaled", marks=pytest.mark.slow)], indirect=True)

# Only S3 has multipart uploads; a folder's unfinished files are staging files.
s3_only = pytest.mark.parametrize("blob_settings", [pytest.param("s3", marks=pytest.mark.slow)], indirect=True)
