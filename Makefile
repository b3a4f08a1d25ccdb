# Two commands set up and run everything on a fresh machine: `make demo` and `make test`.
# Both bootstrap what they need (Java 17, .venv with the pinned packages) first.

PY := .venv/bin/python
export DO_NOT_TRACK := true
export MLFLOW_DISABLE_TELEMETRY := true
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export SPARK_LOCAL_IP := 127.0.0.1

.PHONY: bootstrap demo test lint airflow airflow-stop mlflow mlflow-stop docs text-quality \
	forecast-quality

bootstrap:
	@bash scripts/bootstrap.sh

# `make demo PROFILE=kz` runs the pipeline on a generated synthetic Kazakhstan instead.
PROFILE ?= $(or $(BOLJAM_PROFILE),embedded)

demo: bootstrap
	BOLJAM_PROFILE=$(PROFILE) $(PY) -m jobs.cli demo

test: bootstrap
	bash scripts/run_tests.sh

lint: bootstrap
	.venv/bin/ruff check jobs models dags tests bench

# Airflow UI, scheduler, DAG processor and triggerer on 127.0.0.1 with login on.
airflow: bootstrap
	bash scripts/airflow.sh start

airflow-stop:
	bash scripts/airflow.sh stop

# MLflow UI over var/mlflow on 127.0.0.1.
mlflow: bootstrap
	bash scripts/mlflow.sh start

mlflow-stop:
	bash scripts/mlflow.sh stop

# dbt docs of the marts, generated and served on 127.0.0.1:8580.
docs: bootstrap
	$(PY) -m jobs.cli marts docs generate
	cd var/dbt/target && ../../../.venv/bin/python -m http.server 8580 --bind 127.0.0.1

text-quality: bootstrap
	$(PY) -m jobs.cli text-quality

# Rerun the Houston, Portland and Edinburgh forecast evaluations on the real data and write
# var/forecast-quality.json. FORECAST_TARGETS selects a subset, for example
# `make forecast-quality FORECAST_TARGETS=portland_street_crimes`.
forecast-quality: bootstrap
	$(PY) -m jobs.forecast_quality $(if $(FORECAST_TARGETS),--targets $(FORECAST_TARGETS))
