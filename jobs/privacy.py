"""Keyed pseudonyms for personal data (HMAC-SHA256), applied between bronze and silver."""

from __future__ import annotations

import hashlib
import hmac
import os

KEY_ENV = "BOLJAM_PSEUDONYM_KEY"


class PseudonymKeyError(RuntimeError):
    """The pseudonymisation key is missing or too short."""


def load_key() -> bytes:
    """Read the HMAC key from $BOLJAM_PSEUDONYM_KEY (at least 32 characters)."""
    key = os.environ.get(KEY_ENV, "")
    if len(key) < 32:
        raise PseudonymKeyError(
            f"{KEY_ENV} is unset or shorter than 32 characters; export a random key, "
            "for example: export BOLJAM_PSEUDONYM_KEY=$(openssl rand -hex 32)"
        )
    return key.encode("utf-8")


def pseudonymise(value: str | None, key: bytes, field: str) -> str | None:
    """Return a stable pseudonym of ``value`` for ``field``; None stays None.

    The field name is part of the message so that one value gets different pseudonyms in
    different fields and cannot be joined across them by accident.
    """
    if value is None:
        return None
    digest = hmac.new(key, f"{field}\x1f{value}".encode(), hashlib.sha256).hexdigest()
    return f"ps_{digest[:32]}"
