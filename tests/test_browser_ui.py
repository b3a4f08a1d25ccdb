"""The Airflow, MLflow and dbt docs UIs and the HTML report, checked in a real browser.

Debian's Chromium runs headless through Playwright (the system browser, nothing is
downloaded) over the outputs of the shared ``pipeline_run`` fixture. The Airflow servers
run over a copy of it, in which the browser runs the pipeline again. Every request to a
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
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

import pytest

from jobs.demo import PIPELINE
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
# The browser triggers the first DAG of the pipeline and waits for the runs its Airflow
# assets start downstream: ingest -> transform -> forecast -> report. With a load average
# of 18 on two cores the chain took 16 minutes, nine of them in boljam_forecast.
CHAIN_TIMEOUT_SECONDS = 1500
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
            timezone_id="UTC",
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
def ui_world(pipeline_run, tmp_path_factory) -> Path:
    """A copy of the pipeline run that the browser's Airflow runs the pipeline over again.

    The copy keeps the run's agency databases and lake, so ingestion finds no new rows and
    nothing is seeded twice. It leaves out the Airflow home and the MLflow store, so the
    servers start on a fresh metadata database and the other tests keep reading the
    original run unchanged. Its profile narrows the source catalogue and the forecast
    targets to those of the pipeline run's targets. Returns the copy's profile file.
    """
    import shutil

    import yaml
    from conftest import write_profile

    from jobs.settings import Profile
    from models.targets import load_targets

    root = tmp_path_factory.mktemp("ui_world")
    source_var = pipeline_run.root / "var"
    shutil.copytree(
        source_var,
        root / "var",
        ignore=lambda folder, names: (
            {"airflow", "mlflow", "screenshots"} & set(names)
            if Path(folder) == source_var
            else set()
        ),
    )
    original = Profile.model_validate(
        yaml.safe_load(pipeline_run.profile_file.read_text(encoding="utf-8"))
    )
    targets = load_targets(original.forecasts_path)
    tables = {targets[target].source_table for target in pipeline_run.targets}

    catalogue = yaml.safe_load(original.sources_path.read_text(encoding="utf-8"))
    catalogue["sources"] = {name: catalogue["sources"][name] for name in sorted(tables)}
    sources_file = root / "sources.yml"
    sources_file.write_text(yaml.safe_dump(catalogue, sort_keys=False), encoding="utf-8")

    forecasts = yaml.safe_load(original.forecasts_path.read_text(encoding="utf-8"))
    forecasts["targets"] = {name: forecasts["targets"][name] for name in pipeline_run.targets}
    forecasts_file = root / "forecasts.yml"
    forecasts_file.write_text(yaml.safe_dump(forecasts, sort_keys=False), encoding="utf-8")

    profile_file = write_profile(root, real_data=original.real_data_dir)
    profile = yaml.safe_load(profile_file.read_text(encoding="utf-8"))
    profile["sources_file"] = str(sources_file)
    profile["forecasts_file"] = str(forecasts_file)
    profile_file.write_text(yaml.safe_dump(profile), encoding="utf-8")
    return profile_file


@pytest.fixture(scope="module")
def airflow_server(ui_world, pipeline_env):
    """The servers of scripts/airflow.sh on a free port over the copy of the pipeline run.

    Yields (base URL, admin password).
    """
    port = free_port()
    env = {**pipeline_env, "BOLJAM_PROFILE_FILE": str(ui_world), "BOLJAM_AIRFLOW_PORT": str(port)}
    with script_servers("airflow.sh", env, stop_timeout=180):
        home = ui_world.parent / "var" / "airflow"
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


def api_json(page, url: str, headers: dict[str, str], **params) -> dict:
    response = page.request.get(url, headers=headers, params=params or None)
    assert response.ok, f"GET {url}: {response.status} {response.text()}"
    return response.json()


def unpause_in_ui(page, base_url: str, dag_id: str) -> None:
    """Switch a DAG on with the pause toggle of its page, as a person would."""
    page.goto(f"{base_url}/dags/{dag_id}")
    toggle = page.get_by_test_id("toggle-pause")
    toggle.wait_for()
    if toggle.get_attribute("data-state") == "unchecked":
        toggle.click()
    page.locator("[data-testid=toggle-pause][data-state=checked]").wait_for()


def trigger_in_ui(page, base_url: str, dag_id: str, logical_date: datetime) -> None:
    """Trigger one run of ``dag_id`` for ``logical_date`` (UTC) with the Trigger dialog."""
    page.goto(f"{base_url}/dags/{dag_id}")
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_test_id("trigger-dag-submit").wait_for()
    # The browser and the UI both show UTC, so the picker's fields take the UTC date.
    dialog.get_by_test_id("datetime-input").click()
    page.get_by_placeholder("YYYY/MM/DD").fill(logical_date.strftime("%Y/%m/%d"))
    page.get_by_placeholder("HH:mm").fill(logical_date.strftime("%H:%M"))
    # A click on the dialog title closes the date picker.
    dialog.get_by_text(f"Trigger Dag - {dag_id}").click()
    dialog.get_by_test_id("datetime-input").get_by_text(
        logical_date.strftime("%b %d, %Y %H:%M")
    ).wait_for()
    # A paused DAG's run never starts, and the dialog offers to unpause only a paused DAG.
    unpause = dialog.get_by_role("checkbox", name=f"Unpause {dag_id} on trigger")
    if unpause.count() and not unpause.is_checked():
        unpause.check()
    dialog.get_by_test_id("trigger-dag-submit").click()


def started_runs(page, base_url: str, headers: dict[str, str], dag_id: str, run_id: str) -> list:
    """Return the DAG runs that the asset events of one run created, as API dicts."""
    events = api_json(
        page,
        f"{base_url}/api/v2/assets/events",
        headers,
        source_dag_id=dag_id,
        source_run_id=run_id,
    )["asset_events"]
    created = {
        (run["dag_id"], run["run_id"]): run for event in events for run in event["created_dagruns"]
    }
    return list(created.values())


def test_airflow_pipeline_chain_succeeds(browser, airflow_server, ui_world, pipeline_run):
    """Trigger the first DAG in the UI and follow the runs its assets start to the report."""
    context, blocked = browser
    base_url, password = airflow_server
    page = context.new_page()
    log_in_to_airflow(page, base_url, password)
    headers = api_headers(context)
    first, downstream = PIPELINE[0], PIPELINE[1:]
    reports = ui_world.parent / "var" / "reports"
    started_at = time.time()

    # A paused DAG gets no asset-triggered run, so the later DAGs are switched on first.
    for dag_id in downstream:
        unpause_in_ui(page, base_url, dag_id)
        assert not api_json(page, f"{base_url}/api/v2/dags/{dag_id}", headers)["is_paused"]
    # Unpausing the daily ingestion DAG makes the scheduler create the run of the latest
    # schedule tick (catchup is off). Triggering the run for that tick's logical date
    # takes its place, so the pipeline runs once.
    dag = api_json(page, f"{base_url}/api/v2/dags/{first}", headers)
    assert dag["next_dagrun_logical_date"], f"{first} has no next scheduled run: {dag}"
    logical_date = datetime.fromisoformat(dag["next_dagrun_logical_date"].replace("Z", "+00:00"))
    trigger_in_ui(page, base_url, first, logical_date)

    deadline = time.monotonic() + CHAIN_TIMEOUT_SECONDS
    manual = []
    while not manual and time.monotonic() < deadline:
        manual = [
            run for run in dag_runs(page, base_url, headers, first) if run["run_type"] == "manual"
        ]
        time.sleep(1)
    assert len(manual) == 1, f"the Trigger button created {len(manual)} manual runs of {first}"
    chain = [(first, manual[0]["dag_run_id"])]
    assert datetime.fromisoformat(manual[0]["logical_date"].replace("Z", "+00:00")) == (
        logical_date
    )

    state = manual[0]["state"]
    while time.monotonic() < deadline:
        dag_id, run_id = chain[-1]
        state = api_json(page, f"{base_url}/api/v2/dags/{dag_id}/dagRuns/{run_id}", headers)[
            "state"
        ]
        if state == "failed":
            break
        if state == "success" and len(chain) == len(PIPELINE):
            break
        if state == "success":
            following = PIPELINE[len(chain)]
            runs = [
                run
                for run in started_runs(page, base_url, headers, dag_id, run_id)
                if run["dag_id"] == following
            ]
            if runs:
                assert len(runs) == 1, f"{dag_id} run {run_id} started {runs}"
                chain.append((following, runs[0]["run_id"]))
                continue
        time.sleep(5)
    assert state == "success", f"{chain[-1][0]} run {chain[-1][1]} ended as {state}"
    assert [dag_id for dag_id, _ in chain] == list(PIPELINE), f"the chain stopped at {chain}"

    # Each run of the chain shows the Success badge on its page in the UI.
    for dag_id, run_id in chain:
        page.goto(f"{base_url}/dags/{dag_id}/runs/{run_id}")
        page.get_by_text(run_id).first.wait_for()
        page.get_by_text("Success", exact=True).first.wait_for()
        screenshot(page, f"airflow_chain_{dag_id}", full_page=True)
    page.goto(f"{base_url}/dags")
    for dag_id in PIPELINE:
        page.get_by_role("link", name=dag_id, exact=True).first.wait_for()
    screenshot(page, "airflow_chain_dags", full_page=True)
    page.close()

    scheduled = [
        run["dag_run_id"]
        for run in dag_runs(page, base_url, headers, first)
        if run["run_type"] == "scheduled"
    ]
    assert not scheduled, f"unpausing {first} also started {scheduled}"
    for target in pipeline_run.targets:
        # The report DAG writes <target>_<period start>.html.
        written = [
            path for path in reports.glob(f"{target}_*.html") if path.stat().st_mtime > started_at
        ]
        assert written, f"the chain wrote no report of {target} into {reports}"
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
