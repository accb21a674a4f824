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
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?:[T ]([\d:.]+)(Z|[+-]\d{2}:?\d{2})?)?\b")
# The time of an ISO datetime: 08:30, 8.30, 08:30:00, 08:30:00.123, 083000; and
# a UTC offset. Only the date is kept, but an impossible time (25:61) means
# the whole value is wrong, so it is refused rather than cut off.
_TIME = re.compile(r"(\d{1,2})(?:[:.](\d{2})(?::(\d{2})(?:\.\d+)?)?)?|(\d{2})(\d{2})(\d{2})?(?:\.\d+)?")
_OFFSET = re.compile(r"[+-](\d{2}):?(\d{2})")


class DateError(ValueError):
    """A date that cannot be read."""


def parse_date(text: str) -> date:
    """Reads '19 Novembre 2025', '19/11/2025', '2025-11-19' or an ISO datetime."""
    text = text.strip()
    if m := _ISO.search(text):
        y, mo, d = (int(g) for g in m.groups()[:3])
        _check_time(m.group(4), m.group(5), text)
        return _make(y, mo, d, text)
    if m := _ITALIAN.search(text):
        month = _MONTH_NUMBER.get(m.group(2).lower())
        if month:
            return _make(int(m.group(3)), month, int(m.group(1)), text)
    if m := _NUMERIC.search(text):
        d, mo, y = (int(g) for g in m.groups())
        return _make(y, mo, d, text)
    raise DateError(f"data non riconosciuta: {text!r}")


def _check_time(clock: str | None, offset: str | None, text: str) -> None:
    """Raises DateError when an ISO datetime's time or offset cannot exist.
    Seconds up to 60 (a leap second); 24:00 is midnight at the day's end."""
    if clock is not None:
        m = _TIME.fullmatch(clock)
        if m is None:
            raise DateError(f"ora non valida: {text!r}")
        parts = m.groups()[:3] if m.group(1) is not None else m.groups()[3:]
        hour, minute, second = (int(p) if p else 0 for p in parts)
        if minute > 59 or second > 60 or hour > 24 or (hour == 24 and (minute or second)):
            raise DateError(f"ora non valida: {text!r} (ore 0-23, minuti e secondi 0-59)")
    if offset and offset != "Z":
        m = _OFFSET.fullmatch(offset)
        if m is None or int(m.group(1)) > 23 or int(m.group(2)) > 59:
            raise DateError(f"fuso orario non valido: {text!r}")


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
