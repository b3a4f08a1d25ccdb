#!/usr/bin/env bash
# Run the whole test suite. Servers the tests need are started and stopped by the tests'
# own fixtures, bound to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

# Install the Debian package that provides a missing command: with apt-get when run as
# root, otherwise stop and print the command to run.
apt_updated=no
require_command() {
  local command_name=$1 package=$2
  if command -v "$command_name" >/dev/null 2>&1; then
    return 0
  fi
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "run_tests: installing $package with apt-get"
    if [ "$apt_updated" = no ]; then
      apt-get update -qq
      apt_updated=yes
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
  else
    echo "run_tests: $command_name not found; install $package (sudo apt-get install $package)" >&2
    exit 1
  fi
}

# The letter tests read PDFs back with poppler's pdftotext and pdftoppm.
require_command pdftoppm poppler-utils
# The browser tests drive Debian's Chromium headless through Playwright.
require_command chromium chromium

exec .venv/bin/python -m pytest -p no:cacheprovider --durations=15 "$@"
