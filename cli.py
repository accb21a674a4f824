"""Archivio's command line: a thin face over `search.ArchiveBackend`.

Every command mirrors one method of the Python API; messages are Italian.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import re
import shutil
import sys
import sysconfig
import tempfile
from collections.abc import Callable
from pathlib import Path

import click

from archivio import cli_messages
from archivio.search import (
    BACKENDS,
    EXPORT_FORMATS,
    FILTER_KINDS,
    FORMATS,
    LABELS,
    ArchiveBackend,
    CsvMapError,
    DatabaseUnavailable,
    DateError,
    IndexMissing,
    QueryError,
    SearchLog,
    SearchRequest,
    Segment,
    SemanticUnavailable,
    SettingError,
    WriteFailed,
    WriterBusy,
    config,
    export_lines,
    export_search,
    for_terminal,
    format_italian,
    json_for_terminal,
    log_path,
    megabytes,
    open_archive,
    parse_csv_map,
    parse_query_date,
)


def demo_dir() -> Path:
    """The demo articles: the checkout's demo/articoli, or, installed from a
    wheel (pip, pipx), the copy the package puts under <prefix>/share/archivio."""
    checkout = Path(__file__).resolve().parent / "demo" / "articoli"
    if checkout.is_dir():
        return checkout
    return Path(sysconfig.get_path("data")) / "share" / "archivio" / "demo" / "articoli"


DEMO_DIR = demo_dir()

cli_messages.install()  # click's own texts (usage, errors, --help) in Italian


def _archive(ctx: click.Context) -> ArchiveBackend:
    return ctx.obj["archive_factory"]()


def _fail(message: str, code: int = 1) -> None:
    click.secho(message, fg="red", err=True)
    sys.exit(code)


class ArchiveGroup(cli_messages.Group):
    """Turns the engine's expected errors into clear messages, never tracebacks."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (QueryError, DateError) as e:
            _fail(f"Errore: {e}", 2)
        except IndexMissing as e:
            _fail(_empty_archive_message(ctx, e) or str(e))
        except WriterBusy as e:
            _fail(str(e), 3)
        except (WriteFailed, SettingError, SemanticUnavailable) as e:
            _fail(f"Errore: {e}")
        except BrokenPipeError:
            # The reader went away (`archivio query … | head`): stop quietly.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except OSError as e:
            # A folder that cannot be made, a disk full, a port in use...
            _fail(f"Errore: {cli_messages.os_error(e)}")


def _empty_archive_message(ctx: click.Context, error: IndexMissing) -> str | None:
    """An archive without articles has no index yet: how to fill it, rather
    than the index's advice to rebuild it (which would index nothing)."""
    if isinstance(error, DatabaseUnavailable):
        return None  # the server is not there: asking it again would only wait again
    try:
        archive = _archive(ctx)
        try:
            empty = archive.article_count() == 0
        finally:
            archive.close()
    except Exception:  # noqa: BLE001 - the original message is still right
        return None
    if not empty:
        return None
    return (
        "L'archivio è vuoto: importa degli articoli con `archivio import FILE_O_CARTELLA...`, "
        "o l'archivio dimostrativo con `archivio demo`."
    )


def _read_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    """--config, or the file found (search.config), into the environment
    before any other option reads it."""
    try:
        ctx.meta["archivio_config"] = config.load(value)
    except config.ConfigError as e:
        _fail(f"Errore: {e}")


@click.group(cls=ArchiveGroup)
@click.option(
    "--config",
    "config_file",
    is_eager=True,
    expose_value=False,
    callback=_read_config,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="File di configurazione (predefinito ./archivio.toml, poi ~/.config/archivio/archivio.toml).",
)
@click.option(
    "--data-dir",
    envvar="ARCHIVIO_DATA",
    type=click.Path(file_okay=False),
    metavar="CARTELLA",
    help="Cartella dell'archivio (predefinita ./data, o $ARCHIVIO_DATA).",
)
@click.option(
    "--index-dir",
    envvar="ARCHIVIO_INDEX",
    type=click.Path(file_okay=False),
    metavar="CARTELLA",
    help="Cartella dell'indice (predefinita ./index, o $ARCHIVIO_INDEX).",
)
@click.option(
    "--backend",
    envvar="ARCHIVIO_BACKEND",
    type=click.Choice(BACKENDS, case_sensitive=False),
    help="Motore: whoosh (predefinito, nessun server) o postgres (o $ARCHIVIO_BACKEND).",
)
@click.option(
    "--dsn",
    envvar="ARCHIVIO_DSN",
    metavar="DSN",
    help="Database PostgreSQL, es. postgresql://archivio@db/archivio (o $ARCHIVIO_DSN).",
)
@click.option(
    "--dsn-read",
    envvar="ARCHIVIO_DSN_READ",
    metavar="DSN",
    help="Database PostgreSQL per le sole letture, es. una replica (o $ARCHIVIO_DSN_READ).",
)
@click.pass_context
def main(
    ctx: click.Context,
    data_dir: str | None,
    index_dir: str | None,
    backend: str | None,
    dsn: str | None,
    dsn_read: str | None,
) -> None:
    """Archivio: ricerca negli archivi di notizie in italiano."""
    ctx.ensure_object(dict)
    ctx.obj["data_dir"] = data_dir
    ctx.obj["archive_factory"] = lambda: open_archive(
        backend, dsn=dsn, dsn_read=dsn_read, data_dir=data_dir, index_dir=index_dir
    )


def _progress(label: str, total: int | None = None, then: str | None = None):
    """A progress callback drawing a bar on a terminal, silent otherwise.

    With no total (an import) it shows the count so far; when the count
    starts again from zero (the import's final indexing), a second bar
    labelled `then` takes over.
    """
    if not sys.stderr.isatty():
        return None, lambda: None

    def new_bar(text: str):
        options = {"label": text, "file": sys.stderr, "show_pos": True}
        if total is None:
            # An endless iterable has no length: click shows the count only.
            bar = click.progressbar(iter(int, 1), bar_template="%(label)s: %(info)s articoli", **options)
        else:
            bar = click.progressbar(length=total, **options)
        bar.__enter__()
        return bar

    state = {"done": 0, "bar": new_bar(label)}

    def update(count: int) -> None:
        if count < state["done"] and then:
            state["bar"].__exit__(None, None, None)
            state["bar"], state["done"] = new_bar(then), 0
        state["bar"].update(count - state["done"])
        state["done"] = count

    return update, lambda: state["bar"].__exit__(None, None, None)


def _csv_map_option(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    try:
        return parse_csv_map(",".join(values))
    except CsvMapError as e:
        raise click.BadParameter(str(e)) from None


def _format_counts(counts, dry_run: bool) -> str:
    labels = (
        ("added", "da importare" if dry_run else "aggiunti"),
        ("updated", "aggiornati"),
        ("unchanged", "invariati"),
        ("duplicates", "duplicati"),
        ("rejected", "scartati"),
        ("skipped", "saltati"),
    )
    parts = [f"{label} {getattr(counts, key)}" for key, label in labels if getattr(counts, key)]
    return " · ".join(parts) or "nessun articolo"


@main.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Forza il formato dei file.")
@click.option(
    "--map",
    "csv_map",
    multiple=True,
    callback=_csv_map_option,
    metavar="CAMPO=COLONNA,...",
    help="Colonne del CSV per i campi, es. --map title=titolo,body=testo.",
)
@click.option("--dry-run", is_flag=True, help="Analizza e riporta, senza scrivere nulla.")
@click.option("--no-index", is_flag=True, help="Salva solo nell'archivio (poi esegui `rebuild`).")
@click.option("--json", "as_json", is_flag=True, help="Riepilogo in JSON.")
@click.pass_context
def import_cmd(ctx, paths, fmt, csv_map, dry_run, no_index, as_json):
    """Importa articoli da file e cartelle: testo, JSON, JSON Lines, pagine HTML,
    feed RSS/Atom, export WordPress (WXR), CSV; anche compressi .gz."""
    archive = _archive(ctx)
    update, done = _progress("Importazione", then="Indicizzazione")
    try:
        report = archive.import_paths(
            paths, fmt=fmt, index=not no_index, dry_run=dry_run, progress=update, csv_map=csv_map
        )
    finally:
        done()
    if as_json:
        click.echo(json_for_terminal(json.dumps(report.to_dict(), ensure_ascii=False, indent=2)))
    else:
        verb = "Da importare" if dry_run else "Aggiunti"
        skipped = ""
        if report.skipped_count:
            reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(report.skipped_reasons().items()))
            skipped = f" · saltati: {report.skipped_count} ({reasons})"
        click.echo(
            f"{verb}: {report.added} · aggiornati: {report.updated} · invariati: {report.unchanged}"
            f" · duplicati: {report.duplicates} · scartati: {len(report.rejected)}{skipped}"
            f"  ({report.elapsed:.1f} s)"
        )
        if report.repaired:
            done = (
                "ricostruito."
                if report.reindexed is None
                else f"riallineato ({report.reindexed} articoli reindicizzati)."
            )
            click.echo(
                "L'indice non era allineato all'archivio (operazione interrotta, "
                f"o importazione senza indice): {done}"
            )
        for name, counts in report.formats.items():
            click.echo(f"  {LABELS.get(name, name)}: {_format_counts(counts, dry_run)}")
        for r in report.rejected:
            # File names and reasons on one line each, controls escaped: a
            # newline in a name must not forge a line of the report.
            click.secho(f"  scartato {for_terminal(str(r))}", fg="yellow", err=True)
    if not report.articles_found:
        where = ", ".join(for_terminal(str(p)) for p in paths)
        _fail(
            f"Nessun articolo trovato in {where}: servono articoli in testo, JSON, JSON Lines, "
            "HTML, RSS/Atom, WordPress (WXR) o CSV."
        )
    if report.rejected:
        sys.exit(1)


@main.command()
@click.argument("ids", nargs=-1, required=True)
@click.pass_context
def remove(ctx, ids):
    """Rimuove articoli (per id) dall'archivio e dall'indice."""
    removed = set(_archive(ctx).remove(ids))
    missing = [i for i in dict.fromkeys(ids) if i not in removed]
    click.echo(f"Rimossi: {len(removed)}.")
    for article_id in missing:
        click.secho(f"  non trovato: {for_terminal(article_id)}", fg="yellow", err=True)
    if missing:
        sys.exit(1)


@main.command()
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="File da scrivere (se manca: lo standard output); con .gz viene compresso.",
)
@click.pass_context
def export(ctx, output):
    """Esporta tutto l'archivio in JSON Lines (id, title, subtitle, author, date,
    category, body, url, source): si reimporta con `import`."""
    archive = _archive(ctx)
    if output is None:
        stream = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n")
        try:
            count = archive.export(stream)
            stream.flush()
        except BrokenPipeError:
            # The reader went away (`export | head`): stop quietly.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except OSError as e:  # `export > /dev/full`, a disk full
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            _fail(f"Impossibile scrivere l'esportazione: {cli_messages.os_error(e, with_file=False)}")
        finally:
            with contextlib.suppress(BrokenPipeError, ValueError):
                stream.detach()
        click.echo(f"Esportati {count} articoli.", err=True)
        return
    # Through a symlink to its target: the link stays a link.
    path = Path(os.path.realpath(output))
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    if path.exists() and not path.is_file():
        # A device or a FIFO (/dev/stdout, /dev/full, a pipe): written in place,
        # never replaced by a regular file.
        try:
            with opener(path, "wt", encoding="utf-8", newline="\n") as stream:
                count = archive.export(stream)
        except OSError as e:
            _fail(f"Impossibile scrivere {for_terminal(output)}: {cli_messages.os_error(e, with_file=False)}")
        click.echo(f"Esportati {count} articoli in {for_terminal(output)}.", err=True)
        return
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with opener(partial, "wt", encoding="utf-8", newline="\n") as stream:
            count = archive.export(stream)
        os.replace(partial, path)  # never a half-written export under the real name
    except OSError as e:
        _fail(f"Impossibile scrivere {for_terminal(output)}: {cli_messages.os_error(e, with_file=False)}")
    finally:
        with contextlib.suppress(OSError):  # its folder may not exist either
            partial.unlink(missing_ok=True)
    click.echo(f"Esportati {count} articoli in {for_terminal(output)}.")


@main.command()
@click.option(
    "--procs",
    default=None,
    type=click.IntRange(1, 16),
    help="Processi per l'indicizzazione (predefinito: ARCHIVIO_PROCS, altrimenti uno per core, "
    "non più delle parti da 4.000 articoli).",
)
@click.pass_context
def rebuild(ctx, procs):
    """Ricostruisce l'indice dall'archivio e lo sostituisce in modo atomico."""
    archive = _archive(ctx)
    update, done = _progress("Indicizzazione", archive.article_count())
    try:
        count = archive.rebuild(procs=procs, progress=update)
    finally:
        done()
    click.echo(f"Indice ricostruito: {count} articoli.")


@main.command()
@click.option("--drop", is_flag=True, help="Toglie i vettori: la ricerca torna solo per parole.")
@click.pass_context
def embed(ctx, drop):
    """Ricerca semantica: calcola i vettori degli articoli che non li hanno.

    La prima volta accende la ricerca semantica per questo archivio (serve
    l'extra: pip install 'archivio[semantic]'); poi import e ricostruzioni
    calcolano da sé i vettori degli articoli nuovi. Se interrotto, riprende
    da dove si era fermato.
    """
    archive = _archive(ctx)
    if drop:
        dropped = archive.drop_vectors()
        click.echo(
            "Vettori tolti: la ricerca usa solo le parole." if dropped else "Nessun vettore da togliere."
        )
        return
    bar: dict = {"update": None, "done": lambda: None}

    def total(n: int) -> None:
        bar["update"], bar["done"] = _progress("Vettori semantici", n)

    def progress(count: int) -> None:
        if bar["update"]:
            bar["update"](count)

    try:
        count = archive.embed(progress=progress, total=total)
    finally:
        bar["done"]()
    embedded = archive.embedded_count() or 0
    click.echo(f"Vettori calcolati: {count} (in tutto {embedded} articoli su {archive.article_count()}).")


def _render_segments(segments: list[Segment], color: bool) -> str:
    return "".join(
        click.style(for_terminal(t), bold=True) if m and color else for_terminal(t) for t, m in segments
    )


def filter_options(command: Callable) -> Callable:
    """The filters' options (search.FILTER_KINDS), in the table's order."""
    options = [option for kind in FILTER_KINDS for option in kind.options]
    for option in reversed(options):  # the first decorator applied is listed last
        command = click.option(
            *option.names, option.argument, metavar=option.metavar, help=option.help, multiple=option.multiple
        )(command)
    return command


@main.command()
@click.argument("text", required=False, default="")
@filter_options
@click.option(
    "--sort",
    type=click.Choice(["relevance", "newest", "oldest"]),
    default="relevance",
    show_default=True,
    help="Ordine: per pertinenza, prima i più recenti, prima i meno recenti.",
)
@click.option(
    "--recency",
    "--premia-recenti",
    is_flag=True,
    help="Con l'ordine per rilevanza: a parità di pertinenza, prima gli articoli più recenti.",
)
@click.option(
    "--all-copies",
    "--tutte-le-copie",
    is_flag=True,
    help="Ogni copia della stessa notizia (altre fonti, agenzie) al suo posto, non raggruppate.",
)
@click.option("--page", default=1, show_default=True, type=int, help="Pagina dei risultati.")
@click.option("--limit", "per_page", default=10, show_default=True, type=int, help="Risultati per pagina.")
@click.option("--json", "as_json", is_flag=True, help="Un oggetto JSON, per i programmi.")
@click.option(
    "--format",
    "export_format",
    type=click.Choice(EXPORT_FORMATS),
    help="Tutti i risultati (non una pagina) in CSV (per i fogli di calcolo) o JSON Lines.",
)
@click.pass_context
def query(ctx, text, sort, recency, all_copies, page, per_page, as_json, export_format, **filters):
    """Cerca negli articoli: tutte le parole, "frasi esatte", OR, -parola, prefisso*.

    Senza parole elenca gli articoli dei filtri scelti, dal più recente
    (ad esempio: archivio query --categoria cronaca)."""
    filters = {name: list(value) if isinstance(value, tuple) else value for name, value in filters.items()}
    if export_format:
        request = SearchRequest.of(
            text, sort=sort, recency=recency, facets=False, fold=not all_copies, **filters
        )
        export = export_search(_archive(ctx), request)
        for line in export_lines(export_format, export.hits):
            click.echo(line, nl=False)
        if not export.complete:
            listed, total = (f"{n:,}".replace(",", ".") for n in (export.listed, export.total))
            click.echo(
                f"Esportati i primi {listed} risultati di {total}: restringi la ricerca con i filtri "
                "per averli tutti.",
                err=True,
            )
        return
    result = _archive(ctx).search(
        text, **filters, sort=sort, page=page, per_page=per_page, recency=recency, fold=not all_copies
    )
    if as_json:
        click.echo(json_for_terminal(json.dumps(result.to_dict(), ensure_ascii=False)))
        return
    color = sys.stdout.isatty()
    if result.suggestion:
        click.echo(f"Forse cercavi: {for_terminal(result.suggestion)}")
    for line in _result_notes(result):
        click.echo(line)
    found = "articolo trovato" if result.total == 1 else "articoli trovati"
    stories = result.stories
    told = "notizia diversa" if stories == 1 else "notizie diverse"
    click.echo(
        f"{result.total} {found}"
        + (f", {stories} {told}" if stories is not None and stories < result.total else "")
        + f" ({result.elapsed * 1000:.0f} ms)"
        + (f" · pagina {result.page} di {result.pages}" if result.total else "")
    )
    for n, hit in enumerate(result.hits, start=(page - 1) * per_page + 1):
        a = hit.article
        click.echo()
        click.echo(f"{n}. " + click.style(for_terminal(a.title), bold=color))
        meta = [format_italian(a.date), a.author, a.category, a.source]
        if not hit.all_words and not result.fallback:
            meta.append(PARTIAL_MARK)
        click.echo("   " + " · ".join(for_terminal(m) for m in meta if m) + f"   [{for_terminal(a.id)}]")
        click.echo("   " + _render_segments(hit.segments, color))
        if hit.other_sources:
            others = ", ".join(for_terminal(o.source or o.id) for o in hit.other_sources)
            label = "e un'altra fonte" if hit.copies == 1 else f"e altre {hit.copies} fonti"
            click.echo(f"   {label}: {others}")


# Beside a hit that holds only some of the words, when others hold them all.
PARTIAL_MARK = "solo alcune parole"


def _result_notes(result) -> list[str]:
    """What the reader must know about the list: all words or some, a time cut."""
    notes = []
    partial = result.partial_total
    if result.fallback:
        notes.append("Nessun articolo contiene tutte le parole: ecco quelli che ne contengono di più.")
    elif partial:
        notes.append(
            f"{result.exact_total} "
            + ("contiene" if result.exact_total == 1 else "contengono")
            + " tutte le parole; "
            + ("un altro ne contiene" if partial == 1 else f"altri {partial} ne contengono")
            + f" solo alcune ({'segnato' if partial == 1 else 'segnati'} «{PARTIAL_MARK}»)."
        )
    if result.cut:
        notes.append(
            "Tempo esaurito: gli articoli con solo alcune parole sono in ordine di data, "
            "non di pertinenza (il conteggio è completo)."
        )
    return notes


@main.command()
@click.argument("article_id")
@click.option("--json", "as_json", is_flag=True, help="L'articolo in JSON, per i programmi.")
@click.pass_context
def show(ctx, article_id, as_json):
    """Mostra un articolo per intero."""
    article = _archive(ctx).get(article_id)
    if article is None:
        _fail(f"Articolo non trovato: {for_terminal(article_id)}")
    if as_json:
        click.echo(json_for_terminal(json.dumps(article.to_dict(), ensure_ascii=False, indent=2)))
        return
    # Stored text may predate the import's cleaning: nothing reaches the terminal raw.
    click.secho(for_terminal(article.title), bold=sys.stdout.isatty())
    if article.subtitle:
        click.echo(for_terminal(article.subtitle))
    meta = [format_italian(article.date), article.author, article.category, article.source, article.url]
    click.echo(" · ".join(for_terminal(m) for m in meta if m))
    click.echo()
    click.echo(for_terminal(article.body, multiline=True))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="I numeri in JSON, per i programmi.")
@click.pass_context
def stats(ctx, as_json):
    """Numeri dell'archivio: articoli, periodo, autori e categorie principali."""
    s = _archive(ctx).stats()
    if as_json:
        click.echo(json_for_terminal(json.dumps(s, ensure_ascii=False, indent=2)))
        return
    indexed = s["indexed"] if s["indexed"] is not None else "nessun indice"
    click.echo(f"Articoli: {s['articles']} (nell'indice: {indexed})")
    if s["first_date"]:
        first, last = _it_date(s["first_date"]), _it_date(s["last_date"])
        click.echo(f"Periodo: {_elided('dal', first)} {_elided('al', last)}")
    for title, key in (("Autori", "authors"), ("Categorie", "categories"), ("Fonti", "sources")):
        if s[key]:
            click.echo(f"{title} principali:")
            for row in s[key]:
                click.echo(f"  {row['count']:>6}  {for_terminal(row['value'])}")


def _elided(preposition: str, day: str) -> str:
    """ "dal 3 marzo", but "dall'8 marzo", "all'11 marzo": otto and undici start with a vowel."""
    if day.split(" ", 1)[0] in ("8", "11"):
        return f"{preposition}l'{day}"
    return f"{preposition} {day}"


def _it_date(iso: str) -> str:
    from datetime import date

    return format_italian(date.fromisoformat(iso))


# PostgreSQL's ranking (search.pg.rum), as `check` reports it.
RANKINGS = {
    "rum": "Ordinamento per rilevanza: indice RUM (i candidati migliori letti dall'indice).",
    "available": (
        "Ordinamento per rilevanza: indice GIN. Il server ha l'estensione RUM, che rende più veloci "
        "le ricerche con molti risultati: con ARCHIVIO_PG_RUM=1 `archivio rebuild` crea il suo indice "
        "(serve un superutente, o `CREATE EXTENSION rum;` eseguito da uno). Non con repliche in "
        "streaming: la versione 1.3 dell'estensione le arresta."
    ),
    "absent": (
        "Ordinamento per rilevanza: indice GIN (estensione RUM non installata sul server: "
        "su Debian il pacchetto postgresql-15-rum)."
    ),
}


@main.command()
@click.option("--fix", is_flag=True, help="Se indice e archivio non coincidono, ricostruisce l'indice.")
@click.pass_context
def check(ctx, fix):
    """Verifica che archivio e indice coincidano (numero e id degli articoli).

    Esce con 0 se coincidono, 1 se no (o se resta una ricostruzione interrotta),
    3 se differiscono perché un'operazione di scrittura è in corso."""
    archive = _archive(ctx)
    report = archive.check()
    click.echo(
        f"Archivio: {report['store']} articoli · indice: "
        f"{report['index'] if report['index'] is not None else 'assente'}"
    )
    writer = report.get("writer")
    running = (
        f"Un'operazione di scrittura è in corso (processo {writer})"
        if writer
        else "Un'operazione di scrittura è in corso"
    )
    if report.get("ranking"):
        click.echo(RANKINGS[report["ranking"]])
    if report["ok"]:
        click.echo("Archivio e indice coincidono.")
        if writer is not None:
            click.echo(f"{running}.")
        return
    if not report["integrity"]:
        _fail(
            "L'archivio SQLite è danneggiato (PRAGMA integrity_check): "
            "ripristina una copia di sicurezza; ricostruire l'indice non basta."
        )
    if writer is not None:
        # Not an interruption: the writer brings the index in step when it ends.
        click.echo(
            f"{running}: archivio e indice saranno allineati al suo termine. "
            "Ripeti la verifica quando è finita."
        )
        sys.exit(3)
    if report.get("error"):
        click.echo(report["error"])
    else:
        for key, label in (
            ("missing_from_index", "Mancano nell'indice"),
            ("missing_from_store", "Nell'indice ma non nell'archivio"),
        ):
            if report[key]:
                more = " …" if len(report[key]) == 20 else ""
                click.echo(f"{label}: {', '.join(for_terminal(i) for i in report[key])}{more}")
    if report["stale"]:
        click.echo(
            "Un'importazione o una rimozione è stata interrotta prima di aggiornare l'indice: "
            "l'indice può contenere versioni vecchie degli articoli."
        )
    if report.get("outdated"):
        click.echo(report["outdated"])
    if report.get("facets_off"):
        click.echo(
            f"I conteggi per autore, categoria e data non corrispondono agli articoli "
            f"({report['facets_off']} righe): li ricalcola la ricostruzione dell'indice."
        )
    leftovers = report.get("leftovers") or []
    for name, size in leftovers:
        what = "un'importazione" if "/runs-" in name else "una ricostruzione"
        click.echo(
            f"Resta la cartella di {what} interrotta: {name} ({megabytes(size)}); "
            "`check --fix` o il prossimo `rebuild` la rimuovono."
        )
    in_step = not (
        report.get("error")
        or report["missing_from_index"]
        or report["missing_from_store"]
        or report["stale"]
        or report.get("facets_off")
    )
    if fix:
        if in_step and not report.get("outdated"):
            for name, size in archive.remove_leftovers():
                click.echo(f"Rimossa {name} ({megabytes(size)}).")
        else:
            # First the articles an interrupted writer listed (the space of an
            # import), then, if the two still differ, the whole index.
            reindexed = archive.repair() if report["stale"] and not report.get("outdated") else None
            if reindexed is not None and archive.check()["ok"]:
                click.echo(f"Indice riallineato: {reindexed} articoli reindicizzati.")
            else:
                count = archive.rebuild()
                click.echo(f"Indice ricostruito: {count} articoli.")
        if not archive.check()["ok"]:
            _fail("Archivio e indice non coincidono neppure dopo la ricostruzione.")
        click.echo("Archivio e indice coincidono.")
        return
    if in_step and leftovers and not report.get("outdated"):
        _fail("Archivio e indice coincidono, ma resta spazio occupato: esegui `archivio check --fix`.")
    if report.get("outdated") and in_step:
        _fail("L'indice va ricostruito con l'analisi attuale: esegui `archivio rebuild` (o `check --fix`).")
    _fail("Archivio e indice non coincidono: esegui `archivio rebuild` (o `check --fix`).")


@main.command()
@click.pass_context
def demo(ctx):
    """Importa l'archivio dimostrativo, se l'archivio è vuoto."""
    archive = _archive(ctx)
    if archive.article_count():
        click.echo(f"L'archivio contiene già {archive.article_count()} articoli.")
        if not archive.has_index():
            archive.rebuild()
        return
    report = archive.import_paths([DEMO_DIR])
    if not report.added:
        _fail(f"Articoli dimostrativi non trovati in {for_terminal(str(DEMO_DIR))}: reinstalla Archivio.")
    click.echo(f"Archivio dimostrativo importato: {report.added} articoli.")


@main.command()
@click.option("--since", metavar="DATA", help="Dal giorno (AAAA-MM-GG o GG/MM/AAAA).")
@click.option("--until", metavar="DATA", help="Fino al giorno compreso.")
@click.option(
    "--by",
    type=click.Choice(["day", "week"]),
    default="day",
    show_default=True,
    help="Per giorno o per settimana.",
)
@click.option(
    "--top", default=10, show_default=True, type=click.IntRange(1, 1000), help="Ricerche per elenco."
)
@click.option("--json", "as_json", is_flag=True, help="Un oggetto JSON, per i programmi.")
@click.pass_context
def report(ctx, since, until, by, top, as_json):
    """Che cosa hanno cercato i lettori del sito: le ricerche più frequenti,
    quelle senza risultati, le più lente, per giorno o per settimana."""
    path = log_path(ctx.obj["data_dir"])
    if path is None:
        _fail("Il registro delle ricerche è spento (ARCHIVIO_SEARCH_LOG=0).")
    if not path.exists():
        _fail(
            f"Nessuna ricerca registrata ancora in {for_terminal(str(path))}: "
            "il sito le registra mentre risponde."
        )
    search_log = SearchLog(path)
    try:
        data = search_log.report(
            parse_query_date(since, "iniziale"), parse_query_date(until, "finale"), by, top
        )
    finally:
        search_log.close()
    if as_json:
        click.echo(json_for_terminal(json.dumps(data, ensure_ascii=False, indent=2)))
        return
    period = "giorno" if by == "day" else "settimana (dal lunedì)"
    click.echo(f"Ricerche: {data['searches']} · senza risultati: {data['zero_results']}")
    click.echo(f"\nPer {period}:")
    for p in data["periods"]:
        click.echo(f"  {p['period']}  {p['searches']:>7}  senza risultati {p['zero_results']}")
    for title, rows in (("Le più cercate", "top_queries"), ("Senza risultati", "zero_result_queries")):
        click.echo(f"\n{title}:")
        for r in data[rows]:
            click.echo(f"  {r['count']:>7}  {for_terminal(r['query'])}")
    click.echo("\nLe più lente:")
    for r in data["slowest"]:
        click.echo(f"  {r['ms']:>8.1f} ms  {for_terminal(r['query'])}  ({r['results']} risultati, {r['at']})")


@main.command("config")
@click.option("--json", "as_json", is_flag=True, help="Un oggetto JSON, per i programmi.")
@click.pass_context
def config_cmd(ctx, as_json):
    """Le impostazioni in uso e da dove vengono: opzione, ambiente, file di
    configurazione o valore predefinito."""
    loaded = ctx.meta["archivio_config"]
    parent = ctx.parent
    rows = []
    for setting in config.SETTINGS:
        source = loaded.sources[setting.key]
        value = os.environ.get(setting.env, "")
        # The group's own options (--data-dir, --dsn...) are named as the settings.
        if parent.get_parameter_source(setting.key) == click.core.ParameterSource.COMMANDLINE:
            source, value = "opzione", parent.params[setting.key]
        if source == "file":
            source = f"file {loaded.path}"
        if source == "predefinito":
            value = setting.default
        if setting.key in ("dsn", "dsn_read") and value:
            value = _without_password(value)
        rows.append({"key": setting.key, "value": value, "source": source, "env": setting.env})
    if as_json:
        out = {"file": str(loaded.path) if loaded.path else None, "settings": rows}
        click.echo(json_for_terminal(json.dumps(out, ensure_ascii=False, indent=2)))
        return
    click.echo(f"File di configurazione: {for_terminal(str(loaded.path)) if loaded.path else 'nessuno'}")
    width = max(len(r["key"]) for r in rows)
    for r in rows:
        click.echo(
            f"  {r['key']:<{width}}  {for_terminal(str(r['value']))}"
            f"  ({for_terminal(r['source'])}; {r['env']})"
        )


def _without_password(dsn: str) -> str:
    """A DSN as shown: its password, if any, hidden."""
    return re.sub(r"(://[^:/@]+:)[^@]+@", r"\1***@", re.sub(r"(password=)\S+", r"\1***", dsn))


@main.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    envvar="ARCHIVIO_HOST",
    metavar="INDIRIZZO",
    help="Indirizzo su cui ascoltare.",
)
@click.option(
    "--port",
    default=8000,
    show_default=True,
    envvar="ARCHIVIO_PORT",
    type=click.IntRange(1, 65535),
    metavar="PORTA",
    help="Porta.",
)
@click.option(
    "--threads",
    default=8,
    show_default=True,
    envvar="ARCHIVIO_THREADS",
    type=click.IntRange(1, 64),
    help="Richieste in parallelo.",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    envvar="ARCHIVIO_WORKERS",
    type=click.IntRange(1, 64),
    help="Processi che rispondono (fino a uno per core: più ricerche al secondo).",
)
@click.pass_context
def serve(ctx, host, port, threads, workers):
    """Avvia il sito di ricerca con il server WSGI di produzione (waitress)."""
    metrics_dir = None
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # /metrics counts every worker: prometheus-client reads this when first imported.
        metrics_dir = tempfile.mkdtemp(prefix="archivio-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    from archivio.web import create_app, warm_app
    from archivio.web.server import port_taken
    from archivio.web.server import serve as serve_site

    if port_taken(host, port):
        _fail(
            f"La porta {port} è già in uso da un altro programma: chiudilo, "
            "o scegli un'altra porta con --port."
        )
    archive = _archive(ctx)
    if not archive.has_index():
        click.secho(
            "Attenzione: indice non trovato, il sito risponde «in manutenzione».", fg="yellow", err=True
        )
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"Archivio: http://{shown}:{port}/  (Ctrl+C per fermare)")
    # Each worker opens its own archive (nothing opened crosses a fork).
    config = {"ARCHIVIO_SEARCH_LOG": log_path(ctx.obj["data_dir"])}

    def make_app(archive: ArchiveBackend):  # a Flask app (flask is imported with the web face)
        app = create_app(archive, config)
        # Before it listens: the first readers would pay these (at 100k, 0.7 s).
        warm_app(app)
        return app

    made = (lambda: make_app(_archive(ctx))) if workers > 1 else (lambda: make_app(archive))
    try:
        serve_site(made, host=host, port=port, threads=threads, workers=workers)
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
