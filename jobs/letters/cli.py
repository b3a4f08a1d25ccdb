"""``boljam letters``: write the PDF letter of every configured region and send it.

Letters go to ``<profile var dir>/outbox/<date>/``. When an SMTP server is configured
($BOLJAM_SMTP_URL or the Airflow connection named in conf/letters.yml) each letter is also
e-mailed to its region's recipient with the PDF attached.
"""

from __future__ import annotations

import argparse
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobs.letters.build import Letter
    from jobs.letters.settings import LetterSettings
    from jobs.settings import Profile

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--region",
        action="append",
        help="region of conf/letters.yml or code of its region outlines; repeat for several; "
        "default all regions",
    )
    parser.add_argument(
        "--no-send", action="store_true", help="write the letters but send no e-mail"
    )


def run(args: argparse.Namespace) -> int:
    from jobs.letters.regions import letter_regions
    from jobs.letters.settings import load_letter_settings
    from jobs.settings import load_profile

    profile = load_profile()
    settings = load_letter_settings(profile.letters_path)
    known = letter_regions(profile, settings)
    unknown = sorted(set(args.region or []) - set(known))
    if unknown:
        logger.error("unknown regions %s; %s has %s", unknown, profile.letters_path, sorted(known))
        return 2
    letters = write_letters(profile, settings, args.region, send=not args.no_send)
    logger.info("wrote %s letters", len(letters))
    return 0


def write_letters(
    profile: Profile,
    settings: LetterSettings,
    regions: list[str] | None = None,
    send: bool = True,
    generated_at: datetime | None = None,
) -> list[Letter]:
    """Write the letter of each region and e-mail it when an SMTP server is configured."""
    from jobs.letters.build import write_letter
    from jobs.letters.mail import build_message, configured_server
    from jobs.letters.mail import send as send_message
    from jobs.letters.regions import letter_regions

    generated_at = generated_at or datetime.now(UTC)
    server = configured_server(settings.smtp_conn_id) if send else None
    if send and server is None:
        logger.info("no SMTP server configured; letters stay in the outbox")
    known = letter_regions(profile, settings)
    letters = []
    for region in regions or list(known):
        letter = write_letter(
            profile, region, known[region].settings, settings, generated_at, known[region].cells
        )
        letters.append(letter)
        if server is not None:
            message = build_message(
                settings.sender, letter.recipient, letter.subject, letter.body, Path(letter.pdf)
            )
            send_message(server, message)
    return letters
