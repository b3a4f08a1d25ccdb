"""The analyst notebooks, executed with nbclient against the marts of the shared pipeline run.

Each notebook prints a JSON line in its tagged cells. The tests compare those values with
the pipeline's summary (silver row counts, MLflow metrics) and with their own queries of
the marts. They also check that every map figure has drawn.
"""

from __future__ import annotations

import base64
import io
import json

import pytest

from jobs.settings import PROJECT_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NOTEBOOKS = PROJECT_ROOT / "notebooks"
INCIDENT_SOURCES = ("houston_crime", "portland_calls", "edinburgh_accidents")
CELL_TIMEOUT_SECONDS = 300


@pytest.fixture(scope="module")
def executed(pipeline_run, tmp_path_factory):
    """Run both notebooks on the pipeline run's profile; return {file name: notebook}."""
    import nbformat
    from nbclient import NotebookClient

    out_dir = tmp_path_factory.mktemp("notebooks")
    notebooks = {}
    with pytest.MonkeyPatch.context() as patch:
        # The kernel inherits this environment, so the notebooks open the run's marts.
        patch.setenv("BOLJAM_PROFILE_FILE", str(pipeline_run.profile_file))
        for path in sorted(NOTEBOOKS.glob("*.ipynb")):
            notebook = nbformat.read(path, as_version=4)
            client = NotebookClient(
                notebook,
                timeout=CELL_TIMEOUT_SECONDS,
                kernel_name="python3",
                resources={"metadata": {"path": str(NOTEBOOKS)}},
            )
            client.execute()
            nbformat.write(notebook, out_dir / path.name)
            notebooks[path.name] = notebook
    return notebooks


@pytest.fixture(scope="module")
def marts(pipeline_run):
    import duckdb

    connection = duckdb.connect(
        str(pipeline_run.root / "var" / "marts" / "boljam.duckdb"), read_only=True
    )
    yield connection
    connection.close()


def tagged_cell(notebook, tag: str):
    cells = [cell for cell in notebook.cells if tag in cell.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged {tag}, found {len(cells)}"
    return cells[0]


def printed_json(cell) -> dict:
    """Return the last JSON object the cell printed to stdout."""
    lines = [
        line
        for output in cell.outputs
        if output.output_type == "stream" and output.name == "stdout"
        for line in output.text.splitlines()
        if line.startswith("{")
    ]
    assert lines, "the cell printed no JSON line"
    return json.loads(lines[-1])


def images(cell) -> list:
    from PIL import Image

    return [
        Image.open(io.BytesIO(base64.b64decode(output["data"]["image/png"]))).convert("RGB")
        for output in cell.outputs
        if "data" in output and "image/png" in output["data"]
    ]


def assert_drawn(image) -> None:
    """Fail unless a good part of the figure is painted, in many colours."""
    pixels = image.width * image.height
    colours = image.getcolors(maxcolors=pixels)
    white = sum(count for count, colour in colours if colour == (255, 255, 255))
    assert (pixels - white) / pixels > 0.05, "the figure is almost blank"
    assert len(colours) > 20, f"the figure has only {len(colours)} colours"


def test_both_notebooks_exist():
    assert sorted(path.name for path in NOTEBOOKS.glob("*.ipynb")) == [
        "explore_marts.ipynb",
        "review_backtests.ipynb",
    ]


def test_explore_counts_match_silver(executed, pipeline_run):
    counts = printed_json(tagged_cell(executed["explore_marts.ipynb"], "incidents-per-source"))
    silver = pipeline_run.summary["rows"]["silver"]
    for source in INCIDENT_SOURCES:
        assert counts.get(source) == silver[source], source


def test_explore_maps_draw_every_cell(executed, marts):
    cell = tagged_cell(executed["explore_marts.ipynb"], "maps")
    drawn = printed_json(cell)
    expected = dict(
        marts.execute(
            "select city, count(distinct h3_r8) from marts.fct_incidents "
            "where h3_r8 is not null group by city"
        ).fetchall()
    )
    assert drawn == expected
    figures = images(cell)
    assert len(figures) == 1
    assert_drawn(figures[0])


def test_review_backtests_match_mlflow(executed, pipeline_run):
    means = printed_json(tagged_cell(executed["review_backtests.ipynb"], "backtest-means"))
    assert sorted(means) == sorted(pipeline_run.targets)
    for target in pipeline_run.targets:
        logged = pipeline_run.summary["forecasts"][target]["metrics"]
        for name in ("model_pei_star_1pct", "model_pei_star_5pct", "baseline_last_week_pai_5pct"):
            assert name in means[target], f"{target}: {name}"
        for name, value in means[target].items():
            assert name in logged, f"{target}: {name} is not an MLflow metric"
            assert value == pytest.approx(logged[name], rel=1e-9, abs=1e-12), f"{target}: {name}"


def test_review_explanations_list_features(executed, marts, pipeline_run):
    features = printed_json(tagged_cell(executed["review_backtests.ipynb"], "explanations"))
    for target in pipeline_run.targets:
        stored = {
            row[0]
            for row in marts.execute(
                "select distinct unnest(from_json(top_contributions, '[\"json\"]')) ->> 'feature' "
                "from marts.fct_forecasts where target = ? and risk_rank <= 20",
                [target],
            ).fetchall()
        }
        (first,) = marts.execute(
            "select top_feature from marts.fct_forecasts where target = ? and risk_rank = 1",
            [target],
        ).fetchone()
        assert features[target], target
        assert set(features[target]) == stored, target
        assert first in features[target], target


def test_review_map_draws_top_cells(executed, marts, pipeline_run):
    cell = tagged_cell(executed["review_backtests.ipynb"], "forecast-map")
    drawn = printed_json(cell)
    for target in pipeline_run.targets:
        (ranked,) = marts.execute(
            "select count(*) from marts.fct_forecasts where target = ? and risk_rank <= 20",
            [target],
        ).fetchone()
        assert ranked > 0, target
        assert drawn[target] == ranked, target
    figures = images(cell)
    assert len(figures) == 1
    assert_drawn(figures[0])
