#!/usr/bin/env bash
# The Airflow UI and scheduler on 127.0.0.1 with login on: API server, scheduler, DAG
# processor and triggerer, each stopped by its PID. No `airflow standalone`, because its
# log servers listen on every interface. Usage: scripts/airflow.sh start|stop|status
set -euo pipefail
cd "$(dirname "$0")/.."

eval "$(.venv/bin/python -m jobs.cli --log-level WARNING airflow-env --exports)"
run_dir="$AIRFLOW_HOME/run"
mkdir -p "$run_dir"
components=(api-server scheduler dag-processor triggerer)

command_of() {
  case "$1" in
    api-server) echo "api-server -H 127.0.0.1 -p $AIRFLOW__API__PORT" ;;
    scheduler) echo "scheduler --skip-serve-logs" ;;
    dag-processor) echo "dag-processor" ;;
    triggerer) echo "triggerer --skip-serve-logs" ;;
  esac
}

alive() {
  local pid_file="$run_dir/$1.pid"
  [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null
}

case "${1:-}" in
  start)
    airflow db migrate >"$run_dir/migrate.log" 2>&1
    for name in "${components[@]}"; do
      if alive "$name"; then
        continue
      fi
      # shellcheck disable=SC2046
      nohup airflow $(command_of "$name") >"$run_dir/$name.log" 2>&1 &
      echo $! >"$run_dir/$name.pid"
    done
    for _ in $(seq 1 120); do
      if curl -fsS "http://127.0.0.1:$AIRFLOW__API__PORT/api/v2/monitor/health" >/dev/null 2>&1; then
        break
      fi
      sleep 1
    done
    echo "Airflow UI: http://127.0.0.1:$AIRFLOW__API__PORT (user admin)"
    echo "Password: in $AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
    echo "Stop with: scripts/airflow.sh stop"
    ;;
  stop)
    for name in "${components[@]}"; do
      if alive "$name"; then
        pid=$(cat "$run_dir/$name.pid")
        kill -TERM "$pid"
        for _ in $(seq 1 30); do
          kill -0 "$pid" 2>/dev/null || break
          sleep 1
        done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
        echo "stopped $name (pid $pid)"
      fi
      rm -f "$run_dir/$name.pid"
    done
    ;;
  status)
    code=0
    for name in "${components[@]}"; do
      if alive "$name"; then
        echo "$name: running (pid $(cat "$run_dir/$name.pid"))"
      else
        echo "$name: stopped"
        code=3
      fi
    done
    exit "$code"
    ;;
  *)
    echo "usage: scripts/airflow.sh start|stop|status" >&2
    exit 2
    ;;
esac
