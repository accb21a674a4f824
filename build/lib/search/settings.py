"""Numeric settings from the environment (ARCHIVIO_*), checked.

A value that is not a number, not finite ("nan", "inf": a lock wait of
nan seconds never ends) or out of range raises SettingError naming the
setting, in Italian; the CLI prints it and exits 1. Unset or blank means
the default.
"""

from __future__ import annotations

import math
import os


class SettingError(ValueError):
    """A setting with a bad value; the message names it, in Italian."""


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return value.strip() if value is not None and value.strip() else None


def env_float(name: str, default: float, minimum: float = 0.0, maximum: float = 86_400.0) -> float:
    """A number of seconds (or any finite number) between minimum and maximum."""
    raw = _raw(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not minimum <= value <= maximum:
        raise SettingError(
            f"Impostazione non valida: {name}={raw!r} (atteso un numero tra {minimum:g} e {maximum:g})."
        )
    return value


def env_int(name: str, default: int, minimum: int = 0, maximum: int = 1_000_000) -> int:
    """A whole number between minimum and maximum."""
    raw = _raw(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not minimum <= value <= maximum:
        raise SettingError(
            f"Impostazione non valida: {name}={raw!r} (atteso un numero intero tra {minimum} e {maximum})."
        )
    return value
