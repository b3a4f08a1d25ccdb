"""Default task arguments shared by the DAG files."""

from __future__ import annotations

import os
from datetime import timedelta


def default_args(owner: str) -> dict:
    """Return owner, retries and retry delay for a DAG's tasks.

    ``BOLJAM_TASK_RETRIES`` overrides the retry count: the demo and the tests set it to 0
    so that a failing task fails the run at once instead of waiting out the retry delay.
    """
    return {
        "owner": owner,
        "retries": int(os.environ.get("BOLJAM_TASK_RETRIES", "2")),
        "retry_delay": timedelta(minutes=5),
    }
