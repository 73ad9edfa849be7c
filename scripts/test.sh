#!/usr/bin/env bash
# Set everything up and run the whole test suite. PostgreSQL tests run when
# VERITY_TEST_POSTGRES_URL is set, S3 tests when VERITY_TEST_S3=1 (.ci/run sets both).
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/mypy verity api ingest storage
exec .venv/bin/pytest "$@"
