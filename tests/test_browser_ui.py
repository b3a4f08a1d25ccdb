"""The Airflow, MLflow and dbt docs UIs and the HTML report, checked in a real browser.

Debian's Chromium runs headless through Playwright (the system browser, nothing is
downloaded) over the outputs of the shared ``pipeline_run`` fixture. Every request to a
host other than 127.0.0.1 or localhost is aborted, and the report page may make no HTTP
request at all. Screenshots go to var/screenshots/ of the project.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from jobs.settings import PROJECT_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHROMIUM = Path(os.environ.get("BOLJAM_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOOPBACK_HOSTS = {"127.0.0.1", "localhost"}
SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"
# One DAG per file in dags/, each named as its DAG id.
DAG_IDS = sorted(path.stem for path in (PROJECT_ROOT / "dags").glob("boljam_*.py"))
MART_MODELS = sorted(path.stem for path in (PROJECT_ROOT / "dbt/models/marts").glob("*.sql"))
# The DAG that the browser triggers: one dbt build task and two text tasks. The whole
# pipeline is too slow here, because boljam_ingest alone runs 18 tasks, each in a new
# process that imports Great Expectations. It took about three minutes on a busy
# two-core machine.
TRIGGERED_DAG = "boljam_transform"
RUN_TIMEOUT_SECONDS = 420
SERVER_TIMEOUT_SECONDS = 300


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def screenshot(page, name: str, **options) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), **options)
    return path


@pytest.fixture(scope="module")
def pipeline_env(pipeline_run) -> dict[str, str]:
    """Environment that points the project's scripts at the shared pipeline run."""
    return {
        **os.environ,
        "BOLJAM_PROFILE_FILE": str(pipeline_run.profile_file),
        "BOLJAM_TASK_RETRIES": "0",
    }


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A headless Chromium with a fresh profile; yields (context, blocked request URLs)."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; install the Debian package chromium")
    blocked: list[str] = []

    def allow_loopback_only(route):
        url = route.request.url
        if url.startswith(("http://", "https://")) and urlparse(url).hostname not in (
            LOOPBACK_HOSTS
        ):
            blocked.append(url)
            route.abort()
        else:
            route.continue_()

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(60_000)
        context.route("**/*", allow_loopback_only)
        try:
            yield context, blocked
        finally:
            context.close()


@contextlib.contextmanager
def script_servers(script_name: str, env: dict[str, str], stop_timeout: int):
    """Run ``scripts/<script_name> start``, and its ``stop`` (which ends each PID) on exit."""
    script = PROJECT_ROOT / "scripts" / script_name
    try:
        subprocess.run(
            ["bash", str(script), "start"], env=env, check=True, timeout=SERVER_TIMEOUT_SECONDS
        )
        yield
    finally:
        subprocess.run(["bash", str(script), "stop"], env=env, check=False, timeout=stop_timeout)


@pytest.fixture(scope="module")
def airflow_server(pipeline_run, pipeline_env):
    """The servers of scripts/airflow.sh on a free port over the pipeline run's Airflow home.

    Yields (base URL, admin password).
    """
    port = free_port()
    env = {**pipeline_env, "BOLJAM_AIRFLOW_PORT": str(port)}
    with script_servers("airflow.sh", env, stop_timeout=180):
        home = pipeline_run.root / "var" / "airflow"
        passwords = json.loads(
            (home / "simple_auth_manager_passwords.json.generated").read_text(encoding="utf-8")
        )
        yield f"http://127.0.0.1:{port}", passwords["admin"]


@pytest.fixture(scope="module")
def mlflow_server(pipeline_env):
    """The MLflow UI of scripts/mlflow.sh on a free port over the pipeline run's store."""
    port = free_port()
    env = {**pipeline_env, "BOLJAM_MLFLOW_PORT": str(port)}
    with script_servers("mlflow.sh", env, stop_timeout=60):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def dbt_docs_server(pipeline_run, pipeline_env):
    """The dbt docs site, generated and served as `make docs` does, on a free port."""
    subprocess.run(
        [sys.executable, "-m", "jobs.cli", "--log-level", "WARNING", "marts", "docs", "generate"],
        env=pipeline_env,
        cwd=PROJECT_ROOT,
        check=True,
        timeout=SERVER_TIMEOUT_SECONDS,
    )
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "http.server",
            str(port),
            "--bind",
            "127.0.0.1",
            "--directory",
            str(pipeline_run.root / "var" / "dbt" / "target"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def log_in_to_airflow(page, base_url: str, password: str) -> None:
    """Sign in as admin, unless an earlier test of this browser has signed in already."""
    if any(cookie["name"] == "_token" for cookie in page.context.cookies(base_url)):
        return
    page.goto(f"{base_url}/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/")


def api_headers(context) -> dict[str, str]:
    """Return the bearer token header of the UI's signed-in session."""
    tokens = [cookie["value"] for cookie in context.cookies() if cookie["name"] == "_token"]
    assert tokens, "no _token cookie after signing in"
    return {"Authorization": f"Bearer {tokens[0]}"}


def dag_runs(page, base_url: str, headers: dict[str, str], dag_id: str) -> list[dict]:
    response = page.request.get(f"{base_url}/api/v2/dags/{dag_id}/dagRuns", headers=headers)
    assert response.ok, f"{response.status} {response.text()}"
    return response.json()["dag_runs"]


def test_airflow_login_lists_every_dag(browser, airflow_server):
    context, blocked = browser
    base_url, password = airflow_server
    page = context.new_page()
    log_in_to_airflow(page, base_url, password)
    page.goto(f"{base_url}/dags")
    for dag_id in DAG_IDS:
        page.get_by_role("link", name=dag_id, exact=True).first.wait_for()
    screenshot(page, "airflow_dags", full_page=True)
    page.close()
    assert len(DAG_IDS) == 4
    assert not blocked, blocked


def test_airflow_triggered_run_succeeds(browser, airflow_server):
    context, blocked = browser
    base_url, password = airflow_server
    page = context.new_page()
    log_in_to_airflow(page, base_url, password)
    headers = api_headers(context)
    before = {run["dag_run_id"] for run in dag_runs(page, base_url, headers, TRIGGERED_DAG)}

    page.goto(f"{base_url}/dags/{TRIGGERED_DAG}")
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Trigger").wait_for()
    # The DAGs start paused, and a paused DAG's run never starts. The dialog offers to
    # unpause only a paused DAG.
    unpause = dialog.get_by_role("checkbox", name=f"Unpause {TRIGGERED_DAG} on trigger")
    if unpause.count() and not unpause.is_checked():
        unpause.check()
    dialog.get_by_role("button", name="Trigger").click()

    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    state = None
    run_id = None
    while time.monotonic() < deadline:
        new_runs = [
            run
            for run in dag_runs(page, base_url, headers, TRIGGERED_DAG)
            if run["dag_run_id"] not in before and run["run_type"] == "manual"
        ]
        if new_runs:
            run_id, state = new_runs[0]["dag_run_id"], new_runs[0]["state"]
            if state in {"success", "failed"}:
                break
        time.sleep(5)
    assert run_id is not None, "the Trigger button created no manual run"
    page.goto(f"{base_url}/dags/{TRIGGERED_DAG}/runs/{run_id}")
    page.get_by_text(run_id).first.wait_for()
    screenshot(page, "airflow_triggered_run", full_page=True)
    assert state == "success", f"run {run_id} ended as {state}"
    # The run page shows the state as a badge next to the run id.
    page.get_by_text("Success", exact=True).first.wait_for()
    page.close()
    assert not blocked, blocked


def test_mlflow_lists_every_target_experiment(browser, mlflow_server, pipeline_run):
    from models.tracking import experiment_name

    context, blocked = browser
    page = context.new_page()
    page.goto(f"{mlflow_server}/#/experiments")
    for target in pipeline_run.targets:
        page.get_by_role("link", name=experiment_name(target)).first.wait_for()
    screenshot(page, "mlflow_experiments")

    target = pipeline_run.targets[0]
    href = page.get_by_role("link", name=experiment_name(target)).first.get_attribute("href")
    page.goto(f"{mlflow_server}/{href.lstrip('/')}/runs")
    # The forecast job names each run <target>-<forecast week>.
    page.get_by_text(f"{target}-").first.wait_for()
    screenshot(page, "mlflow_runs")
    page.close()
    assert not blocked, blocked


def test_dbt_docs_show_every_mart(browser, dbt_docs_server):
    context, blocked = browser
    page = context.new_page()
    page.goto(f"{dbt_docs_server}/index.html")
    page.get_by_text("Overview").first.wait_for()
    for model in MART_MODELS:
        page.goto(f"{dbt_docs_server}/index.html#!/model/model.boljam.{model}")
        page.locator("h1", has_text=model).first.wait_for()
    page.goto(f"{dbt_docs_server}/index.html#!/model/model.boljam.fct_incidents")
    page.get_by_text("One row per incident").first.wait_for()
    screenshot(page, "dbt_docs_fct_incidents")
    page.close()
    assert len(MART_MODELS) >= 5
    assert not blocked, blocked


def hex_colour(value: str) -> tuple[int, int, int]:
    value = value.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def test_report_map_draws_offline(browser, pipeline_run):
    from PIL import Image

    context, _ = browser
    reports = sorted((pipeline_run.root / "var" / "reports").glob("*.html"))
    assert reports, "the pipeline run wrote no HTML report"
    for report in reports:
        requests: list[str] = []
        page = context.new_page()

        def block_http(route, requests=requests):
            requests.append(route.request.url)
            route.abort()

        page.route("http://**/*", block_http)
        page.route("https://**/*", block_http)
        page.goto(report.as_uri())

        hexagons = page.locator("svg.map polygon.hex")
        count = hexagons.count()
        assert count > 0, f"{report.name}: no hexagon in the map"
        sizes = page.eval_on_selector_all(
            "svg.map polygon.hex", "cells => cells.map(c => c.getBBox().width * c.getBBox().height)"
        )
        assert all(size > 0 for size in sizes), f"{report.name}: a hexagon has no area"
        fills = set(
            page.eval_on_selector_all(
                "svg.map polygon.hex", "cells => cells.map(c => c.getAttribute('fill'))"
            )
        )

        png = page.locator("svg.map").screenshot()
        screenshot(page, f"report_{report.stem}", full_page=True)
        page.close()

        image = Image.open(io.BytesIO(png)).convert("RGB")
        colours = image.getcolors(maxcolors=image.width * image.height)
        painted = {hex_colour(fill): 0 for fill in fills}
        for pixels, colour in colours:
            if colour in painted:
                painted[colour] += pixels
        # Every fill colour of the hexagons must reach the screen, not just the DOM.
        for colour, pixels in painted.items():
            assert pixels > 0, f"{report.name}: no pixel of fill {colour} on the drawn map"
        assert not requests, f"{report.name} requested {requests}"
