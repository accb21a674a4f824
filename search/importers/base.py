"""What every importer yields: articles, or located rejections."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from ..article import Article
from ..dates import DateError, parse_date

# Largest file an importer reads (a guard against runaway inputs).
MAX_FILE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class Rejection:
    """A record that could not be imported, with where and why."""

    path: str
    location: str  # "riga 12", "record 3", "" for the whole file
    reason: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.location}" if self.location else self.path
        return f"{where}: {self.reason}"


class RecordError(ValueError):
    """A record is malformed; the message says why, in Italian."""


def read_text(path: Path) -> str:
    """Decodes a file as UTF-8 (with or without BOM), else Windows-1252."""
    raw = path.read_bytes()
    return decode_bytes(raw)


def decode_bytes(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        raise RecordError("codifica non riconosciuta (né UTF-8 né Windows-1252)") from None
    # Control characters mean binary data, not legacy text.
    if any(ord(c) < 32 and c not in "\t\n\r\f" for c in text):
        raise RecordError("il file non è testo (contiene byte binari)")
    return text


def _optional_str(record: dict, key: str) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(f"il campo {key!r} deve essere un testo, non {type(value).__name__}")
    value = value.strip()
    return value or None


def check_date(value: date | None, today: date | None = None) -> date | None:
    """Rejects dates in the future: an archive holds published articles."""
    if value is None:
        return None
    limit = (today or date.today()) + timedelta(days=1)
    if value > limit:
        raise RecordError(f"data nel futuro: {value.isoformat()}")
    if value.year < 1800:
        raise RecordError(f"data non plausibile: {value.isoformat()}")
    return value


def article_from_record(record: object) -> Article:
    """Validates one record with the corpus keys and builds an Article."""
    if not isinstance(record, dict):
        raise RecordError(f"atteso un oggetto JSON, trovato {type(record).__name__}")
    title = _optional_str(record, "title")
    body = _optional_str(record, "body")
    if not title:
        raise RecordError("manca il titolo")
    if not body:
        raise RecordError("manca il testo (body)")
    raw_date = record.get("date")
    when = None
    if raw_date not in (None, ""):
        if not isinstance(raw_date, str):
            raise RecordError(f"il campo 'date' deve essere un testo, non {type(raw_date).__name__}")
        try:
            when = parse_date(raw_date)
        except DateError as e:
            raise RecordError(str(e)) from None
    given_id = record.get("id")
    if given_id is not None and not isinstance(given_id, (str, int)):
        raise RecordError("il campo 'id' deve essere un testo")
    return Article(
        id=sanitize_id(str(given_id)) if given_id not in (None, "") else "",
        title=title,
        body=body,
        subtitle=_optional_str(record, "subtitle"),
        author=_optional_str(record, "author"),
        date=check_date(when),
        category=_optional_str(record, "category"),
        url=_optional_str(record, "url"),
        source=_optional_str(record, "source"),
    )


def sanitize_id(value: str) -> str:
    """Ids travel in URLs and file names: keep them to a safe alphabet."""
    value = value.strip()
    if not value or len(value) > 200:
        raise RecordError("id vuoto o troppo lungo")
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")
    if any(c not in allowed for c in value) or value.startswith("."):
        raise RecordError(f"id non valido: {value!r} (ammessi lettere, cifre e - _ . :)")
    return value
