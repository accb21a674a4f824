"""What every importer yields: articles, or located rejections."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

from ..article import Article
from ..dates import DateError, parse_date
from ..textclean import strip_controls

# Largest file an importer reads (a guard against runaway inputs).
MAX_FILE_BYTES = 512 * 1024 * 1024
# Longest article text, and longest other field (title, author...): far
# beyond any real article, well short of what would stall the indexer.
MAX_BODY_CHARS = 1_000_000
MAX_FIELD_CHARS = 2_000
# A summary longer than this is a copy of the text, not a subtitle: left out.
MAX_SUBTITLE_CHARS = 600
# Rejections listed per file; past them the file is abandoned (a 512 MB file
# of "1\n" lines would otherwise make 268 million of them).
MAX_REJECTIONS_PER_FILE = 1000


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


def unexpected(error: BaseException) -> RecordError:
    """Any other exception met while reading a record or a file, as its
    rejection: one bad input never stops an import."""
    detail = str(error)[:200]
    return RecordError(f"errore imprevisto ({error.__class__.__name__}{': ' + detail if detail else ''})")


def read_text(path: Path) -> str:
    """Decodes a file: see `decode_bytes`."""
    raw = path.read_bytes()
    return decode_bytes(raw)


# UTF-8 read as Windows-1252: "città" becomes "cittÃ\xa0", "è" "Ã¨", "’" "â€™", "«" "Â«".
# Lead bytes C2/C3 (Latin-1 letters and signs) and E2 80/82 (punctuation, euro)
# followed by a continuation byte shown as a cp1252 character. None of these
# pairs occurs in real Italian text.
_CONTINUATION = (
    "\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013\u2014\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122"
)
_MOJIBAKE = re.compile(f"[\u00c2\u00c3][{_CONTINUATION}]|\u00e2[\u20ac\u201a][{_CONTINUATION}]")


def decode_bytes(raw: bytes) -> str:
    """Decodes text whose encoding nobody declared reliably.

    UTF-8 (with or without BOM) first, UTF-16 when it starts with a BOM, else
    Windows-1252 (which reads Latin-1 text the same way). Raises RecordError
    with the reason for binary data, bytes valid in neither encoding, and
    files mixing UTF-8 with a legacy encoding: those would come out as
    mojibake ("cittÃ ") whichever single encoding was picked.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    elif raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return _check_not_binary(raw.decode("utf-16"))
        except UnicodeDecodeError:
            raise RecordError("codifica UTF-16 non valida") from None
    try:
        return _check_not_binary(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        first_bad = e.start
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError as e:
        raise RecordError(
            f"codifica non riconosciuta: né UTF-8 né Windows-1252/Latin-1 "
            f"(byte 0x{raw[e.start]:02X}{_line_of(raw, e.start)})"
        ) from None
    # Control characters mean binary data, not legacy text.
    if any(ord(c) < 32 and c not in "\t\n\r\f" for c in text):
        raise RecordError("il file non è testo (contiene byte binari)")
    if _MOJIBAKE.search(text):
        raise RecordError(
            "codifica mista: il testo è in parte UTF-8 e in parte Windows-1252/Latin-1 "
            f"(primo byte non UTF-8{_line_of(raw, first_bad)}); salvalo interamente in UTF-8"
        )
    return text


def _line_of(raw: bytes, offset: int) -> str:
    if b"\n" not in raw:
        return ""
    line = raw.count(b"\n", 0, offset) + 1
    return f" alla riga {line}"


def _check_not_binary(text: str) -> str:
    if "\x00" in text:
        raise RecordError("il file non è testo (contiene byte nulli)")
    return text


def looks_like_mojibake(text: str) -> bool:
    return bool(_MOJIBAKE.search(text))


def repair_mojibake(text: str, what: str = "testo") -> str:
    """Undoes UTF-8 that was decoded as Windows-1252 and encoded again.

    Text without the telltale pairs comes back unchanged. Text whose every
    character round-trips is repaired ("cittÃ\xa0" -> "città"); anything
    else (mojibake mixed with correct accents) raises RecordError: it is
    never imported as mojibake.
    """
    match = _MOJIBAKE.search(text)
    if match is None:
        return text
    fixed = _undo_double_utf8(text)
    if fixed is None or _MOJIBAKE.search(fixed):
        start = max(match.start() - 20, 0)
        sample = " ".join(text[start : match.end() + 20].split())
        raise RecordError(
            f"{what} con caratteri corrotti (mojibake: «{sample}»): "
            "il testo è stato convertito due volte con codifiche diverse"
        )
    return fixed


def _undo_double_utf8(text: str) -> str | None:
    try:
        raw = text.encode("cp1252")
    except UnicodeEncodeError:
        # Bytes 81, 8D, 8F, 90, 9D have no cp1252 character: a Latin-1 reading
        # keeps them as C1 control characters.
        out = bytearray()
        for ch in text:
            try:
                out += ch.encode("cp1252")
            except UnicodeEncodeError:
                if 0x80 <= ord(ch) <= 0x9F:
                    out.append(ord(ch))
                else:
                    return None
        raw = bytes(out)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


@dataclass(frozen=True)
class Skipped:
    """A record deliberately left out (a draft, a page...), with where and why."""

    path: str
    location: str
    reason: str  # "bozza", "pagina", "allegato"...

    def __str__(self) -> str:
        where = f"{self.path}:{self.location}" if self.location else self.path
        return f"{where}: {self.reason}"


class Skip:
    """What a parser yields for a record it leaves out on purpose."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"Skip({self.reason!r})"


def scoped_id(scope: str, key: str) -> str:
    """A stable id from a format's own identity for an article (a feed item's
    guid, a page's canonical url). The scope keeps it apart from the ids that
    other formats give the same article, so that importing it again from
    another format finds the stored twin (same url, or same title, date and
    text) and reports a duplicate instead of overwriting it."""
    return "a-" + hashlib.sha1(f"{scope}\x00{key}".encode()).hexdigest()[:16]


def url_identity(url: str) -> str:
    """A page address as an identity: scheme, "www.", fragment and final slash
    do not make another page (as the store's url_key)."""
    u = url.strip().lower().split("#")[0]
    for prefix in ("https://", "http://"):
        u = u.removeprefix(prefix)
    return u.removeprefix("www.").rstrip("/")


def normalize_paragraphs(text: str) -> str:
    """Paragraphs one per non-blank line, separated by one blank line."""
    lines = (" ".join(line.split()) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    return "\n\n".join(line for line in lines if line)


def comparable(text: str) -> str:
    """Lowercase words without punctuation: two lines that say the same."""
    return " ".join(re.sub(r"[^\w]+", " ", text.lower()).split())


def is_lead_of(summary: str, body: str) -> bool:
    """A summary that is just the start of the body (an automatic excerpt)."""
    s = comparable(re.sub(r"(?:\[?(?:…|\.\.\.)\]?|\[&hellip;\])\s*$", "", summary))
    return bool(s) and comparable(body).startswith(s)


def feed_date(raw: str) -> str:
    """An RFC 822 date (RSS pubDate, WordPress exports) or any date
    `parse_date` reads, as ISO, on the calendar of the time zone it was
    written in."""
    try:
        return parsedate_to_datetime(raw).date().isoformat()
    except (TypeError, ValueError, IndexError):
        pass
    try:
        return parse_date(raw).isoformat()
    except DateError:
        raise RecordError(f"data non riconosciuta: {raw!r}") from None


_SURROGATE = re.compile("[\ud800-\udfff]")


def _optional_str(record: dict, key: str, limit: int = MAX_FIELD_CHARS) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(f"il campo {key!r} deve essere un testo, non {type(value).__name__}")
    check_length(value, key, limit)
    # JSON can escape half a UTF-16 pair ("\ud800"): no text, and no valid UTF-8 either.
    if _SURROGATE.search(value):
        raise RecordError(f"il campo {key!r} contiene caratteri non validi (surrogati UTF-16 isolati)")
    # Terminal controls (ESC, BEL, C1, bidi overrides) are not text: never stored.
    value = strip_controls(value).strip()
    return repair_mojibake(value, f"il campo {key!r}") if value else None


def check_length(value: str, key: str, limit: int) -> None:
    if len(value) > limit:
        raise RecordError(f"il campo {key!r} è troppo lungo ({len(value):,} caratteri, al massimo {limit:,})")


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
    body = _optional_str(record, "body", MAX_BODY_CHARS)
    if not title:
        raise RecordError("manca il titolo")
    if not body:
        raise RecordError("manca il testo (body)")
    raw_date = record.get("date")
    when = None
    if raw_date not in (None, ""):
        if not isinstance(raw_date, str):
            raise RecordError(f"il campo 'date' deve essere un testo, non {type(raw_date).__name__}")
        check_length(raw_date, "date", 100)
        try:
            when = parse_date(raw_date)
        except DateError as e:
            raise RecordError(str(e)) from None
    given_id = record.get("id")
    if given_id is not None and (not isinstance(given_id, (str, int)) or isinstance(given_id, bool)):
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
