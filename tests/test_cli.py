"""The command line, run as a real process, as a user would."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from archivio import cli

from .conftest import DEMO, DEMO_COUNT, PLAN_TITLE, ROOT, SEED, archive_env

pytestmark = pytest.mark.both_backends


def run(tmp, *args: str) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-W",
        "error::SyntaxWarning",
        str(ROOT / "cli.py"),
        "--data-dir",
        str(tmp / "data"),
        "--index-dir",
        str(tmp / "index"),
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=archive_env(tmp))


@pytest.fixture(scope="module")
def home(tmp_path_factory, backend):
    tmp = tmp_path_factory.mktemp("cli")
    paths = [str(DEMO)] + ([str(SEED)] if SEED.exists() else [])
    result = run(tmp, "import", *paths)
    assert result.returncode == 0, result.stderr
    return tmp


def test_import_reports_counts_and_is_idempotent(home):
    again = run(home, "import", str(DEMO))
    assert again.returncode == 0
    assert f"Aggiunti: 0 · aggiornati: 0 · invariati: {DEMO_COUNT}" in again.stdout


def test_import_of_bad_records_lists_them_and_exits_non_zero(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "ok-1", "title": "Buono", "body": "Testo."}\n{"title": "senza testo"}\n')
    result = run(tmp_path, "import", str(bad))
    assert result.returncode == 1
    assert "Aggiunti: 1" in result.stdout
    assert f"{bad}:riga 2: manca il testo (body)" in result.stderr


def test_query_human_output(home):
    result = run(home, "query", "tram bologna")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "1 contiene tutte le parole; un altro ne contiene solo alcune (segnato «solo alcune parole»)."
    )
    assert lines[1].startswith("2 articoli trovati")
    # The partial match is marked on its line of details; the one with every word is not.
    marked = [line for line in lines if "· solo alcune parole   [" in line]
    assert len(marked) == 1
    assert "1. Bologna, via libera alla nuova linea del tram verso Corticella" in lines
    assert any(line.strip().startswith("3 marzo 2024 · Marco Bellini · POLITICA") for line in lines)
    assert "\x1b[" not in result.stdout  # plain text when piped


def test_query_json_is_one_object_with_the_schema(home):
    result = run(home, "query", "siccità", "--json", "--limit", "1")
    data = json.loads(result.stdout)
    assert data["total"] == 2 and data["per_page"] == 1 and len(data["results"]) == 1
    assert data["results"][0]["title"].startswith("Siccità")
    assert "<mark>siccità</mark>" in data["results"][0]["snippet"].lower()


@pytest.mark.skipif(not SEED.exists(), reason="../shared/seeds assente")
def test_issue_examples(home):
    first = json.loads(run(home, "query", "piano 28 punti", "--json").stdout)
    # The seed and the demo's plan article hold every word and come first; the
    # demo's article on Europe's answer holds them too ("ventotto punti").
    assert first["exact_total"] == 3
    (seed,) = [r for r in first["results"][:2] if r["title"].startswith("C'È UN ALTRO PIANO (SEGRETO)")]
    assert PLAN_TITLE in [r["title"] for r in first["results"][:2]]
    filtered = json.loads(
        run(
            home,
            "query",
            "witkoff",
            "--author",
            "Mario Piccirillo",
            "--category",
            "notizie di prima pagina",
            "--since",
            "2025-11-01",
            "--until",
            "2025-11-30",
            "--json",
        ).stdout
    )
    assert [r["author"] for r in filtered["results"]] == ["Mario Piccirillo"]
    newest = json.loads(
        run(home, "query", "piano segreto ucraina", "--sort", "newest", "--limit", "5", "--json").stdout
    )
    assert newest["results"][0]["date"] == "2025-11-19"
    shown = run(home, "show", seed["id"])
    assert "19 novembre 2025 · Mario Piccirillo · NOTIZIE DI PRIMA PAGINA · Agenzia DIRE" in shown.stdout


def test_bad_query_gets_an_italian_message_not_a_traceback(home):
    for args in (["query", "*x"], ["query", "pace", "--since", "ieri"], ["query", "pace", "--page", "0"]):
        result = run(home, *args)
        assert result.returncode == 2
        assert result.stderr.startswith("Errore: ") and "Traceback" not in result.stderr


def test_show_unknown_id(home):
    result = run(home, "show", "non-esiste")
    assert result.returncode == 1 and "Articolo non trovato" in result.stderr


def test_stats_and_check(home):
    stats = json.loads(run(home, "stats", "--json").stdout)
    assert stats["articles"] == stats["indexed"] == DEMO_COUNT + SEED.exists()
    assert stats["authors"][0] == {"value": "Chiara Esposito", "count": 7}
    human = run(home, "stats").stdout
    assert "Periodo: dall'8 febbraio 2022 al 18 dicembre 2025" in human
    check = run(home, "check")
    assert check.returncode == 0 and "coincidono" in check.stdout


def test_missing_index_says_to_rebuild(tmp_path):
    stored = run(tmp_path, "import", str(DEMO / "015_riforma-pensioni-sindacati.txt"), "--no-index")
    assert stored.returncode == 0
    result = run(tmp_path, "query", "pace")
    assert result.returncode == 1
    assert "archivio rebuild" in result.stderr and "Traceback" not in result.stderr


def test_an_import_that_finds_no_article_fails_and_says_why(tmp_path):
    (tmp_path / "vuota").mkdir()
    (tmp_path / "vuota" / "note.bin").write_bytes(b"\x00\x01\x02")
    result = run(tmp_path, "import", str(tmp_path / "vuota"))
    assert result.returncode == 1
    assert f"Nessun articolo trovato in {tmp_path / 'vuota'}: servono articoli in testo" in result.stderr
    assert "Traceback" not in result.stderr
    # Articles already there are found too: an unchanged import is no failure.
    assert run(tmp_path, "import", str(DEMO)).returncode == 0
    again = run(tmp_path, "import", str(DEMO))
    assert again.returncode == 0 and "invariati: " in again.stdout


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_port_in_use_is_one_italian_line(tmp_path, workers):
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        port = other.getsockname()[1]
        result = run(tmp_path, "serve", "--port", str(port), "--workers", workers)
    assert result.returncode == 1
    assert result.stderr == (
        f"La porta {port} è già in uso da un altro programma: chiudilo, o scegli un'altra porta con --port.\n"
    )
    assert result.stdout == ""


def test_an_empty_archive_says_how_to_fill_it(tmp_path):
    result = run(tmp_path, "query", "piano 28 punti")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "L'archivio è vuoto: importa degli articoli con `archivio import FILE_O_CARTELLA...`, "
        "o l'archivio dimostrativo con `archivio demo`."
    )
    assert run(tmp_path, "demo").stdout == f"Archivio dimostrativo importato: {DEMO_COUNT} articoli.\n"
    first = json.loads(run(tmp_path, "query", "piano 28 punti", "--json").stdout)["results"][0]
    assert first["title"] == PLAN_TITLE


def test_rebuild_command(home):
    result = run(home, "rebuild", "--procs", "2")
    assert result.returncode == 0 and "Indice ricostruito" in result.stdout


# -- every message in Italian ----------------------------------------------------------------------

# click's own English, which cli_messages translates: none of it may reach the user.
ENGLISH = (
    "Usage",
    "Options",
    "Commands",
    "Show this message",
    "default:",
    "Error:",
    "Missing",
    "Invalid value",
    "No such",
    "Try '",
    "Did you mean",
    "is not",
    "required",
    "[OPTIONS]",
    "COMMAND",
    "TEXT",
    "INTEGER",
    "DIRECTORY",
    "PATH",
    "Traceback",
)


def english_in(text: str) -> list[str]:
    return [word for word in ENGLISH if word in text]


def test_help_of_archivio_and_of_every_command_is_italian(tmp_path):
    main = run(tmp_path, "--help")
    assert main.returncode == 0 and not english_in(main.stdout), english_in(main.stdout)
    assert main.stdout.startswith("Uso: cli.py [OPZIONI] COMANDO [ARGOMENTI]...")
    assert "Comandi:" in main.stdout and "--help  " in main.stdout
    assert "Mostra questo aiuto ed esce." in main.stdout
    runner = CliRunner()
    for name, command in cli.main.commands.items():
        result = runner.invoke(cli.main, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert result.output.startswith(f"Uso: main {name} [OPZIONI]"), result.output
        assert "Opzioni:" in result.output
        assert not english_in(result.output), (name, english_in(result.output))
        assert command.help, f"{name} has no help text"
        # Every option says what it does (in Italian: checked above).
        assert [p.name for p in command.params if isinstance(p, click.Option) and not p.help] == [], name


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "Errore: Comando sconosciuto: 'nope'."),
        (["quer"], "Forse intendevi 'query'?"),
        (["rebuild", "--procs", "0"], "Valore non valido per '--procs': 0 non è nell'intervallo 1<=x<=16."),
        (["query", "pace", "--page", "abc"], "Valore non valido per '--page': 'abc' non è un numero valido."),
        (["query", "pace", "--sort", "caso"], "'caso' non è tra i valori ammessi: 'relevance', 'newest'"),
        (["query", "pace", "--limitt", "3"], "Opzione sconosciuta: '--limitt'. Forse intendevi '--limit'?"),
        (["query", "pace", "--limit"], "L'opzione '--limit' richiede un valore."),
        (["show"], "Errore: Manca l'argomento 'ID'."),
        (["import"], "Errore: Manca l'argomento 'PERCORSI...'."),
        (["remove", "a", "--json"], "Opzione sconosciuta: '--json'."),
        (["--backend", "nessuno", "stats"], "'nessuno' non è tra i valori ammessi: 'whoosh', 'postgres'."),
    ],
)
def test_usage_errors_are_italian(args, message):
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == 2
    assert message in result.stderr and not english_in(result.stderr), result.stderr
    assert "Per l'aiuto: '" in result.stderr or "Errore: L'opzione" in result.stderr


def test_a_usage_error_in_a_real_process_is_italian(tmp_path):
    result = run(tmp_path, "query", "pace", "--page", "abc")
    assert result.returncode == 2
    assert result.stderr.startswith(
        "Uso: cli.py query [OPZIONI] [PAROLE]\nPer l'aiuto: 'cli.py query --help'."
    )
    assert not english_in(result.stderr), result.stderr


def test_system_errors_are_italian_messages_not_tracebacks(tmp_path, home):
    blocked = tmp_path / "file"
    blocked.write_text("")
    # The data folder cannot be made inside a file.
    result = run(tmp_path, "--backend", "whoosh", "--data-dir", str(blocked / "data"), "stats")
    assert result.returncode == 1
    assert result.stderr.strip() == f"Errore: non è una cartella: {blocked / 'data'}"
    export = run(home, "export", "--output", str(blocked / "x.jsonl"))
    assert export.returncode == 1
    assert export.stderr.strip() == f"Impossibile scrivere {blocked / 'x.jsonl'}: non è una cartella"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        served = run(home, "serve", "--port", str(port))
    assert served.returncode == 1
    assert served.stderr.strip() == (
        f"La porta {port} è già in uso da un altro programma: chiudilo, o scegli un'altra porta con --port."
    )
