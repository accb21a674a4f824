"""The plain-text article format of the seed (markdown-like WordPress dump).

# TITLE
*Pubblicato il 19 Novembre 2025 di redazione*
Categoria: [CATEGORY](#)
## Subtitle
di [Author](#)
Body paragraphs...
Fonte «Source» e l'indirizzo «[www.site.it](http://www.site.it)»
"""

from __future__ import annotations

import re

from ..article import Article
from ..dates import DateError, parse_date
from ..textclean import strip_controls
from .base import MAX_BODY_CHARS, MAX_FIELD_CHARS, RecordError, check_date, check_length, repair_mojibake

_PUBLISHED = re.compile(r"^\*?\s*Pubblicato\s+il\s+(.+?)(?:\s+di\s+(.+?))?\s*\*?$", re.I)
_CATEGORY = re.compile(r"^Categori[ae]\s*:\s*(.+)$", re.I)
_BYLINE = re.compile(r"^(?:di|a cura di)\s+(.+)$", re.I)
# The closing source line; its first letter is sometimes cut off ("onte").
_SOURCE = re.compile(r"^(?:F|f)?onte:?\s*«([^»]+)»(?:.*?«([^»]+)»)?", re.I)
_MD_LINK = re.compile(r"\[([^\]]*)\]\(([^)]*)\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*)(.+?)\1")
_SENTENCE_END = tuple(".!?:;…\"»”)'’")


def strip_markdown(text: str) -> str:
    """Markdown links become their text; bold/italic markers go."""
    text = _MD_LINK.sub(r"\1", text)
    text = _EMPHASIS.sub(r"\2", text)
    return text.strip()


def join_split_paragraphs(paragraphs: list[str]) -> list[str]:
    """Re-joins a paragraph split in mid-sentence: one that ends without
    punctuation followed by one that starts in lower case."""
    joined: list[str] = []
    for p in paragraphs:
        if joined and not joined[-1].endswith(_SENTENCE_END) and p[:1].islower():
            joined[-1] = f"{joined[-1]} {p}"
        else:
            joined.append(p)
    return joined


def looks_like_article_text(head: str) -> bool:
    return head.lstrip().startswith("# ") or bool(re.search(r"^\*?Pubblicato il", head, re.M))


def parse_text_file(text: str) -> Article:
    """A whole file of this format, decoded: mojibake repaired, then parsed."""
    return parse_article_text(repair_mojibake(text, "il testo"))


def parse_article_text(text: str) -> Article:
    """Parses one article; raises RecordError with the reason when it can't."""
    lines = [line.strip() for line in strip_controls(text).split("\n")]
    title = subtitle = author = category = source = url = None
    when = None
    paragraphs: list[str] = []
    for line in lines:
        if not line:
            continue
        if title is None and line.startswith("# "):
            title = strip_markdown(line[2:])
        elif subtitle is None and line.startswith("## "):
            subtitle = strip_markdown(line[3:])
        elif when is None and (m := _PUBLISHED.match(line)):
            try:
                when = parse_date(m.group(1))
            except DateError as e:
                raise RecordError(str(e)) from None
            # The account after "di" ("redazione") publishes; it is not the author.
        elif category is None and (m := _CATEGORY.match(line)):
            category = strip_markdown(m.group(1))
        elif author is None and not paragraphs and (m := _BYLINE.match(line)):
            author = strip_markdown(m.group(1))
        elif m := _SOURCE.match(line):
            source = m.group(1).strip()
            if m.group(2):
                url = strip_markdown(m.group(2))
        else:
            paragraphs.append(strip_markdown(line))
    if not title:
        raise RecordError("manca il titolo (riga che inizia con '# ')")
    paragraphs = join_split_paragraphs([p for p in paragraphs if p])
    if not paragraphs:
        raise RecordError("manca il testo dell'articolo")
    body = "\n\n".join(paragraphs)
    check_length(body, "testo", MAX_BODY_CHARS)
    fields = {"titolo": title, "sottotitolo": subtitle, "autore": author, "categoria": category}
    for key, value in fields.items():
        check_length(value or "", key, MAX_FIELD_CHARS)
    return Article(
        title=title,
        subtitle=subtitle,
        author=author,
        date=check_date(when),
        category=category,
        body=body,
        source=source,
        url=url,
    )
