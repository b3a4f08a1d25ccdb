#!/usr/bin/env bash
# A Spark standalone cluster for tests: one master and two workers (1 core, 1 GiB each) from
# the pyspark package, bound to 127.0.0.1 only, with PID files and logs in var/spark-cluster/.
# Usage: scripts/spark_cluster.sh start|stop|status|url
# Environment: BOLJAM_SPARK_CLUSTER_DIR (default var/spark-cluster),
# BOLJAM_SPARK_MASTER_PORT (default 7177), BOLJAM_SPARK_WORKERS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."

root_dir=$(pwd)
base="${BOLJAM_SPARK_CLUSTER_DIR:-$root_dir/var/spark-cluster}"
master_port="${BOLJAM_SPARK_MASTER_PORT:-7177}"
worker_count="${BOLJAM_SPARK_WORKERS:-2}"
master_url="spark://127.0.0.1:$master_port"
python="${BOLJAM_PYTHON:-$root_dir/.venv/bin/python}"
start_timeout_s=90

# Every daemon, its web UI and the executors it starts bind to the loopback address.
export SPARK_LOCAL_IP=127.0.0.1
export SPARK_LOG_DIR="$base/logs"
export SPARK_PID_DIR="$base"
export PYSPARK_PYTHON="$python"
# Daemon JVM heap; executors get their memory from the worker's --memory.
export SPARK_DAEMON_MEMORY=256m
# Applications reach the master port through spark-submit, so the REST submission server is off.
export SPARK_MASTER_OPTS="-Dspark.master.rest.enabled=false"

spark_home() {
  if [ -n "${SPARK_HOME:-}" ] && [ -x "$SPARK_HOME/bin/spark-class" ]; then
    echo "$SPARK_HOME"
    return
  fi
  local bundled
  bundled=$(ls -d "$root_dir"/.venv/lib/python3*/site-packages/pyspark 2>/dev/null | head -n 1)
  if [ -n "$bundled" ] && [ -x "$bundled/bin/spark-class" ]; then
    echo "$bundled"
    return
  fi
  "$python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))'
}

# Print the PID in pid file $1 if that process is alive and is a Spark daemon.
live_pid() {
  local file="$1" pid
  [ -f "$file" ] || return 1
  pid=$(cat "$file")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # A stale PID file could name a reused PID, so check the command line too.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'org.apache.spark.deploy' || return 1
  echo "$pid"
}

# Start daemon $1 (a name) with the spark-class arguments that follow it. spark-class execs
# the JVM, so $! is the JVM's PID.
start_daemon() {
  local name="$1"
  shift
  if pid=$(live_pid "$base/$name.pid"); then
    echo "spark_cluster.sh: $name already running (pid $pid)"
    return
  fi
  nohup "$SPARK_HOME/bin/spark-class" "$@" >"$SPARK_LOG_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$base/$name.pid"
}

# Wait until $2 appears $3 times in log file $1, or fail after start_timeout_s.
wait_for_log() {
  local log="$1" pattern="$2" count="$3" waited=0
  while [ "$(grep -c -- "$pattern" "$log" 2>/dev/null || true)" -lt "$count" ]; do
    if [ "$waited" -ge $((start_timeout_s * 2)) ]; then
      echo "spark_cluster.sh: timed out after ${start_timeout_s}s waiting for '$pattern' in $log" >&2
      return 1
    fi
    sleep 0.5
    waited=$((waited + 1))
  done
}

stop_daemon() {
  local name="$1" pid
  if ! pid=$(live_pid "$base/$name.pid"); then
    rm -f "$base/$name.pid"
    echo "spark_cluster.sh: $name not running"
    return
  fi
  kill -TERM "$pid"
  for _ in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "spark_cluster.sh: $name (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL" >&2
    kill -KILL "$pid"
  fi
  rm -f "$base/$name.pid"
  echo "spark_cluster.sh: stopped $name (pid $pid)"
}

worker_names() {
  for i in $(seq 1 "$worker_count"); do
    echo "worker-$i"
  done
}

case "${1:-}" in
  start)
    SPARK_HOME=$(spark_home)
    export SPARK_HOME
    mkdir -p "$base" "$SPARK_LOG_DIR"
    # Web UI port 0 lets the OS pick a free port, so parallel test runs do not collide.
    start_daemon master org.apache.spark.deploy.master.Master \
      --host 127.0.0.1 --port "$master_port" --webui-port 0
    # Workers start alongside the master, because JVM start-up is the slow part; a worker
    # that finds no master yet retries its registration.
    for name in $(worker_names); do
      mkdir -p "$base/$name"
      start_daemon "$name" org.apache.spark.deploy.worker.Worker \
        --host 127.0.0.1 --port 0 --webui-port 0 --cores 1 --memory 1g \
        --work-dir "$base/$name" "$master_url"
    done
    # The master logs a worker again on each registration retry, so each worker's own log
    # is the one to check.
    for name in $(worker_names); do
      if ! wait_for_log "$SPARK_LOG_DIR/$name.log" "Successfully registered with master" 1; then
        "$0" stop >/dev/null || true
        exit 1
      fi
    done
    echo "spark_cluster.sh: master $master_url with $worker_count workers; logs in $SPARK_LOG_DIR"
    ;;
  stop)
    for name in $(worker_names); do
      stop_daemon "$name"
    done
    stop_daemon master
    ;;
  status)
    running=0
    for name in master $(worker_names); do
      if pid=$(live_pid "$base/$name.pid"); then
        echo "spark_cluster.sh: $name running (pid $pid)"
        running=$((running + 1))
      else
        echo "spark_cluster.sh: $name not running"
      fi
    done
    # Exit codes as in LSB init scripts: 0 when all daemons run, 3 otherwise.
    [ "$running" -eq $((worker_count + 1)) ] || exit 3
    ;;
  url)
    echo "$master_url"
    ;;
  *)
    echo "usage: scripts/spark_cluster.sh start|stop|status|url" >&2
    exit 2
    ;;
esac
