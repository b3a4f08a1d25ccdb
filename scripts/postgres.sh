#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests: data in var/postgres, bound to 127.0.0.1 only,
# stopped by the PID in its postmaster.pid. Usage: scripts/postgres.sh start|stop|status|url
set -euo pipefail
cd "$(dirname "$0")/.."

root_dir=$(pwd)
base="${BOLJAM_PG_DIR:-$root_dir/var/postgres}"
data="$base/data"
run="$base/run"
log="$base/postgres.log"
port="${BOLJAM_PG_PORT:-55432}"
user=boljam

find_bin() {
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir
    return
  fi
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

bin=$(find_bin || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "postgres.sh: installing the Debian package postgresql" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bin=$(find_bin)
  else
    echo "postgres.sh: PostgreSQL server binaries not found; install the postgresql package" >&2
    exit 1
  fi
fi

# initdb and postgres refuse to run as root, so root runs them as the postgres account.
as_owner() {
  if [ "$(id -u)" = "0" ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pid() {
  [ -f "$data/postmaster.pid" ] && head -n 1 "$data/postmaster.pid"
}

case "${1:-}" in
  start)
    mkdir -p "$base" "$run"
    if [ "$(id -u)" = "0" ]; then
      chown postgres "$base" "$run"
      chmod 700 "$base"
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
      as_owner "$bin/initdb" -D "$data" -U "$user" --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$base/initdb.log"
    fi
    if p=$(pid) && kill -0 "$p" 2>/dev/null; then
      echo "postgres.sh: already running (pid $p) on 127.0.0.1:$port"
      exit 0
    fi
    as_owner "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $run -c fsync=off" start >/dev/null
    echo "postgres.sh: started pid $(pid) on 127.0.0.1:$port"
    ;;
  stop)
    if p=$(pid) && kill -0 "$p" 2>/dev/null; then
      kill -TERM "$p"
      for _ in $(seq 1 60); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.5
      done
      echo "postgres.sh: stopped pid $p"
    else
      echo "postgres.sh: not running"
    fi
    ;;
  status)
    if p=$(pid) && kill -0 "$p" 2>/dev/null; then
      echo "running pid $p on 127.0.0.1:$port"
    else
      echo "not running"
      exit 1
    fi
    ;;
  url)
    echo "postgresql://$user@127.0.0.1:$port/postgres"
    ;;
  *)
    echo "usage: scripts/postgres.sh start|stop|status|url" >&2
    exit 2
    ;;
esac
