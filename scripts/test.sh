#!/usr/bin/env bash
# Set everything up and run the whole test suite: ruff (lint and format), mypy, then pytest. The
# tests start what they need themselves (a throw-away PostgreSQL cluster unless
# VERITY_TEST_POSTGRES_URL names a server, and an S3 server); see docs/testing.md. Extra arguments
# go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy verity api ingest storage
# Three processes, each module on one of them (its module-scoped fixtures built once); `-n 0` as an
# extra argument runs it in one.
exec .venv/bin/pytest -n 3 --dist loadfile "$@"
