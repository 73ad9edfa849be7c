#!/usr/bin/env bash
# Set everything up and start the embedded archive (SQLite + ./verity-data) on 127.0.0.1:8000.
# Extra arguments go to `verity serve`, e.g. `--port 9000`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/verity serve "$@"
