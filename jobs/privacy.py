"""Keyed pseudonyms for personal data (HMAC-SHA256), applied between bronze and silver."""

from __future__ import annotations

import hashlib
import hmac
import os
import re

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


def normalise_phone(value: str | None) -> str | None:
    """Return a Kazakhstan or Russian number in E.164 (+7 and 10 digits), or None if invalid.

    Accepts the international form (+7 ...), the domestic trunk prefix 8 and bare 10-digit
    numbers, with any spaces, brackets or dashes.
    """
    if value is None:
        return None
    digits = re.sub(r"\D", "", str(value))
    if len(digits) == 11 and digits[0] in "78":
        return "+7" + digits[1:]
    if len(digits) == 10 and digits[0] in "67":
        return "+7" + digits
    return None


def is_valid_iin(value: str | None) -> bool:
    """Check an IIN: 12 digits whose last one is the check digit of the first 11.

    The check digit is the weighted sum of the first 11 digits modulo 11 with weights
    1..11. When that gives 10, the weights 3..11, 1, 2 are used instead. A second 10 means
    that no valid IIN starts with those 11 digits.
    """
    if value is None or len(value) != 12 or not value.isdigit():
        return False
    digits = [int(c) for c in value]
    for weights in (range(1, 12), [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]):
        check = sum(d * w for d, w in zip(digits[:11], weights, strict=True)) % 11
        if check != 10:
            return check == digits[11]
    return False


def protect(
    value: str | None, treatment: str, key: bytes, field: str, domain: str | None = None
) -> tuple[str | None, str]:
    """Apply a personal-data treatment; return the protected value and a flag ('' if clean).

    Treatments: ``pseudonymise`` (any text), ``iin`` (validated, then pseudonymised),
    ``phone`` (normalised to E.164, then pseudonymised), ``drop``. An invalid IIN or phone
    is still pseudonymised, never kept in clear, and flagged with ``field``. The pseudonym
    is keyed on ``domain`` (default ``field``), so fields of one domain can be joined.
    """
    domain = domain or field
    if value is None or treatment == "drop":
        return None, ""
    if treatment == "iin":
        digits = str(value).strip()
        flag = "" if is_valid_iin(digits) else f"invalid_iin:{field}"
        return pseudonymise(digits, key, domain), flag
    if treatment == "phone":
        phone = normalise_phone(value)
        if phone is None:
            return pseudonymise(str(value).strip(), key, domain), f"invalid_phone:{field}"
        return pseudonymise(phone, key, domain), ""
    return pseudonymise(str(value), key, domain), ""
