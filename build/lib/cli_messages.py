"""What the command line says that cli.py does not write itself, in Italian.

click writes its own texts (usage line, help headings, the --help option,
usage errors) through gettext: `_` and `ngettext`, imported into each of
its modules. There is no Italian catalog for click, and gettext would pick
the language from the environment anyway, so `install` hands those modules
a lookup in CATALOG instead: `archivio` speaks Italian whatever the locale.
A text missing from CATALOG stays as click wrote it (tests/test_cli.py runs
the help and the usage errors a user meets and looks for English).

`Group` and `Command` give every command Italian placeholders ("[OPZIONI]",
"CARTELLA", "N"...) unless a parameter names its own metavar, and
`os_error` says in Italian why the system refused a file or a port.
"""

from __future__ import annotations

import errno
import importlib
import logging

import click

# click's message ids (8.1 to 8.5; a few changed wording between them) -> Italian.
CATALOG: dict[str, str] = {
    "Usage:": "Uso:",
    "Options": "Opzioni",
    "Positional arguments": "Argomenti",
    "Commands": "Comandi",
    "Show this message and exit.": "Mostra questo aiuto ed esce.",
    "Show the version and exit.": "Mostra la versione ed esce.",
    "%(prog)s, version %(version)s": "%(prog)s, versione %(version)s",
    "default: {default}": "predefinito: {default}",
    "env var: {var}": "variabile d'ambiente: {var}",
    "required": "obbligatorio",
    "(dynamic)": "(calcolato)",
    "deprecated": "deprecato",
    "Aborted!": "Interrotto.",
    "Error: {message}": "Errore: {message}",
    "Try '{command} {option}' for help.": "Per l'aiuto: '{command} {option}'.",
    "Missing command.": "Manca il comando.",
    "No such command {name!r}.": "Comando sconosciuto: {name!r}.",
    "No such command '{name}'.": "Comando sconosciuto: '{name}'.",
    "No such option {name!r}.": "Opzione sconosciuta: {name!r}.",
    "No such option: {name}": "Opzione sconosciuta: {name}",
    "Missing argument": "Manca l'argomento",
    "Missing option": "Manca l'opzione",
    "Missing parameter": "Manca il parametro",
    "Missing {param_type}": "Manca {param_type}",
    "Missing parameter: {param_name}": "Manca il parametro: {param_name}",
    "Invalid value for {param_hint}: {message}": "Valore non valido per {param_hint}: {message}",
    "Invalid value: {message}": "Valore non valido: {message}",
    "Value must be an iterable.": "Il valore deve essere una sequenza.",
    "Option {name!r} does not take a value.": "L'opzione {name!r} non accetta un valore.",
    "Argument {name!r} takes {nargs} values.": "L'argomento {name!r} richiede {nargs} valori.",
    "Could not open file {filename!r}: {message}": "Impossibile aprire il file {filename!r}: {message}",
    "unknown error": "errore sconosciuto",
    "Choose from:\n\t{choices}": "Scegli tra:\n\t{choices}",
    "{value} is not in the range {range}.": "{value} non è nell'intervallo {range}.",
    "{value!r} is not a valid {number_type}.": "{value!r} non è un numero valido.",
    "{value!r} is not a valid integer.": "{value!r} non è un numero intero valido.",
    "{value!r} is not a valid float.": "{value!r} non è un numero valido.",
    "{value!r} is not a valid boolean. Recognized values: {states}": (
        "{value!r} non è un valore sì/no valido. Valori riconosciuti: {states}"
    ),
    "{value!r} is not a valid UUID.": "{value!r} non è un UUID valido.",
    "file": "file",
    "directory": "cartella",
    "path": "percorso",
    "{name} {filename!r} does not exist.": "{name} {filename!r} inesistente.",
    "{name} '{filename}' does not exist.": "{name} '{filename}' inesistente.",
    "{name} {filename!r} is a file.": "{name} {filename!r}: è un file.",
    "{name} '{filename}' is a file.": "{name} '{filename}': è un file.",
    "{name} {filename!r} is a directory.": "{name} {filename!r}: è una cartella.",
    "{name} '{filename}' is a directory.": "{name} '{filename}': è una cartella.",
    "{name} {filename!r} is not readable.": "{name} {filename!r}: lettura non permessa.",
    "{name} '{filename}' is not readable.": "{name} '{filename}': lettura non permessa.",
    "{name} {filename!r} is not writable.": "{name} {filename!r}: scrittura non permessa.",
    "{name} '{filename}' is not writable.": "{name} '{filename}': scrittura non permessa.",
    "{name} {filename!r} is not executable.": "{name} {filename!r}: esecuzione non permessa.",
    "{name} '{filename}' is not executable.": "{name} '{filename}': esecuzione non permessa.",
    "Do you want to continue?": "Vuoi continuare?",
    "Confirm the action without prompting.": "Conferma senza chiedere.",
    "Press any key to continue...": "Premi un tasto per continuare...",
    "Repeat for confirmation": "Ripeti per conferma",
    "Error: The two entered values do not match.": "Errore: i due valori inseriti non coincidono.",
    "Error: invalid input": "Errore: valore non valido",
}

# click's plural message ids (singular, plural) -> Italian (singular, plural).
PLURALS: dict[tuple[str, str], tuple[str, str]] = {
    ("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"): (
        "Argomento in più non previsto ({args})",
        "Argomenti in più non previsti ({args})",
    ),
    ("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"): (
        "Forse intendevi {possibility}?",
        "(Forse intendevi uno tra: {possibilities}?)",
    ),
    ("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."): (
        "L'opzione {name!r} richiede un valore.",
        "L'opzione {name!r} richiede {nargs} valori.",
    ),
    ("Takes {nargs} values but 1 was given.", "Takes {nargs} values but {len} were given."): (
        "Richiede {nargs} valori, ne è stato dato 1.",
        "Richiede {nargs} valori, ne sono stati dati {len}.",
    ),
    ("{value!r} is not {choice}.", "{value!r} is not one of {choices}."): (
        "{value!r} non è {choice}.",
        "{value!r} non è tra i valori ammessi: {choices}.",
    ),
    ("{value!r} does not match the format {format}.", "{value!r} does not match the formats {formats}."): (
        "{value!r} non rispetta il formato {format}.",
        "{value!r} non rispetta i formati {formats}.",
    ),
    (
        "{len_type} values are required, but {len_value} was given.",
        "{len_type} values are required, but {len_value} were given.",
    ): (
        "Servono {len_type} valori, ne è stato dato {len_value}.",
        "Servono {len_type} valori, ne sono stati dati {len_value}.",
    ),
}

# The click modules that write user-facing text through gettext.
_CLICK_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "types", "termui")


def gettext(message: str) -> str:
    return CATALOG.get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    italian = PLURALS.get((singular, plural))
    if italian is None:
        return singular if n == 1 else plural
    return italian[0] if n == 1 else italian[1]


def install() -> None:
    """Makes click write its texts in Italian, in this process."""
    for name in _CLICK_MODULES:
        try:
            module = importlib.import_module(f"click.{name}")
        except ImportError:
            continue
        if hasattr(module, "_"):
            module._ = gettext
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext
    # psycopg's pool logs each failed connection attempt as an English warning
    # before search.pg gives up with an Italian message that says the same.
    logging.getLogger("psycopg.pool").setLevel(logging.ERROR)


# Placeholders shown for a parameter's value, by click type name (English,
# or Italian when the type was made after install()).
TYPE_METAVARS: dict[str, str] = {
    "text": "TESTO",
    "integer": "N",
    "integer range": "N",
    "float": "NUMERO",
    "float range": "NUMERO",
    "directory": "CARTELLA",
    "cartella": "CARTELLA",
    "file": "FILE",
    "filename": "FILE",
    "path": "PERCORSO",
    "percorso": "PERCORSO",
    "boolean": "SÌ|NO",
    "datetime": "DATA",
    "uuid": "UUID",
}


# Placeholders of cli.py's arguments, by parameter name (click would show the
# name in capitals: TEXT, PATHS...).
ARGUMENT_METAVARS: dict[str, str] = {
    "text": "PAROLE",
    "paths": "PERCORSI",
    "ids": "ID",
    "article_id": "ID",
}


def _italian_metavars(params: list[click.Parameter]) -> None:
    for param in params:
        if param.metavar is not None:
            continue
        if isinstance(param, click.Option) and (param.is_flag or param.count):
            continue
        if isinstance(param.type, click.Choice):
            continue  # shown as [a|b|c]: the values themselves
        if isinstance(param, click.Argument):
            name = ARGUMENT_METAVARS.get(param.name or "", (param.name or "").upper())
        else:
            name = TYPE_METAVARS.get(param.type.name.lower())
            if name is None:
                continue
        if param.nargs != 1:
            name += "..."
        if isinstance(param, click.Argument) and not param.required:
            name = f"[{name}]"
        param.metavar = name


class Command(click.Command):
    """A command whose help shows Italian placeholders."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("options_metavar", "[OPZIONI]")
        super().__init__(*args, **kwargs)
        _italian_metavars(self.params)


class Group(click.Group):
    """A group whose commands (made with `@group.command()`) are `Command`s."""

    command_class = Command

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("options_metavar", "[OPZIONI]")
        kwargs.setdefault("subcommand_metavar", "COMANDO [ARGOMENTI]...")
        super().__init__(*args, **kwargs)
        _italian_metavars(self.params)


# Why the system refused, by errno; other errors keep the system's words.
_OS_REASONS: dict[int, str] = {
    errno.ENOENT: "file o cartella inesistente",
    errno.EACCES: "permesso negato",
    errno.EPERM: "operazione non permessa",
    errno.ENOSPC: "spazio su disco esaurito",
    errno.EDQUOT: "quota del disco superata",
    errno.EROFS: "file system di sola lettura",
    errno.EISDIR: "è una cartella",
    errno.ENOTDIR: "non è una cartella",
    errno.EEXIST: "esiste già",
    errno.ENAMETOOLONG: "nome troppo lungo",
    errno.ELOOP: "collegamenti simbolici circolari",
    errno.EMFILE: "troppi file aperti",
    errno.EIO: "errore di lettura o scrittura sul disco",
    errno.EADDRINUSE: "indirizzo già in uso (un altro programma usa questa porta?)",
    errno.EADDRNOTAVAIL: "indirizzo non disponibile su questa macchina",
}


def os_error(error: OSError, with_file: bool = True) -> str:
    """`error` in Italian: the reason, then the file it concerns (if any and `with_file`)."""
    reason = _OS_REASONS.get(error.errno) if error.errno is not None else None
    reason = reason or error.strerror or str(error)
    return f"{reason}: {error.filename}" if error.filename and with_file else reason


__all__ = ["CATALOG", "PLURALS", "Command", "Group", "gettext", "install", "ngettext", "os_error"]
