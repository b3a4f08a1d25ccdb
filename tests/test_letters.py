"""Letters to agencies: literal gold tables in, a PDF in the outbox and an e-mail out."""

from __future__ import annotations

import email
import json
import shutil
import socket
import subprocess
from datetime import UTC, date, datetime
from email import policy

import h3
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from deltalake import write_deltalake
from PIL import Image

from jobs.hotspots.job import GOLD_EMERGING_HOTSPOTS, write_hotspots
from jobs.letters.build import focus_cells
from jobs.letters.cli import write_letters
from jobs.letters.mail import SmtpConfigError, configured_server, parse_smtp_url
from jobs.letters.settings import LetterSettings, RegionSettings, load_letter_settings
from jobs.schemas import GOLD_FORECASTS
from models.targets import load_targets

TARGET = "houston_burglary"
RECIPIENT = "analysts@houston.localhost"
GENERATED = datetime(2026, 12, 4, 17, 30, tzinfo=UTC)
CENTRE = h3.latlng_to_cell(29.76, -95.37, 8)
CELLS = sorted(h3.grid_disk(CENTRE, 1))
# Predicted counts of CELLS[0..6]: ranks follow from the order of the values.
PREDICTED = [9.5, 8.25, 7.0, 3.0, 2.0, 1.0, 0.5]
RANK_1, RANK_2, RANK_3 = CELLS[0], CELLS[1], CELLS[2]

SETTINGS = LetterSettings(
    language="en",
    top_cells=5,
    hotspots_shown=5,
    sender="boljam@localhost",
    smtp_conn_id=None,
    regions={
        "houston": RegionSettings(
            name="Houston",
            agency="Houston Police Department",
            recipient=RECIPIENT,
            targets=[TARGET],
        )
    },
)


def write_gold(profile) -> None:
    created = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    forecasts = [
        {
            "target": TARGET,
            "run_id": "run-1",
            "model": "lightgbm",
            "period": "week",
            "period_start": date(2026, 12, 7),
            "unit": "h3",
            "area_id": cell,
            "h3_cell": cell,
            "predicted": value,
            "lower": value - 1,
            "upper": value + 2,
            "risk_rank": rank,
            "top_contributions": json.dumps([{"feature": "lag_1w", "contribution": 0.5}]),
            "created_at": created,
        }
        for rank, (cell, value) in enumerate(zip(CELLS, PREDICTED, strict=True), start=1)
    ]
    write_deltalake(
        str(profile.table_path("gold", "forecasts")),
        pa.Table.from_pylist(forecasts, schema=GOLD_FORECASTS),
    )
    patterns = {RANK_2: "intensifying_hot_spot", CELLS[5]: "sporadic_hot_spot"}
    hotspots = pd.DataFrame(
        [
            {
                "target": TARGET,
                "h3_cell": cell,
                "pattern": patterns.get(cell, "no_pattern"),
                "trend_z": 3.0 if cell == RANK_2 else 0.1,
                "trend_p": 0.003 if cell == RANK_2 else 0.9,
                "last_gi_z": 4.5 if cell == RANK_2 else 0.3,
                "last_gi_p": 0.00001 if cell == RANK_2 else 0.7,
                "hot_weeks": 10 if cell == RANK_2 else 0,
                "cold_weeks": 0,
                "weeks": 10,
                "last_week": date(2026, 11, 30),
                "k_ring": 1,
                "alpha": 0.05,
                "computed_at": created,
            }
            for cell in CELLS
        ]
    )
    write_hotspots(profile, hotspots[GOLD_EMERGING_HOTSPOTS.names], TARGET)


def pdf_text(path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def test_conf_letters_is_valid():
    settings = load_letter_settings()
    assert sorted(settings.regions) == ["edinburgh", "houston", "portland"]
    targets = load_targets()
    for region in settings.regions.values():
        assert set(region.targets) <= set(targets)


def test_focus_puts_hot_spots_first():
    top = pd.DataFrame({"h3_cell": ["a", "b", "c", "d"]})
    hotspots = pd.DataFrame(
        {"h3_cell": ["c", "d", "a"], "pattern": ["new_hot_spot", "sporadic_hot_spot", "no_pattern"]}
    )
    assert focus_cells(top, hotspots) == ["c", "a", "b"]


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_letter_pdf_renders(tmp_profile, tmp_path):
    write_gold(tmp_profile)
    letters = write_letters(tmp_profile, SETTINGS, send=False, generated_at=GENERATED)

    assert len(letters) == 1
    pdf = tmp_profile.var / "outbox" / "2026-12-04" / "houston_2026-12-04.pdf"
    assert letters[0].pdf == pdf
    assert pdf.read_bytes().startswith(b"%PDF")

    subprocess.run(
        ["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    pixels = np.asarray(Image.open(tmp_path / "page-1.png").convert("L"), dtype=float)
    # A blank page has zero variance. A full first page of a letter at 60 dpi measured about
    # 1200, with about 3% dark pixels.
    assert pixels.var() > 100
    assert (pixels < 128).mean() > 0.01

    text = pdf_text(pdf)
    assert "Crime-threat forecast for Houston, December 4, 2026" in text
    assert "Houston Police Department" in text
    assert "Intensifying hot spot" in text
    # The focus names the intensifying hot spot at rank 2 before ranks 1 and 3.
    focus = " ".join(text[text.index("Recommended focus") :].split())
    assert focus.index(RANK_2) < focus.index(RANK_1) < focus.index(RANK_3)
    # Top 5 of 7 cells are listed: rank 6 and 7 are not in the top-cells table.
    top_table = text[text.index("Top 5 forecast cells") : text.index("Emerging hot spots")]
    assert CELLS[4] in top_table
    assert CELLS[6] not in top_table


def test_letter_in_kazakh(tmp_profile):
    write_gold(tmp_profile)
    settings = SETTINGS.model_copy(update={"language": "kk"})
    letter = write_letters(tmp_profile, settings, send=False, generated_at=GENERATED)[0]
    text = pdf_text(letter.pdf)
    assert "Күшейіп келе жатқан ыстық нүкте" in text
    assert "Ұсынылатын ұяшықтар" in text


def test_letter_without_forecast(tmp_profile):
    letter = write_letters(tmp_profile, SETTINGS, send=False, generated_at=GENERATED)[0]
    text = pdf_text(letter.pdf)
    assert "No forecast of this target is available yet." in text
    assert "No cell shows a hot or cold spot pattern." in text


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RecordingHandler:
    """An aiosmtpd handler that keeps every envelope it receives."""

    def __init__(self) -> None:
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook name)
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.mark.integration
def test_letter_sent_to_local_smtp(tmp_profile, monkeypatch):
    from aiosmtpd.controller import Controller

    write_gold(tmp_profile)
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setenv("BOLJAM_SMTP_URL", f"smtp://127.0.0.1:{port}")
        letter = write_letters(tmp_profile, SETTINGS, send=True, generated_at=GENERATED)[0]
    finally:
        controller.stop()

    assert len(handler.envelopes) == 1
    envelope = handler.envelopes[0]
    assert envelope.rcpt_tos == [RECIPIENT]
    assert envelope.mail_from == "boljam@localhost"
    message = email.message_from_bytes(envelope.content, policy=policy.default)
    assert message["To"] == RECIPIENT
    assert message["Subject"] == "Crime-threat forecast for Houston, December 4, 2026"
    attachments = list(message.iter_attachments())
    assert len(attachments) == 1
    assert attachments[0].get_content_type() == "application/pdf"
    assert attachments[0].get_filename() == "houston_2026-12-04.pdf"
    assert attachments[0].get_content() == letter.pdf.read_bytes()


def test_no_smtp_url_means_no_server(monkeypatch):
    monkeypatch.delenv("BOLJAM_SMTP_URL", raising=False)
    assert configured_server(None) is None


@pytest.mark.parametrize(
    "url", ["smtp://192.0.2.10:25", "smtp://mail.example.org:587", "smtp://0.0.0.0:25"]
)
def test_smtp_url_rejects_other_hosts(url):
    with pytest.raises(SmtpConfigError, match="not a loopback address"):
        parse_smtp_url(url)


def test_smtp_url_parses_loopback():
    server = parse_smtp_url("smtp://localhost")
    assert (server.host, server.port) == ("localhost", 25)
    server = parse_smtp_url("smtp://[::1]:8025")
    assert (server.host, server.port) == ("::1", 8025)


def test_smtp_url_rejects_other_scheme():
    with pytest.raises(SmtpConfigError, match="invalid SMTP URL"):
        parse_smtp_url("smtps://127.0.0.1:465")


def test_kz_letters_name_kz_targets_only():
    from jobs.settings import load_profile

    profile = load_profile("kz")
    assert profile.letters_path.name == "letters.yml"
    assert profile.letters_path.parent.name == "kz"
    settings = load_letter_settings(profile.letters_path)
    targets = load_targets(profile.forecasts_path)
    for region in settings.regions.values():
        assert region.targets
        assert set(region.targets) <= set(targets)
