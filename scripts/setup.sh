#!/usr/bin/env bash
# Set up everything the project needs on a fresh Debian machine, idempotently:
# a virtual environment in .venv with the package and its extras installed from
# pyproject.toml. Called by `make`; safe to run again (it only redoes what changed).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
EXTRAS=${EXTRAS:-dev}
STAMP=.venv/.installed-$(echo "$EXTRAS" | tr ',' '-')

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  echo "setup: installing recovery-toolkit[$EXTRAS] into .venv"
  .venv/bin/python -m pip install --quiet --upgrade pip >/dev/null
  .venv/bin/python -m pip install --quiet -e ".[$EXTRAS]"
  touch "$STAMP"
fi
