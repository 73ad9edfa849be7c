#!/usr/bin/env bash
# Start the embedded archive (SQLite + ./verity-data) on 127.0.0.1:8000, installing first what
# serving needs (not the test tools) if it is missing or pyproject.toml changed: a restart needs
# no network. Extra arguments go to `verity serve`, e.g. `--port 9000`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --runtime
exec .venv/bin/verity serve "$@"
