"""HTML fragments (a feed item, a WordPress post, a CSV cell) and element trees
(a page's article, trafilatura's output) made plain text paragraphs.

Shared by the importers: html.py, csv.py, feed.py and wxr.py use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import lxml.html
from lxml import etree

from ..textclean import strip_controls
from .base import RecordError, repair_mojibake

# Elements that start and end a paragraph (HTML, and trafilatura's XML output).
_BLOCK = frozenset(
    ("p", "div", "section", "article", "header", "footer", "main", "aside", "h1", "h2", "h3", "h4", "h5")
    + ("h6", "ul", "ol", "li", "dl", "dt", "dd", "blockquote", "pre", "table", "tr", "thead", "tbody")
    + ("tfoot", "caption", "figure", "hr", "address", "center", "details", "summary", "fieldset", "br")
    + ("head", "item", "list", "quote", "row", "lb", "code")  # trafilatura's own elements
)
# Elements whose content is never article text.
_DROP = frozenset(
    ("script", "style", "noscript", "iframe", "template", "svg", "img", "picture", "video", "audio")
    + ("object", "embed", "canvas", "button", "form", "input", "select", "textarea", "option", "nav")
    + ("figcaption", "graphic")
)
_INLINE_SPACE = frozenset({"td", "th", "cell"})
_SPACES = re.compile(r"[ \t\r\n\f\v]+")  # not \s: a non-breaking space may be half of "Ã\xa0"
_BARE_URL = re.compile(r"^(?:https?://|www\.)\S+$", re.I)

# WordPress shortcodes: dropped with their content (captions, embeds) or unwrapped.
# Attributes stop at the next bracket ([^\[\]]): an unclosed "[caption" scans
# to the next "[", never to the end of the post, so each bracket is read a
# bounded number of times (a 400 KB post of unclosed captions took 58 s with
# ".*?" searching for each one's end).
_BLOCK_NAMES = "caption|wp_caption|embed|gallery|video|audio|playlist"
_SHORTCODE_BLOCK_TAG = re.compile(rf"\[(/?)({_BLOCK_NAMES})\b[^\[\]]*\]", re.I)
_SHORTCODE_TAG = re.compile(
    rf"\[/?(?:{_BLOCK_NAMES}|contact-form-7|[a-z]+_[\w-]*)(?:\s[^\[\]]*)?/?\]",
    re.I,
)


def strip_shortcodes(text: str) -> str:
    """Drops block shortcodes with what they wrap (up to the first closing tag
    of the same name, as WordPress pairs them), then unwraps the others; in
    one pass over the tags, linear in the text's length."""
    tags = list(_SHORTCODE_BLOCK_TAG.finditer(text))
    closers: dict[str, list[int]] = {}
    for i, m in enumerate(tags):
        if m.group(1):
            closers.setdefault(m.group(2).lower(), []).append(i)
    next_closer = dict.fromkeys(closers, 0)
    pieces = []
    kept_from = 0
    skip_to = -1  # index of the last tag inside a dropped block
    for i, m in enumerate(tags):
        if i <= skip_to or m.group(1):
            continue
        name = m.group(2).lower()
        found = closers.get(name, [])
        k = next_closer.get(name, 0)
        while k < len(found) and found[k] < i:
            k += 1
        next_closer[name] = k
        if k == len(found):
            continue  # never closed: left to _SHORTCODE_TAG, which drops the tag alone
        closer = tags[found[k]]
        pieces.append(text[kept_from : m.start()])
        kept_from = closer.end()
        skip_to = found[k]
    pieces.append(text[kept_from:])
    return _SHORTCODE_TAG.sub("", "".join(pieces))


_BOILERPLATE = re.compile(
    r"""^(?:
        (?:leggi|guarda|vedi|ascolta)\s+anche\b
      | (?:ti\s+)?potrebbe(?:ro)?\s+(?:anche\s+)?interessarti\b
      | articoli\s+correlati\b | correlati\s*:?$ | approfondisci\s*:?$
      | (?:©|\(c\)|copyright)?\s*(?:\d{4}\s*)?riproduzione\s+riservata\b
      | (?:©|\(c\)|copyright)?\s*(?:\d{4}\s*)?tutti\s+i\s+diritti\s+riservati
      | condividi(?:\s+(?:su|via|questo|l'articolo)\b|\s*:?$)
      | segui(?:ci)?\s+(?:anche\s+)?su\s+
        (?:facebook|instagram|twitter|x|telegram|whatsapp|google\s+news|threads)
      | iscriviti\s+(?:alla\s+(?:nostra\s+)?newsletter|al\s+(?:nostro\s+)?canale)
      | (?:questo\s+sito|il\s+sito|noi\s+e\s+terze\s+parti|utilizziamo|usiamo)\b.{0,120}\bcookie
      | (?:l'articolo|l’articolo|the\s+post)\s.+\s(?:proviene\s+da|appeared\s+first\s+on)\s
      | clicca\s+qui\s+per\s+(?:leggere|iscriverti|ricevere|scaricare)
      | (?:accetta|rifiuta)\s+(?:tutti|i\s+cookie)\b
    )""",
    re.I | re.X,
)
# "Leggi anche" on its own: the next short line is the linked title.
_RELATED_HEADING = re.compile(
    r"^(?:leggi|guarda|vedi)\s+anche\s*[:.]?$|^(?:ti\s+)?potrebbe\s+interessarti\s*:?$", re.I
)
_BOILERPLATE_MAX = 400


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


class _Paragraphs:
    def __init__(self, newline_breaks: bool) -> None:
        self.newline_breaks = newline_breaks
        self.done: list[str] = []
        self.pieces: list[str] = []

    def text(self, value: str | None) -> None:
        if not value:
            return
        if self.newline_breaks and "\n" in value:
            first, *rest = value.replace("\r\n", "\n").split("\n")
            self.pieces.append(first)
            for line in rest:
                self.br()
                self.pieces.append(line)
        else:
            self.pieces.append(value)

    def br(self) -> None:
        if self.pieces:
            paragraph = _SPACES.sub(" ", "".join(self.pieces)).strip(" ")
            if paragraph.strip():
                self.done.append(paragraph)
            self.pieces.clear()


def _visit(el: Any, out: _Paragraphs) -> None:
    if not isinstance(el.tag, str):  # a comment or a processing instruction
        out.text(el.tail)
        return
    tag = _local(el.tag)
    if tag in _DROP:
        out.text(el.tail)
        return
    block = tag in _BLOCK
    if block:
        out.br()
    elif tag in _INLINE_SPACE:
        out.text(" ")
    out.text(el.text)
    for child in el:
        _visit(child, out)
    if block:
        out.br()
    out.text(el.tail)


def element_paragraphs(root: Any, newline_breaks: bool = False) -> list[str]:
    """The text paragraphs of an element tree (HTML or trafilatura's XML)."""
    out = _Paragraphs(newline_breaks)
    try:
        out.text(root.text)
        for child in root:
            _visit(child, out)
    except RecursionError:
        raise RecordError("HTML annidato troppo in profondità") from None
    out.br()
    return out.done


def html_to_text(
    fragment: str | None, wordpress: bool = False, what: str = "il testo", clean: bool = True
) -> str:
    """HTML (a feed item, a post) as plain text paragraphs separated by a blank line.

    With `wordpress`, newlines in the text are paragraph breaks, as WordPress
    renders the post content it stores without <p> tags; its shortcodes go.
    Boilerplate paragraphs ("Leggi anche", share and cookie lines) are dropped
    unless `clean` is false.
    """
    if not fragment or not fragment.strip():
        return ""
    # XML character references can name half a UTF-16 pair (&#xD800;): no
    # text, and lxml refuses it; with the other controls, it goes.
    fragment = repair_mojibake(strip_controls(fragment), what)
    if wordpress:
        fragment = strip_shortcodes(fragment)
    if "<" not in fragment and "&" not in fragment:
        # Plain text: blank lines separate paragraphs (any newline, for WordPress).
        lines = re.split(r"\n" if wordpress else r"\n[ \t\r\f\v]*\n", fragment.replace("\r\n", "\n"))
        paragraphs = [p for p in (_SPACES.sub(" ", line).strip(" ") for line in lines) if p.strip()]
    else:
        try:
            root = lxml.html.fragment_fromstring(fragment, create_parent="div")
        except (etree.ParserError, ValueError):
            return ""
        paragraphs = element_paragraphs(root, newline_breaks=wordpress)
    if not clean:
        return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())
    return "\n\n".join(clean_paragraphs(paragraphs))


def clean_paragraphs(paragraphs: Iterable[str]) -> list[str]:
    """Drops boilerplate paragraphs and bare links; non-breaking spaces become spaces."""
    kept: list[str] = []
    skip_next = False
    for raw in paragraphs:
        p = " ".join(raw.split())  # \xa0 included, once mojibake is ruled out
        if not p:
            continue
        if skip_next:
            skip_next = False
            if len(p) < 200 and not p.endswith((".", "!", "?", "»", '"', "”")):
                continue
        if _RELATED_HEADING.match(p):
            skip_next = True
            continue
        if len(p) <= _BOILERPLATE_MAX and _BOILERPLATE.match(p):
            continue
        if _BARE_URL.match(p):
            continue
        kept.append(p)
    return kept


def plain_line(fragment: str | None, what: str = "il testo") -> str | None:
    """A short HTML string (a title, an excerpt) as one line of text."""
    if not fragment:
        return None
    text = " ".join(html_to_text(fragment, what=what, clean=False).split())
    return text or None


__all__ = [
    "clean_paragraphs",
    "element_paragraphs",
    "html_to_text",
    "plain_line",
    "strip_shortcodes",
]
