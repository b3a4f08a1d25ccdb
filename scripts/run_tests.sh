#!/usr/bin/env bash
# Run the whole test suite. Servers the tests need are started and stopped by the tests'
# own fixtures, bound to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
# The letter tests read PDFs back with poppler's pdftotext and pdftoppm.
if ! command -v pdftoppm >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "run_tests: installing poppler-utils with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null
  else
    echo "run_tests: pdftoppm not found; install poppler-utils (sudo apt-get install poppler-utils)" >&2
    exit 1
  fi
fi

exec .venv/bin/python -m pytest -p no:cacheprovider --durations=15 "$@"
