"""The import formats' table (search.importers.registry) is the one source of
what the importers, detection and the command line know of a format."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import click
from click.testing import CliRunner

import archivio.search.importers as importers
from archivio.cli import main as cli_main
from archivio.search.importers import registry
from archivio.search.importers.registry import FORMATS, IMPORT_FORMATS, KNOWN_SUFFIXES, LABELS, UNKNOWN

PARSERS = ("textfile", "jsonfile", "html", "feed", "wxr", "csv")
SHARED = {"base", "streams", "htmltext"}


def test_every_format_in_the_table_is_named_labelled_and_listed():
    names = [f.name for f in IMPORT_FORMATS]
    assert len(set(names)) == len(names)
    assert sorted(FORMATS) == sorted(names)
    assert importers.FORMATS == FORMATS
    assert sorted(f.listed_at for f in IMPORT_FORMATS) == list(range(len(IMPORT_FORMATS)))
    assert set(LABELS) == {*names, UNKNOWN}
    assert all(LABELS[f.name] == f.label and f.label.strip() for f in IMPORT_FORMATS)
    assert LABELS[UNKNOWN] == "non riconosciuti"
    for f in IMPORT_FORMATS:
        assert f.sniffs in ("bytes", "markup", "text") and f.reading in ("page", "records")
        assert callable(f.parse) and (f.sniff is None or callable(f.sniff))


def test_suffixes_map_back_to_their_format():
    claims: dict[str, list[str]] = {}
    for f in IMPORT_FORMATS:
        assert f.suffixes and all(s.startswith(".") and s == s.lower() for s in f.suffixes)
        for s in f.suffixes:
            claims.setdefault(s, []).append(f.name)
    assert set(KNOWN_SUFFIXES) == set(claims)
    for suffix, owners in claims.items():
        assert KNOWN_SUFFIXES[suffix] == (owners[0] if len(owners) == 1 else None)
    # The one extension two formats share: a feed or a WordPress export, by content.
    assert {s: sorted(o) for s, o in claims.items() if len(o) > 1} == {".xml": ["rss", "wxr"]}
    for f in IMPORT_FORMATS:
        for s in f.suffixes:
            if KNOWN_SUFFIXES[s]:
                # Content that no sniffer knows: the extension names the format.
                assert importers.detect_format(Path(f"file{s}.gz"), b"nulla di riconoscibile") == f.name


def test_detection_tries_the_table_in_order(monkeypatch):
    tried: list[str] = []

    def recording(name, answer):
        def sniff(head):
            tried.append(name)
            return answer

        return sniff

    def table(answer):
        return tuple(dataclasses.replace(f, sniff=recording(f.name, answer)) for f in IMPORT_FORMATS)

    by_head = {"bytes": ["bytes"], "markup": ["bytes", "markup"], "plain": ["bytes", "text"]}
    heads = {"markup": b"  <qualcosa>", "plain": b"qualcosa"}
    for kind, head in heads.items():
        monkeypatch.setattr(registry, "IMPORT_FORMATS", table(False))
        tried.clear()
        assert importers.detect_format(Path("senza-estensione"), head) is None
        assert tried == [f.name for f in IMPORT_FORMATS if f.sniffs in by_head[kind]]
        assert importers.detect_format(Path("a.csv"), head) == "csv"
        # Every sniffer saying yes: the first in the table it is asked of wins.
        monkeypatch.setattr(registry, "IMPORT_FORMATS", table(True))
        tried.clear()
        assert importers.detect_format(Path("a.csv"), head) == IMPORT_FORMATS[0].name
        assert tried == [IMPORT_FORMATS[0].name]


def test_parsers_share_helpers_never_each_other():
    folder = Path(importers.__file__).parent
    for module in PARSERS:
        tree = ast.parse((folder / f"{module}.py").read_text(encoding="utf-8"))
        siblings = {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
        }
        assert siblings <= SHARED, (module, siblings - SHARED)
    assert {f.parse.__module__.rsplit(".", 1)[1] for f in IMPORT_FORMATS} <= set(PARSERS)


def test_the_command_line_takes_formats_and_labels_from_the_table():
    fmt = next(p for p in cli_main.commands["import"].params if p.name == "fmt")
    assert isinstance(fmt.type, click.Choice) and tuple(fmt.type.choices) == FORMATS
    # The import command's help, written by hand, names every format.
    help_text = " ".join(CliRunner().invoke(cli_main, ["import", "--help"]).stdout.split())
    assert all(f.label in help_text for f in IMPORT_FORMATS)
