#!/usr/bin/env bash
# Set up everything the project needs on a fresh Debian machine, idempotently:
# a virtual environment in .venv with the package and its extras installed from
# pyproject.toml. Called by `make`; safe to run again (it only redoes what changed).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
EXTRAS=${EXTRAS:-dev,notebooks}
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

# Debian's Chromium, for the dashboard's browser test (Playwright drives it; its own
# `playwright install` cannot download here) and for figure export. Only as root and only
# when missing; a failure is a warning — the browser test then skips and says why.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian's chromium (for the dashboard browser test)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
      || echo "setup: warning: could not install chromium; the dashboard browser test will be skipped" >&2
  else
    echo "setup: note: chromium not found and not root; the dashboard browser test will be skipped" >&2
  fi
fi

# poppler-utils: the report tests turn PDFs into PNG/text with pdftoppm and pdftotext.
# WeasyPrint needs Pango (libpango-1.0-0, libpangoft2-1.0-0) to render PDFs.
need=""
command -v pdftoppm >/dev/null 2>&1 || need="$need poppler-utils"
ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 || need="$need libpango-1.0-0 libpangoft2-1.0-0"
if [ -n "$need" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing$need (report rendering and its tests)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null; } \
      || echo "setup: warning: could not install$need; report tests will be skipped" >&2
  else
    echo "setup: note:$need missing and not root; report tests will be skipped" >&2
  fi
fi
