#!/usr/bin/env bash
# Install what Verity needs on a Debian machine, each part only if it is missing:
#   Debian packages: ffmpeg, libchromaprint-tools (fpcalc: the sound's fingerprint) and python3-venv,
#   and for the tests postgresql (whose binaries the tests use to start a throw-away cluster of
#   their own), openssl (a throw-away TSA), chromium (the workbench's browser tests) and espeak-ng
#   (speech for the sound-matching tests);
#   a virtualenv in .venv with Verity and its development tools, or with `--runtime` only what
#   serving needs (scripts/start.sh).
# pip runs only when pyproject.toml has changed since the last install (.venv/.verity-installed
# keeps its hash), so once installed, setting up again needs no network.
set -euo pipefail
cd "$(dirname "$0")/.."

wanted=dev
[ "${1:-}" = "--runtime" ] && wanted=runtime

missing=()
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
command -v fpcalc >/dev/null 2>&1 || missing+=(libchromaprint-tools)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv python3-pip)
if [ "$wanted" = dev ] && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  missing+=(postgresql)
fi
# The workbench's browser tests drive Debian's chromium (Playwright never downloads a browser).
if [ "$wanted" = dev ] && ! command -v chromium >/dev/null 2>&1; then
  missing+=(chromium)
fi
# The export tests run a throw-away time-stamping authority with openssl, as verify.py checks tokens.
if [ "$wanted" = dev ] && ! command -v openssl >/dev/null 2>&1; then
  missing+=(openssl)
fi
# The sound-matching tests lay generated speech under unrelated pictures.
if [ "$wanted" = dev ] && ! command -v espeak-ng >/dev/null 2>&1; then
  missing+=(espeak-ng)
fi
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "Installing Debian packages: ${missing[*]}"
  # Debian starts what it installs (postgresql's default cluster): nothing here needs it running,
  # so for this install services may not start (policy-rc.d's 101: "action forbidden").
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
fi

# The stamp says "<sha256 of pyproject.toml> <dev|runtime>"; a dev install serves runtime too.
stamp=.venv/.verity-installed
hash=$(sha256sum pyproject.toml | cut -d ' ' -f 1)
read -r installed_hash installed < "$stamp" 2>/dev/null || true
if [ "${installed_hash:-}" != "$hash" ] || { [ "$wanted" = dev ] && [ "${installed:-}" != dev ]; }; then
  rm -f "$stamp"
  if [ "$wanted" = dev ]; then
    .venv/bin/python -m pip install -q -e ".[dev]"
  else
    .venv/bin/python -m pip install -q -e .
  fi
  echo "$hash $wanted" > "$stamp"
fi
