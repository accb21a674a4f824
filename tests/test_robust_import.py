"""Bad input to import: every bad file or record gets a clear, located
rejection, the rest of the import goes on, and nothing is half-written.

Hand-made cases for each kind of trouble, on both backends, then hypothesis
for the rest: random records (wrong types, odd text, half surrogates),
random bytes under every extension, compressed or not."""

from __future__ import annotations

import gzip
import json
import os
import resource
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archivio.search import Archive
from archivio.search.importers import scan_paths
from archivio.search.importers.base import Rejection

from .conftest import stored_articles
from .robust_support import ROOT, cli_command, cli_env, integrity, run_cli, store_rows

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def good(n: int) -> dict:
    return {"id": f"buono-{n}", "title": f"Articolo buono {n}", "body": f"Testo buono numero {n}, alfa."}


def write_lines(path: Path, items: list) -> None:
    """JSON Lines: dicts and other values as JSON, bytes as they are."""
    with open(path, "wb") as f:
        for item in items:
            f.write(item if isinstance(item, bytes) else json.dumps(item).encode())
            f.write(b"\n")


def stored(archive: Archive) -> dict[str, tuple[str, str]]:
    return {i: (a.title, a.body) for i, a in stored_articles(archive).items()}


def assert_good_ones_whole(archive: Archive, numbers) -> None:
    rows = stored(archive)
    for n in numbers:
        g = good(n)
        assert rows[g["id"]] == (g["title"], g["body"])


def rejections(report) -> dict[tuple[str, str], str]:
    return {(Path(r.path).name, r.location): r.reason for r in report.rejected}


# -- hand-made cases ------------------------------------------------------------------------

BOMB_DTD = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(8))
    + b"]>"
)
XXE_DTD = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
WXR_OPEN = (
    b'<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/" '
    b'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><wp:wxr_version>1.2</wp:wxr_version>'
)


def wxr_item(title: bytes, body: bytes) -> bytes:
    return (
        WXR_OPEN
        + b"<item><title>"
        + title
        + b"</title><content:encoded>"
        + body
        + b"</content:encoded><wp:post_type>post</wp:post_type><wp:status>publish</wp:status>"
        + b"</item></channel></rss>"
    )


def rss_item(title: bytes, body: bytes) -> bytes:
    return (
        b'<rss version="2.0"><channel><title>Feed</title><item><title>'
        + title
        + b"</title><description>"
        + body
        + b"</description></item></channel></rss>"
    )


HAND_MADE: dict[str, bytes] = {
    "vuoto.jsonl": b"",
    "vuoto.json": b"",
    "vuoto.txt": b"",
    "spazi.jsonl": b"\n \n\t\n",
    "binario.json": bytes(range(256)) * 20,
    "binario.txt": b"\x00\x01\x02garbage\xff\xfe" * 100,
    "binario.jsonl.gz": b"\x1f\x8b\x08\x00garbage",
    "troncato.json": b'[{"title": "Uno", "body": "Due"}, {"title": "Tre", "bo',
    "troncato.jsonl.gz": gzip.compress(b"\n".join(json.dumps(good(n)).encode() for n in range(900, 990)))[
        :300
    ],
    "annidato.json": b"[" * 100_000 + b"]" * 100_000,
    "annidato_riga.jsonl": b'{"a":' + b"[" * 100_000 + b"\n",
    "bomba.rss": BOMB_DTD + rss_item(b"&i;", b"&i;"),
    "bomba.xml": BOMB_DTD + wxr_item(b"&i;", b"&i;"),
    "xxe.rss": XXE_DTD + rss_item(b"XXE &xxe;", b"&xxe;"),
    "xxe.xml": XXE_DTD + wxr_item(b"XXE", b"&xxe;"),
    "xxe.html": XXE_DTD + b"<html><head><title>&xxe;</title></head><body><article><h1>Pagina XXE</h1>"
    b"<p>Testo &xxe; qui.</p></article></body></html>",
    "xxe_parametro.rss": b'<?xml version="1.0"?><!DOCTYPE r '
    b'[<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]>' + rss_item(b"P", b"d"),
}

BAD_RECORDS = [
    ({"title": "Data impossibile", "body": "x", "date": "2025-02-30"}, "data non valida"),
    ({"title": "Data futura", "body": "x", "date": "2999-01-01"}, "data nel futuro"),
    ({"title": "Data antica", "body": "x", "date": "0999-01-01"}, "data non plausibile"),
    ({"title": "Data a parole", "body": "x", "date": "ieri sera"}, "data non riconosciuta"),
    ({"title": "Data numero", "body": "x", "date": 20250101}, "'date' deve essere un testo"),
    ({"title": "Data lunga", "body": "x", "date": "2020-01-01" * 50}, "troppo lungo"),
    ({"title": "Senza testo"}, "manca il testo"),
    ({"body": "Senza titolo"}, "manca il titolo"),
    ({"title": "   ", "body": "solo spazi nel titolo"}, "manca il titolo"),
    ({"title": ["lista"], "body": "x"}, "'title' deve essere un testo"),
    ({"title": "x", "body": {"a": 1}}, "'body' deve essere un testo"),
    ({"title": "x", "body": "y", "author": 42}, "'author' deve essere un testo"),
    ({"title": "x", "body": "y", "id": 1.5}, "'id' deve essere un testo"),
    ({"title": "x", "body": "y", "id": True}, "'id' deve essere un testo"),
    ({"title": "x", "body": "y", "id": "../../etc/passwd"}, "id non valido"),
    ({"title": "x", "body": "y", "id": "a" * 300}, "troppo lungo"),
    ({"title": "Surrogato \ud800", "body": "y"}, "surrogati"),
    ({"title": "x", "body": "y" * 1_000_001}, "troppo lungo"),
    ({"title": "t" * 2001, "body": "y"}, "troppo lungo"),
    ("una stringa", "atteso un oggetto JSON"),
    (42, "atteso un oggetto JSON"),
    (None, "atteso un oggetto JSON"),
    ([1, 2], "atteso un oggetto JSON"),
]


@pytest.mark.both_backends
def test_hand_made_bad_files_are_rejected_and_the_rest_imported(tmp_path, make_archive, backend):
    folder = tmp_path / "in"
    folder.mkdir()
    for name, data in HAND_MADE.items():
        (folder / name).write_bytes(data)
    # Bad records among good ones, as JSON Lines and as one JSON array.
    lines: list = []
    for i, (record, _) in enumerate(BAD_RECORDS):
        lines += [good(i), record]
    lines += [b'{"title": "riga tronca", "bo', b"\xff\xfe non utf-8 \x00", good(99)]
    write_lines(folder / "misto.jsonl", lines)
    (folder / "misto.json").write_text(
        json.dumps([good(200 + i) if i % 2 == 0 else record for i, (record, _) in enumerate(BAD_RECORDS)])
    )

    archive = make_archive(tmp_path)
    started = time.monotonic()
    report = archive.import_paths([folder])
    assert time.monotonic() - started < 60
    rejected = rejections(report)

    # Whole files: each with its own reason, none half-imported.
    for name in HAND_MADE:
        if name in ("vuoto.jsonl", "spazi.jsonl", "xxe.html"):
            continue  # nothing to import, nothing wrong; HTML parsers leave &xxe; as it is
        assert any(key[0] == name for key in rejected), name
    assert "profondità" in rejected[("annidato.json", "")]
    assert "XML bomb" in rejected[("bomba.rss", "")] and "XML bomb" in rejected[("bomba.xml", "")]
    for name in ("xxe.rss", "xxe.xml", "xxe_parametro.rss"):
        assert "entità" in rejected[(name, "")], name
    # No trace of the troncato.json records, nor of any entity; the lines of
    # the truncated gzip before the damage are whole articles.
    rows = stored(archive)
    assert not {"Uno", "Tre"} & {t for t, _ in rows.values()}
    assert not any("root:" in t or "root:" in b for t, b in rows.values())
    assert_good_ones_whole(archive, [int(i[6:]) for i in rows if i.startswith("buono-9") and len(i) == 9])

    # Record by record: each bad one located by line, with its reason.
    for i, (_, reason) in enumerate(BAD_RECORDS):
        assert reason in rejected[("misto.jsonl", f"riga {2 * i + 2}")], (i, reason)
        if i % 2:
            assert reason in rejected[("misto.json", f"record {i + 1}")], (i, reason)
    n = 2 * len(BAD_RECORDS)
    assert "JSON non valido" in rejected[("misto.jsonl", f"riga {n + 1}")]
    assert ("misto.jsonl", f"riga {n + 2}") in rejected
    # ...and every good one imported whole.
    assert_good_ones_whole(archive, [*range(len(BAD_RECORDS)), 99])
    assert_good_ones_whole(archive, [200 + i for i in range(0, len(BAD_RECORDS), 2)])
    # ...and nothing else: the good records, the whole lines of the truncated
    # gzip (from its first one on), and the XXE page with its entity as text.
    nines = sorted(i for i in rows if i.startswith("buono-9") and len(i) == 9)
    assert nines == [good(n)["id"] for n in range(900, 900 + len(nines))]
    goods = [*range(len(BAD_RECORDS)), 99, *range(200, 200 + len(BAD_RECORDS), 2)]
    pages = set(rows) - {good(n)["id"] for n in goods} - set(nines)
    assert [rows[i][0] for i in pages] == ["Pagina XXE"]
    assert len(rows) == report.added == archive.stats()["articles"] == len(goods) + len(nines) + 1

    if backend == "whoosh":
        assert integrity(tmp_path / "data") == "ok"  # SQLite's own check of the store file
    assert archive.check()["ok"]
    assert archive.search("alfa").total == sum("alfa" in body for _, body in rows.values())
    archive.close()


@pytest.mark.both_backends
def test_folder_hazards(tmp_path, make_archive):
    """Symlink loops, dangling links, a FIFO, a device-like file, a folder
    named like a file: each reported with its path; the good file imported."""
    folder = tmp_path / "in"
    (folder / "sotto").mkdir(parents=True)
    write_lines(folder / "sotto" / "buoni.jsonl", [good(1), good(2)])
    os.symlink("anello_b.json", folder / "anello_a.json")
    os.symlink("anello_a.json", folder / "anello_b.json")
    os.symlink("..", folder / "sotto" / "su")  # a folder loop: not followed
    os.symlink("/percorso/inesistente.json", folder / "rotto.json")
    os.mkfifo(folder / "fifo.jsonl")  # reading it would wait forever
    os.symlink("/proc/self/mem", folder / "memoria.json")  # readable by no one, not even root
    (folder / "cartella.json").mkdir()
    archive = make_archive(tmp_path)
    report = archive.import_paths([folder, folder / "anello_a.json", folder / "manca.jsonl"])
    rejected = {(Path(r.path).name, r.reason) for r in report.rejected}
    reasons = {name: reason for name, reason in rejected}
    assert "Too many levels of symbolic links" in reasons["anello_b.json"]
    assert any(n == "anello_a.json" and "circolare" in r for n, r in rejected)
    assert "No such file" in reasons["rotto.json"]
    assert "non è un file normale" in reasons["fifo.jsonl"]
    assert "impossibile leggere" in reasons["memoria.json"]
    assert reasons["manca.jsonl"] == "file o cartella inesistente"
    assert report.added == 2
    assert_good_ones_whole(archive, [1, 2])
    assert set(stored(archive)) == {"buono-1", "buono-2"}
    archive.close()


@pytest.mark.both_backends
@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files and folders whatever their permissions")
def test_unreadable_file_and_folder(tmp_path, make_archive):
    folder = tmp_path / "in"
    (folder / "chiusa").mkdir(parents=True)
    write_lines(folder / "chiusa" / "x.jsonl", [good(1)])
    write_lines(folder / "chiuso.jsonl", [good(2)])
    write_lines(folder / "aperto.jsonl", [good(3)])
    (folder / "chiuso.jsonl").chmod(0)
    (folder / "chiusa").chmod(0)
    try:
        archive = make_archive(tmp_path)
        report = archive.import_paths([folder])
        reasons = {Path(r.path).name: r.reason for r in report.rejected}
        assert "impossibile leggere" in reasons["chiuso.jsonl"]
        assert "cartella illeggibile" in reasons["chiusa"]
        assert report.added == 1
        assert set(stored(archive)) == {"buono-3"}
        archive.close()
    finally:
        (folder / "chiuso.jsonl").chmod(0o644)
        (folder / "chiusa").chmod(0o755)


@pytest.mark.both_backends
def test_50mb_single_lines_are_refused_without_filling_memory(tmp_path):
    """A 50 MB line (garbage, or one giant record), a 50 MB JSON record and a
    50 MB text article: rejected with the reason, in a real `import` whose
    memory stays far below the input sizes added up."""
    folder = tmp_path / "in"
    folder.mkdir()
    big = 50 * 1024 * 1024
    with open(folder / "riga_enorme.jsonl", "wb") as f:
        f.write(json.dumps(good(1)).encode() + b"\n")
        f.write(b'{"title": "Enorme", "body": "' + b"parola " * (big // 7) + b'"}\n')
        f.write(b"x" * big + b"\n")
        f.write(json.dumps(good(2)).encode() + b"\n")
    with open(folder / "record_enorme.json", "wb") as f:
        f.write(b'[{"title": "Enorme", "body": "' + b"parola " * (big // 7) + b'"}, ')
        f.write(json.dumps(good(3)).encode() + b"]")
    with open(folder / "testo_enorme.txt", "wb") as f:
        f.write(b"# Titolo enorme\n\n" + b"parola " * (big // 7) + b"\n")
    p = run_cli(tmp_path / "data", tmp_path / "index", "import", str(folder), "--json")
    assert p.returncode == 1, p.stderr  # 1: some records were rejected
    assert "Traceback" not in p.stderr
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    report = json.loads(p.stdout)
    rejected = {(Path(r["path"]).name, r["location"]): r["reason"] for r in report["rejected"]}
    assert "riga troppo lunga" in rejected[("riga_enorme.jsonl", "riga 2")]
    assert "riga troppo lunga" in rejected[("riga_enorme.jsonl", "riga 3")]
    assert "troppo lungo" in rejected[("record_enorme.json", "record 1")]
    # A text file holds one article: read whole, so capped at 16 MB.
    assert rejected[("testo_enorme.txt", "")] == "file troppo grande (oltre 16 MB)"
    assert report["added"] == 3
    # The JSON array is read whole (json needs it so); the lines never are.
    assert peak_mb < 1200, peak_mb
    assert max(len(body) for _, body in store_rows(tmp_path / "data").values()) < 100


# -- hypothesis ----------------------------------------------------------------------------------

odd_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8", categories=["Cc", "Cf", "Zs", "Mn", "So"]), max_size=20),
    st.sampled_from(["", " ", "\ud800", "a\udfffb", "\x00", "città", "Ã¨ mojibake", "\u202e", "�"]),
)
dates = st.one_of(
    st.dates().map(str),
    st.sampled_from(["2025-02-30", "2025-13-01", "31/12/2024", "19 Novembre 2025", "ieri", "0000-00-00"]),
    odd_text,
)
any_value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    odd_text,
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
records = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(any_value, st.from_regex(r"[a-z0-9.:_-]{1,20}", fullmatch=True)),
        "title": st.one_of(odd_text, any_value),
        "body": st.one_of(odd_text, any_value),
        "subtitle": st.one_of(odd_text, any_value),
        "author": st.one_of(odd_text, any_value),
        "date": st.one_of(dates, any_value),
        "category": st.one_of(odd_text, any_value),
        "url": st.one_of(odd_text, st.just("javascript:alert(1)"), any_value),
        "source": st.one_of(odd_text, any_value),
    },
)
json_lines = st.lists(st.one_of(records, any_value, st.binary(max_size=60)), min_size=1, max_size=12)


# Each example imports into a fresh archive: on PostgreSQL, a new database.
FUZZ_WHOOSH_ONLY = "a fresh archive per hypothesis example: a PostgreSQL database each is too slow for CI"


def _fresh(tmp_path_factory) -> tuple[Path, Archive]:
    base = tmp_path_factory.mktemp("fuzz")
    return base, Archive(base / "data", base / "index")


@pytest.mark.whoosh_only(reason=FUZZ_WHOOSH_ONLY)
@FUZZ
@given(items=json_lines)
def test_fuzzed_json_lines(tmp_path_factory, items):
    """Each line is one outcome: stored, or rejected at its line; the good
    lines around the bad ones are always stored whole."""
    base, archive = _fresh(tmp_path_factory)
    lines = []
    for i, item in enumerate(items):
        lines += [good(i), item]
    path = base / "fuzz.jsonl"
    write_lines(path, lines)
    try:
        report = archive.import_paths([path], index=False)
        outcomes = report.added + report.updated + report.unchanged + report.duplicates + len(report.rejected)
        nonblank = sum(1 for line in path.read_bytes().split(b"\n") if line.strip())
        assert outcomes == nonblank
        for r in report.rejected:
            assert r.path == str(path) and r.location.startswith("riga ") and r.reason
        assert_good_ones_whole(archive, range(len(items)))
        assert archive.store.integrity_ok()
        for article in archive.store.iter_all():
            assert article.title.strip() and article.body.strip()
            article.title.encode()  # valid text all through
            article.body.encode()
    finally:
        archive.close()


@pytest.mark.whoosh_only(reason=FUZZ_WHOOSH_ONLY)
@FUZZ
@given(
    data=st.binary(max_size=3000),
    suffix=st.sampled_from([".json", ".jsonl", ".txt", ".md", ".csv", ".html", ".rss", ".xml", ".atom"]),
    compress=st.sampled_from([None, "whole", "truncated"]),
    prefix=st.sampled_from(
        [b"", b"[", b"{", b"# ", b"<?xml version='1.0'?><rss>", b"<html>", b"title,body\n"]
    ),
)
def test_fuzzed_bytes_under_every_extension(tmp_path_factory, data, suffix, compress, prefix):
    base, archive = _fresh(tmp_path_factory)
    folder = base / "in"
    folder.mkdir()
    payload = prefix + data
    name = "fuzz" + suffix
    if compress:
        payload = gzip.compress(payload)
        if compress == "truncated":
            payload = payload[: max(1, len(payload) // 2)]
        name += ".gz"
    (folder / name).write_bytes(payload)
    write_lines(folder / "zz_buoni.jsonl", [good(1), good(2)])
    try:
        report = archive.import_paths([folder])
        for r in report.rejected:
            assert Path(r.path).name == name and r.reason
        assert_good_ones_whole(archive, [1, 2])
        assert archive.store.integrity_ok()
        assert archive.check()["ok"]
    finally:
        archive.close()


@FUZZ
@given(items=st.lists(st.one_of(records, any_value), max_size=8))
def test_fuzzed_scan_never_raises(tmp_path_factory, items):
    """The importers' own contract: items or located rejections, never an exception."""
    base = tmp_path_factory.mktemp("scan")
    (base / "a.json").write_text(json.dumps(items))
    write_lines(base / "b.jsonl", items or [{}])
    for _, item in scan_paths([base]):
        if isinstance(item, Rejection):
            assert item.path and item.reason


# -- issue 14: bombs, stray exceptions, sniffing, encodings, control characters -------------------

RSS_OPEN = b'<rss version="2.0"><channel><title>Feed</title>'


def _gzip_of(path: Path, head: bytes, unit: bytes, total: int, tail: bytes = b"") -> None:
    block = unit * (1024 * 1024 // len(unit))
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(head)
        for _ in range(total // len(block)):
            f.write(block)
        f.write(tail)


@pytest.mark.both_backends
def test_bombs_end_quickly_with_located_rejections(tmp_path, make_archive):
    """Issue 14 items 3, 11, 12: decompressed bytes capped, blank lines cheap,
    garbage arrays abandoned after 1,000 rejections, unclosed shortcodes in
    linear time, a JSON Lines file whose first line is over 8 KB read as
    JSON Lines, and a 17 MB first line refused by the 16 MB line guard."""
    folder = tmp_path / "in"
    folder.mkdir()
    # 64 MB of blank lines, then an article: imported, the blanks skipped.
    _gzip_of(folder / "a_vuote.jsonl.gz", b"", b"\n", 64 * 2**20, json.dumps(good(1)).encode() + b"\n")
    # An article, then 513 MB of blank lines: the cap stops the file (the article stays).
    _gzip_of(folder / "b_oltre.jsonl.gz", json.dumps(good(2)).encode() + b"\n", b"\n", 513 * 2**20)
    # An array of 10 million "{}" (30 MB): 1,000 rejections, then the file is given up.
    _gzip_of(folder / "c_oggetti.json.gz", b"[", b"{},", 30 * 2**20, b"{}]")
    # A WordPress post of 400 KB of unclosed [caption] shortcodes (58 s before).
    (folder / "d_didascalie.xml").write_bytes(
        wxr_item(b"Didascalie", b"<![CDATA[" + b"[caption id=x]testo " * 20_000 + b"]]>")
    )
    # JSON Lines whose first line is 20 KB: the 8 KB head has no newline.
    long_first = {"id": "lunga-1", "title": "Riga lunga", "body": "parola " * 3000}
    write_lines(folder / "e_lunga.jsonl", [long_first, good(3)])
    # A first line of 17 MB: over the line guard, whatever the sniffer sees.
    with open(folder / "f_enorme.jsonl", "wb") as f:
        f.write(b'{"title": "Enorme", "body": "' + b"a" * (17 * 2**20) + b'"}\n')
        f.write(json.dumps(good(4)).encode() + b"\n")

    archive = make_archive(tmp_path)
    started = time.monotonic()
    report = archive.import_paths([folder])
    elapsed = time.monotonic() - started
    assert elapsed < 60, elapsed
    rejected = rejections(report)
    assert rejected[("b_oltre.jsonl.gz", "dopo riga 1")] == (
        "file troppo grande (oltre 512 MB una volta decompresso)"
    )
    assert rejected[("c_oggetti.json.gz", "record 1")] == "manca il titolo"
    assert rejected[("c_oggetti.json.gz", "record 1000")] == (
        "troppi record scartati (1000): il resto del file non è stato letto"
    )
    assert rejected[("f_enorme.jsonl", "riga 1")] == "riga troppo lunga (oltre 16 MB)"
    assert len(report.rejected) == 1 + 1001 + 1
    assert report.formats["jsonl"].added == 5 and report.formats["wxr"].added == 1
    rows = stored(archive)
    assert_good_ones_whole(archive, [1, 2, 3, 4])
    assert rows["lunga-1"] == ("Riga lunga", " ".join(["parola"] * 3000))
    (caption_body,) = [b for t, b in rows.values() if t == "Didascalie"]
    assert caption_body == " ".join(["testo"] * 20_000)
    assert len(rows) == 6
    archive.close()


@pytest.mark.both_backends
def test_one_bad_item_never_stops_the_import(tmp_path, make_archive):
    """Issue 14 item 10: a lone surrogate reference (&#xD800;) in an RSS item
    raised UnicodeEncodeError and skipped the rest of the feed, the open
    batch of the file before and every later file. Now it is removed; the
    items, the files before and after are all imported."""
    folder = tmp_path / "in"
    folder.mkdir()
    write_lines(folder / "a_prima.jsonl", [good(1), good(2)])
    (folder / "b_feed.rss").write_bytes(
        RSS_OPEN
        + b"<item><title>Uno &#xD800;&#55296;x</title>"
        + b"<description>Testo uno &amp;#xDFFF;fine</description></item>"
        + b"<item><title>Due</title><description>Testo due</description></item></channel></rss>"
    )
    write_lines(folder / "c_dopo.jsonl", [good(3)])
    archive = make_archive(tmp_path)
    report = archive.import_paths([folder])
    assert report.rejected == []
    assert (report.added, report.formats["rss"].added) == (5, 2)
    titles = {t: b for t, b in stored(archive).values()}
    assert titles["Uno x"] == "Testo uno fine"
    assert titles["Due"] == "Testo due"
    assert_good_ones_whole(archive, [1, 2, 3])
    archive.close()


@pytest.mark.both_backends
def test_utf16_feeds_meet_the_same_guards(tmp_path, make_archive):
    """Issue 14 item 13: a UTF-16 feed declaring entities is refused like its
    UTF-8 twin (it imported as "&big&big..." before); a plain UTF-16 feed
    (with its byte order mark) imports as text; UTF-16 JSON Lines too."""
    folder = tmp_path / "in"
    folder.mkdir()
    bomb = BOMB_DTD + rss_item(b"&i;", b"&i;")
    (folder / "bomba8.rss").write_bytes(bomb)
    (folder / "bomba16.rss").write_bytes(bomb.decode().encode("utf-16"))
    (folder / "bomba32.rss").write_bytes(bomb.decode().encode("utf-32"))
    plain = rss_item("Città è".encode(), "Testo più".encode())
    (folder / "buono16.rss").write_bytes(plain.decode().encode("utf-16"))
    (folder / "righe16.jsonl").write_bytes((json.dumps(good(1)) + "\n").encode("utf-16"))
    archive = make_archive(tmp_path)
    report = archive.import_paths([folder])
    reason = "feed rifiutato per sicurezza: dichiara entità XML (possibile «XML bomb»)"
    assert rejections(report) == {(n, ""): reason for n in ("bomba8.rss", "bomba16.rss", "bomba32.rss")}
    rows = stored(archive)
    assert sorted(rows.values()) == sorted([("Città è", "Testo più"), (good(1)["title"], good(1)["body"])])
    archive.close()


@pytest.mark.both_backends
def test_csv_streams_rows_at_their_lines(tmp_path, make_archive):
    """CSV is read a row at a time: runs of blank lines cost nothing, a quoted
    field keeps its lines, each rejection names the row's first line."""
    path = tmp_path / "righe.csv"
    path.write_bytes(
        b"titolo;testo\n"  # 1
        b"\n \n\t\n"  # 2-4
        b"Primo;Testo primo\n"  # 5
        b'Secondo;"Riga uno\n\nRiga due"\n'  # 6-8
        b";senza titolo\n"  # 9
        + b"\n" * 100_000  # 10-100009
        + b"Terzo;Testo terzo\n"  # 100010
    )
    archive = make_archive(tmp_path)
    report = archive.import_paths([path])
    assert rejections(report) == {("righe.csv", "riga 9"): "manca il titolo"}
    assert sorted(stored(archive).values()) == [
        ("Primo", "Testo primo"),
        ("Secondo", "Riga uno\n\nRiga due"),
        ("Terzo", "Testo terzo"),
    ]
    archive.close()


@pytest.mark.both_backends
def test_control_characters_stay_off_the_terminal(tmp_path):
    """Issue 14 item 14: ESC/OSC/CSI, BEL, NUL, C1 and U+202E are dropped at
    import; file names in the report are escaped on one line, so a newline
    in a name forges no line; --json escapes C1 and bidi controls."""
    folder = tmp_path / "in"
    folder.mkdir()
    hostile = {
        "id": "ctl-1",
        "title": "Titolo \x1b]0;preso\x07 \u202eok\x9b",
        "body": "Testo \x1b[2J pulito\x00\r\nseconda riga\tcon tab",
    }
    write_lines(folder / "a.jsonl", [hostile])
    (folder / "b\nscartato falso.jsonl").write_bytes(b'{"title": 1}\n')
    data, index = tmp_path / "data", tmp_path / "index"
    p = run_cli(data, index, "import", str(folder))
    assert p.returncode == 1
    assert p.stderr.splitlines() == [
        f"  scartato {folder}/b\\nscartato falso.jsonl:riga 1: il campo 'title' deve essere un testo, non int"
    ]
    assert store_rows(data)["ctl-1"] == ("Titolo ]0;preso ok", "Testo [2J pulito\nseconda riga\tcon tab")
    shown = run_cli(data, index, "show", "ctl-1")
    assert shown.returncode == 0
    assert shown.stdout == ("Titolo ]0;preso ok\n\n\nTesto [2J pulito\nseconda riga\tcon tab\n")
    found = run_cli(data, index, "query", "pulito")
    assert found.returncode == 0 and "\x1b" not in found.stdout and "Titolo ]0;preso ok" in found.stdout


def test_terminal_text_escapes_what_the_store_may_still_hold():
    from archivio.search.textclean import for_terminal, json_for_terminal

    assert for_terminal("a\nb\x1b[2J\u202e\x9bc\td") == "a\\nb\\x1b[2J\\u202e\\x9bc\\td"
    assert for_terminal("riga\x07\n\x1b]8;;x\x07link", multiline=True) == "riga\n]8;;xlink"
    dumped = json.dumps({"t": "\u202ex\x9b"}, ensure_ascii=False)
    assert json_for_terminal(dumped) == '{"t": "\\u202ex\\u009b"}'
    assert json.loads(json_for_terminal(json.dumps("\u202e\x85", ensure_ascii=False))) == "\u202e\x85"


@pytest.mark.both_backends
def test_export_writes_through_links_and_devices(tmp_path, make_archive):
    """Issue 14 item 15: `export -o LINK` writes the link's target (the link
    stays), `-o /dev/full` and `> /dev/full` end with an Italian message
    and exit 1, no traceback."""
    source = tmp_path / "a.jsonl"
    write_lines(source, [good(1)])
    archive = make_archive(tmp_path)
    assert archive.import_paths([source]).added == 1
    archive.close()
    data, index = tmp_path / "data", tmp_path / "index"
    target = tmp_path / "vero.jsonl"
    target.write_text("vecchio\n")
    link = tmp_path / "collegamento.jsonl"
    link.symlink_to(target.name)
    p = run_cli(data, index, "export", "-o", str(link))
    assert p.returncode == 0, p.stderr
    assert link.is_symlink() and os.readlink(link) == "vero.jsonl"
    assert [json.loads(line)["id"] for line in target.read_text().splitlines()] == ["buono-1"]
    p = run_cli(data, index, "export", "-o", "/dev/full")
    assert (p.returncode, p.stderr) == (1, "Impossibile scrivere /dev/full: spazio su disco esaurito\n")
    with open("/dev/full", "w") as full:
        p = subprocess.run(
            cli_command(data, index, "export"),
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(data),
            cwd=ROOT,
            timeout=120,
        )
    assert (p.returncode, p.stderr) == (1, "Impossibile scrivere l'esportazione: spazio su disco esaurito\n")


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        ("ARCHIVIO_LOCK_TIMEOUT", "nan", "atteso un numero tra 0 e 86400"),
        ("ARCHIVIO_LOCK_TIMEOUT", "dieci", "atteso un numero tra 0 e 86400"),
        ("ARCHIVIO_CACHE_MB", "tanto", "atteso un numero intero tra 1 e 1000000"),
        ("ARCHIVIO_RESULT_CACHE", "-1", "atteso un numero intero tra 0 e 1000000"),
    ],
)
def test_bad_settings_are_named_in_italian(tmp_path, setting, value, expected):
    """`ARCHIVIO_LOCK_TIMEOUT=nan` waited forever, words crashed: each is refused, named."""
    source = tmp_path / "a.jsonl"
    write_lines(source, [good(1)])
    p = run_cli(tmp_path / "data", tmp_path / "index", "import", str(source), **{setting: value})
    assert (p.returncode, p.stdout) == (1, "")
    assert p.stderr == f"Errore: Impostazione non valida: {setting}={value!r} ({expected}).\n"


def test_batches_are_bounded_by_characters_too(monkeypatch):
    """500 articles at the 1,000,000-character cap made one store batch of
    ~500 MB of text: a batch also ends at BATCH_CHARS characters."""
    from archivio.search import importing
    from archivio.search.article import Article
    from archivio.search.importing import ImportReport, article_batches

    monkeypatch.setattr(importing, "BATCH_CHARS", 10_000)
    items = [("jsonl", Article(title=f"T{i}", body="x" * 4_000)) for i in range(7)]  # 4,002 characters each
    sizes = [len(batch) for batch, _ in article_batches(items, ImportReport(), 500)]
    assert sizes == [3, 3, 1]
    sizes = [len(batch) for batch, _ in article_batches(items[:6], ImportReport(), 500)]
    assert sizes == [3, 3, 0]  # the last batch always comes
