"""One configuration file (search.config): flags win over the environment,
which wins over the file, which wins over the defaults; the working
folder's file over the user's; `archivio config` says where each value
came from; bad files are clear Italian errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT

CLEARED = (
    "ARCHIVIO_DATA",
    "ARCHIVIO_INDEX",
    "ARCHIVIO_BACKEND",
    "ARCHIVIO_DSN",
    "ARCHIVIO_DSN_READ",
    "ARCHIVIO_PORT",
)


def cli(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in CLEARED}
    environment.update(XDG_CONFIG_HOME=str(folder / "xdg"), **env)
    cmd = [sys.executable, str(ROOT / "cli.py"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=environment, cwd=folder)


def settings(folder: Path, *args: str, **env: str) -> dict[str, tuple[str, str]]:
    result = cli(folder, *args, "config", "--json", **env)
    assert result.returncode == 0, result.stderr
    return {s["key"]: (s["value"], s["source"]) for s in json.loads(result.stdout)["settings"]}


def test_flags_then_environment_then_file_then_defaults(tmp_path):
    (tmp_path / "archivio.toml").write_text('data_dir = "da-file"\nport = 8123\nworkers = 2\n')
    assert settings(tmp_path)["data_dir"] == ("da-file", "file archivio.toml")
    assert settings(tmp_path, ARCHIVIO_DATA="da-ambiente")["data_dir"] == ("da-ambiente", "ambiente")
    assert settings(tmp_path, "--data-dir", "da-opzione")["data_dir"] == ("da-opzione", "opzione")
    got = settings(tmp_path)
    assert got["port"] == ("8123", "file archivio.toml")
    assert got["index_dir"] == ("./index", "predefinito")
    assert got["workers"] == ("2", "file archivio.toml")


def test_the_working_folder_over_the_users_and_an_explicit_file(tmp_path):
    user = tmp_path / "xdg" / "archivio"
    user.mkdir(parents=True)
    (user / "archivio.toml").write_text('data_dir = "dell-utente"\n')
    assert settings(tmp_path)["data_dir"] == ("dell-utente", f"file {user / 'archivio.toml'}")
    (tmp_path / "archivio.toml").write_text('data_dir = "della-cartella"\n')
    assert settings(tmp_path)["data_dir"] == ("della-cartella", "file archivio.toml")
    (tmp_path / "altro.toml").write_text('data_dir = "scelto"\n')
    assert settings(tmp_path, "--config", "altro.toml")["data_dir"] == ("scelto", "file altro.toml")


def test_bad_files_are_italian_errors(tmp_path):
    missing = cli(tmp_path, "--config", "nessuno.toml", "stats")
    assert (missing.returncode, missing.stderr) == (
        1,
        "Errore: File di configurazione non trovato: nessuno.toml\n",
    )
    (tmp_path / "archivio.toml").write_text('dati = "x"\n')
    unknown = cli(tmp_path, "stats")
    assert unknown.returncode == 1
    assert unknown.stderr.startswith(
        "Errore: archivio.toml: impostazione sconosciuta «dati». Quelle valide: data_dir,"
    )
    (tmp_path / "archivio.toml").write_text("data_dir = \n")
    broken = cli(tmp_path, "stats")
    assert broken.returncode == 1 and "File di configurazione non leggibile: archivio.toml" in broken.stderr
    assert "Traceback" not in unknown.stderr + broken.stderr + missing.stderr


def test_the_file_configures_the_archive_and_its_synonyms(tmp_path):
    (tmp_path / "sinonimi.txt").write_text("gatto, micio\n", encoding="utf-8")
    (tmp_path / "archivio.toml").write_text(
        'data_dir = "archivio/dati"\nindex_dir = "archivio/indice"\nsynonyms = "sinonimi.txt"\n'
    )
    record = {
        "id": "g1",
        "title": "Il gatto salvato dai pompieri",
        "body": "Era sul tetto.",
        "date": "2024-05-01",
    }
    (tmp_path / "a.jsonl").write_text(json.dumps(record) + "\n")
    assert cli(tmp_path, "import", "a.jsonl").returncode == 0
    assert (tmp_path / "archivio" / "dati" / "archive.sqlite").exists()
    found = json.loads(cli(tmp_path, "query", "micio", "--json").stdout)
    assert (found["total"], found["results"][0]["id"]) == (1, "g1")
    (tmp_path / "archivio.toml").write_text(
        'data_dir = "archivio/dati"\nindex_dir = "archivio/indice"\nsynonyms = "assente.txt"\n'
    )
    missing = cli(tmp_path, "query", "micio")
    assert (
        missing.returncode == 1
        and "ARCHIVIO_SYNONYMS: file dei sinonimi non leggibile: assente.txt" in missing.stderr
    )


def test_passwords_are_not_shown(tmp_path):
    (tmp_path / "archivio.toml").write_text('dsn = "postgresql://lettore:segreto@db/archivio"\n')
    assert settings(tmp_path)["dsn"] == ("postgresql://lettore:***@db/archivio", "file archivio.toml")
