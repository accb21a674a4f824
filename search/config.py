"""One TOML file for the settings, under the flags and the environment.

Looked up in this order: `--config FILE`; else `archivio.toml` in the
working folder; else `archivio/archivio.toml` in the user's config folder
($XDG_CONFIG_HOME, ~/.config). Its keys are the SETTINGS below; each
stands for an ARCHIVIO_* environment variable, which (like a command-line
flag) wins over the file: the file only fills what neither sets.

    data_dir = "/srv/archivio/data"
    index_dir = "/srv/archivio/index"
    synonyms = "/etc/archivio/sinonimi.txt"   # outside the package: survives upgrades
    port = 8080
    workers = 2
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = "archivio.toml"


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message is Italian."""


@dataclass(frozen=True)
class Setting:
    key: str  # in the TOML file
    env: str  # the environment variable it stands for
    default: str  # as `archivio config` shows it
    help: str  # Italian, for `archivio config`


SETTINGS = [
    Setting("data_dir", "ARCHIVIO_DATA", "./data", "cartella dell'archivio"),
    Setting("index_dir", "ARCHIVIO_INDEX", "./index", "cartella dell'indice"),
    Setting("backend", "ARCHIVIO_BACKEND", "whoosh", "motore: whoosh o postgres"),
    Setting("dsn", "ARCHIVIO_DSN", "", "database PostgreSQL"),
    Setting("dsn_read", "ARCHIVIO_DSN_READ", "", "database PostgreSQL per le sole letture"),
    Setting("synonyms", "ARCHIVIO_SYNONYMS", "(l'elenco fornito)", "file dei sinonimi"),
    Setting("thesaurus", "ARCHIVIO_THESAURUS", "/usr/share/mythes/th_it_IT_v2.dat", "tesauro (MyThes)"),
    Setting("host", "ARCHIVIO_HOST", "127.0.0.1", "indirizzo del sito (serve)"),
    Setting("port", "ARCHIVIO_PORT", "8000", "porta del sito (serve)"),
    Setting("workers", "ARCHIVIO_WORKERS", "1", "processi del sito (serve)"),
    Setting("procs", "ARCHIVIO_PROCS", "(uno per core)", "processi per ricostruire l'indice (rebuild)"),
    Setting("threads", "ARCHIVIO_THREADS", "8", "richieste in parallelo per processo (serve)"),
    Setting("public_url", "ARCHIVIO_PUBLIC_URL", "", "indirizzo pubblico del sito"),
    Setting("result_cache", "ARCHIVIO_RESULT_CACHE", "256", "risultati recenti tenuti in memoria (0: no)"),
    Setting("cache_mb", "ARCHIVIO_CACHE_MB", "512", "MB di dati dell'indice tenuti in memoria"),
    Setting("search_concurrency", "ARCHIVIO_SEARCH_CONCURRENCY", "1", "ricerche alla volta per processo"),
    Setting("search_wait", "ARCHIVIO_SEARCH_WAIT", "15", "secondi di attesa prima di un 503"),
    Setting(
        "search_log",
        "ARCHIVIO_SEARCH_LOG",
        "<cartella dell'archivio>/ricerche.sqlite",
        "registro delle ricerche (0: no)",
    ),
    Setting("access_log", "ARCHIVIO_ACCESS_LOG", "1", "una riga per richiesta su stderr (0: no)"),
]
BY_KEY = {s.key: s for s in SETTINGS}


@dataclass
class Loaded:
    """The file read (None: none found) and, for each setting, where its value came from."""

    path: Path | None
    sources: dict[str, str]


def find(explicit: str | Path | None) -> Path | None:
    """The configuration file to read: `explicit` (which must exist), else
    the working folder's, else the user's; None when there is none."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"File di configurazione non trovato: {path}")
        return path
    home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    for path in (Path(FILE_NAME), home / "archivio" / FILE_NAME):
        if path.is_file():
            return path
    return None


def read(path: Path) -> dict[str, str]:
    """The file's settings, as the environment would hold them."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"File di configurazione non leggibile: {path}: {e}") from None
    values = {}
    for key, value in data.items():
        setting = BY_KEY.get(key)
        if setting is None:
            known = ", ".join(BY_KEY)
            raise ConfigError(f"{path}: impostazione sconosciuta «{key}». Quelle valide: {known}.")
        if isinstance(value, bool):
            value = "1" if value else "0"
        if not isinstance(value, str | int | float):
            raise ConfigError(f"{path}: «{key}» vuole un testo o un numero.")
        values[setting.env] = str(value)
    return values


def load(explicit: str | Path | None = None) -> Loaded:
    """Reads the configuration file into the environment, under what the
    environment already says; returns where each setting comes from
    ("ambiente", "file", or "predefinito")."""
    path = find(explicit)
    values = read(path) if path else {}
    sources = {}
    for setting in SETTINGS:
        if setting.env in os.environ:
            sources[setting.key] = "ambiente"
        elif setting.env in values:
            os.environ[setting.env] = values[setting.env]
            sources[setting.key] = "file"
        else:
            sources[setting.key] = "predefinito"
    return Loaded(path, sources)
