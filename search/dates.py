"""Parsing dates as Italian articles write them, and printing them in Italian."""

from __future__ import annotations

import re
from datetime import date, datetime

MONTHS = [
    "gennaio",
    "febbraio",
    "marzo",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "agosto",
    "settembre",
    "ottobre",
    "novembre",
    "dicembre",
]
_MONTH_NUMBER = {name: i + 1 for i, name in enumerate(MONTHS)}
_MONTH_NUMBER.update({name[:3]: i + 1 for i, name in enumerate(MONTHS)})

_ITALIAN = re.compile(r"\b(\d{1,2})(?:°|º)?\s+([A-Za-z]+)\.?\s+(\d{4})\b")
_NUMERIC = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\b")
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?\b")


class DateError(ValueError):
    """A date that cannot be read."""


def parse_date(text: str) -> date:
    """Reads '19 Novembre 2025', '19/11/2025', '2025-11-19' or an ISO datetime."""
    text = text.strip()
    if m := _ISO.search(text):
        y, mo, d = (int(g) for g in m.groups())
        return _make(y, mo, d, text)
    if m := _ITALIAN.search(text):
        month = _MONTH_NUMBER.get(m.group(2).lower())
        if month:
            return _make(int(m.group(3)), month, int(m.group(1)), text)
    if m := _NUMERIC.search(text):
        d, mo, y = (int(g) for g in m.groups())
        return _make(y, mo, d, text)
    raise DateError(f"data non riconosciuta: {text!r}")


def _make(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise DateError(f"data non valida: {text!r}") from None


def parse_query_date(value: str | date | None, what: str) -> date | None:
    """A filter date typed by a user: ISO (2025-11-19) or Italian (19/11/2025)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return parse_date(str(value))
    except DateError:
        raise DateError(
            f"Data {what} non valida: {value!r}. Usa il formato AAAA-MM-GG, per esempio 2025-11-19."
        ) from None


def format_italian(d: date | None) -> str:
    """19 novembre 2025."""
    if d is None:
        return ""
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"
