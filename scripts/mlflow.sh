#!/usr/bin/env bash
# The MLflow UI on 127.0.0.1 over the project's SQLite store, stopped by its PID.
# Usage: scripts/mlflow.sh start|stop
set -euo pipefail
cd "$(dirname "$0")/.."

port="${BOLJAM_MLFLOW_PORT:-5000}"
# The store, the artifacts and the PID file all follow the active profile, so a test's
# profile (BOLJAM_PROFILE_FILE) gets its own server next to a developer's.
{
  read -r store
  read -r artifacts
  read -r var_dir
} < <(.venv/bin/python -c 'from jobs.settings import load_profile
p = load_profile()
print(p.mlflow_tracking_uri, p.mlflow_artifact_root, p.var, sep="\n")')
run_dir="$var_dir/mlflow/run"
mkdir -p "$run_dir" "$var_dir/mlflow/artifacts"
pid_file="$run_dir/mlflow.pid"

case "${1:-}" in
  start)
    if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
      echo "MLflow already running (pid $(cat "$pid_file")) on http://127.0.0.1:$port"
      exit 0
    fi
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true \
      nohup .venv/bin/mlflow server --host 127.0.0.1 --port "$port" --workers 1 \
      --backend-store-uri "$store" --default-artifact-root "$artifacts" \
      >"$run_dir/mlflow.log" 2>&1 &
    echo $! >"$pid_file"
    for _ in $(seq 1 90); do
      curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
      sleep 1
    done
    echo "MLflow UI: http://127.0.0.1:$port (stop with: scripts/mlflow.sh stop)"
    ;;
  stop)
    if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
      pid=$(cat "$pid_file")
      # The server's gunicorn or uvicorn workers are its children; end the group it leads.
      pkill -TERM -P "$pid" 2>/dev/null || true
      kill -TERM "$pid"
      echo "stopped MLflow (pid $pid)"
    fi
    rm -f "$pid_file"
    ;;
  *)
    echo "usage: scripts/mlflow.sh start|stop" >&2
    exit 2
    ;;
esac
