#!/usr/bin/env bash
# Run the whole test suite. Servers the tests need are started and stopped by the tests'
# own fixtures, bound to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
