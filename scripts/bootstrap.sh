#!/usr/bin/env bash
# Bring a fresh machine to the state `make demo` and `make test` need: Java 17, the
# virtualenv in .venv with the pinned packages of requirements.lock, and the project itself.
set -euo pipefail
cd "$(dirname "$0")/.."

have_java17() {
  command -v java >/dev/null 2>&1 && java -version 2>&1 | grep -Eq 'version "17[."]'
}

if ! have_java17; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing Java 17 (openjdk-17-jre-headless) with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
  else
    echo "bootstrap: Java 17 is required for Spark. Install it, for example:" >&2
    echo "  sudo apt-get install openjdk-17-jre-headless" >&2
    exit 1
  fi
fi

python_bin=""
for candidate in python3.11 python3; do
  if command -v "$candidate" >/dev/null 2>&1 \
     && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    python_bin=$(command -v "$candidate")
    break
  fi
done
if [ -z "$python_bin" ]; then
  echo "bootstrap: Python 3.11 is required (python3.11 or python3 at version 3.11)" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv with $python_bin"
  "$python_bin" -m venv .venv
fi

stamp=.venv/.boljam-installed
wanted=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  echo "bootstrap: installing pinned packages into .venv (about 1-2 minutes on a fresh machine)"
  if [ ! -x .venv/bin/uv ]; then
    .venv/bin/python -m pip --version >/dev/null 2>&1 || .venv/bin/python -m ensurepip -q
    .venv/bin/python -m pip install -q --disable-pip-version-check "uv==0.13.9"
  fi
  # Compiled up front: this environment may set PYTHONDONTWRITEBYTECODE, and then every
  # process (tests, Airflow tasks, Spark workers) would compile its imports again.
  VIRTUAL_ENV="$PWD/.venv" .venv/bin/uv pip install -q --compile-bytecode -r requirements.lock
  VIRTUAL_ENV="$PWD/.venv" .venv/bin/uv pip install -q --no-deps -e .
  echo "$wanted" > "$stamp"
fi
