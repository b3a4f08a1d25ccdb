# Two commands set up and run everything on a fresh machine: `make demo` and `make test`.
# Both bootstrap what they need (Java 17, .venv with the pinned packages) first.

PY := .venv/bin/python
export DO_NOT_TRACK := true
export MLFLOW_DISABLE_TELEMETRY := true
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export SPARK_LOCAL_IP := 127.0.0.1

.PHONY: bootstrap demo test lint

bootstrap:
	@bash scripts/bootstrap.sh

demo: bootstrap
	$(PY) -m jobs.cli demo

test: bootstrap
	bash scripts/run_tests.sh

lint: bootstrap
	.venv/bin/ruff check jobs models dags tests bench
