#!/usr/bin/env bash
# Set everything up and run the whole test suite: ruff, mypy, then pytest. The tests start what
# they need themselves (a throw-away PostgreSQL cluster unless VERITY_TEST_POSTGRES_URL names a
# server, and an S3 server); see docs/testing.md. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/mypy verity api ingest storage
exec .venv/bin/pytest "$@"
