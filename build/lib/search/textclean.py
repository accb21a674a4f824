"""Control characters out of text: at import (what is stored) and at the
terminal (what the CLI prints, whatever the store holds).

Article text can carry ESC sequences (clear the screen, set the window
title, hyperlinks), BEL, NUL, C1 controls (U+0080-U+009F: 8-bit CSI) and
bidi overrides (U+202E turns "gpj.exe" around): none is printable, all of
them act on a terminal. Imports keep tabs and newlines; the terminal gets
a single line where one is expected (a newline in a file name must not
start a line of the report).
"""

from __future__ import annotations

import re

# C0 but tab and newline, DEL, C1, bidi embeddings/overrides/isolates, lone surrogates.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_LINE_BREAKS = re.compile("\r\n?")
_CONTROL_OR_NEWLINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def strip_controls(text: str) -> str:
    """What an import stores: carriage returns as newlines, other control
    characters (and bidi overrides, lone surrogates) removed."""
    return _UNPRINTABLE.sub("", _LINE_BREAKS.sub("\n", text))


def for_terminal(text: str | None, multiline: bool = False) -> str:
    """Text safe to print: control characters shown as escapes (\\x1b, \\n)
    on one line, or dropped (tabs and newlines kept) with `multiline`."""
    if not text:
        return ""
    if multiline:
        return strip_controls(text)
    return _CONTROL_OR_NEWLINE.sub(_escape, text)


def json_for_terminal(dumped: str) -> str:
    """JSON text (json.dumps already escapes C0) with C1 controls and bidi
    overrides written as \\u escapes: the same JSON value, inert on a terminal."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", dumped)


def _escape(m: re.Match) -> str:
    c = m.group()
    return {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(c) or (
        f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"
    )
