"""Archivio's command line: a thin face over `search.Archive`.

Every command mirrors one method of the Python API; messages are Italian.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from search import Archive, DateError, IndexMissing, QueryError, WriterBusy
from search.dates import format_italian
from search.importers import FORMATS
from search.snippets import Segment

DEMO_DIR = Path(__file__).resolve().parent / "demo" / "articoli"


def _archive(ctx: click.Context) -> Archive:
    return ctx.obj["archive_factory"]()


def _fail(message: str, code: int = 1) -> None:
    click.secho(message, fg="red", err=True)
    sys.exit(code)


class ArchiveGroup(click.Group):
    """Turns the engine's expected errors into clear messages, never tracebacks."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (QueryError, DateError) as e:
            _fail(f"Errore: {e}", 2)
        except IndexMissing as e:
            _fail(str(e))
        except WriterBusy as e:
            _fail(str(e), 3)


@click.group(cls=ArchiveGroup)
@click.option(
    "--data-dir",
    envvar="ARCHIVIO_DATA",
    type=click.Path(file_okay=False),
    help="Cartella dell'archivio (default ./data, o $ARCHIVIO_DATA).",
)
@click.option(
    "--index-dir",
    envvar="ARCHIVIO_INDEX",
    type=click.Path(file_okay=False),
    help="Cartella dell'indice (default ./index, o $ARCHIVIO_INDEX).",
)
@click.pass_context
def main(ctx: click.Context, data_dir: str | None, index_dir: str | None) -> None:
    """Archivio: ricerca negli archivi di notizie in italiano."""
    ctx.ensure_object(dict)
    ctx.obj["archive_factory"] = lambda: Archive(data_dir, index_dir)


def _progress(label: str, total: int | None = None):
    """A progress callback drawing a bar on a terminal, silent otherwise."""
    if not sys.stderr.isatty():
        return None, lambda: None
    bar = click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True)
    bar.__enter__()
    state = {"done": 0}

    def update(count: int) -> None:
        bar.update(count - state["done"])
        state["done"] = count

    return update, lambda: bar.__exit__(None, None, None)


@main.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Forza il formato dei file.")
@click.option("--dry-run", is_flag=True, help="Analizza e riporta, senza scrivere nulla.")
@click.option("--no-index", is_flag=True, help="Salva solo nell'archivio (poi esegui `rebuild`).")
@click.option("--json", "as_json", is_flag=True, help="Riepilogo in JSON.")
@click.pass_context
def import_cmd(ctx, paths, fmt, dry_run, no_index, as_json):
    """Importa articoli da file e cartelle (testo, JSON, JSON Lines, anche .gz)."""
    archive = _archive(ctx)
    update, done = _progress("Importazione")
    try:
        report = archive.import_paths(paths, fmt=fmt, index=not no_index, dry_run=dry_run, progress=update)
    finally:
        done()
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        verb = "Da importare" if dry_run else "Aggiunti"
        click.echo(
            f"{verb}: {report.added} · aggiornati: {report.updated} · invariati: {report.unchanged}"
            f" · duplicati: {report.duplicates} · scartati: {len(report.rejected)}"
            f"  ({report.elapsed:.1f} s)"
        )
        for r in report.rejected:
            click.secho(f"  scartato {r}", fg="yellow", err=True)
    if report.rejected:
        sys.exit(1)


@main.command()
@click.option(
    "--procs", default=1, show_default=True, type=click.IntRange(1, 16), help="Processi per l'indicizzazione."
)
@click.pass_context
def rebuild(ctx, procs):
    """Ricostruisce l'indice dall'archivio e lo sostituisce in modo atomico."""
    archive = _archive(ctx)
    update, done = _progress("Indicizzazione", archive.store.count())
    try:
        count = archive.rebuild(procs=procs, progress=update)
    finally:
        done()
    click.echo(f"Indice ricostruito: {count} articoli.")


def _render_segments(segments: list[Segment], color: bool) -> str:
    return "".join(click.style(t, bold=True) if m and color else t for t, m in segments)


@main.command()
@click.argument("text")
@click.option("--author", "--autore", help="Solo articoli di questo autore.")
@click.option("--category", "--categoria", multiple=True, help="Solo questa categoria (ripetibile).")
@click.option("--since", "--da", help="Dalla data (AAAA-MM-GG), inclusa.")
@click.option("--until", "--a", help="Fino alla data (AAAA-MM-GG), inclusa.")
@click.option(
    "--sort", type=click.Choice(["relevance", "newest", "oldest"]), default="relevance", show_default=True
)
@click.option("--page", default=1, show_default=True, type=int)
@click.option("--limit", "per_page", default=10, show_default=True, type=int, help="Risultati per pagina.")
@click.option("--json", "as_json", is_flag=True, help="Un oggetto JSON, per i programmi.")
@click.pass_context
def query(ctx, text, author, category, since, until, sort, page, per_page, as_json):
    """Cerca negli articoli: tutte le parole, "frasi esatte", OR, -parola, prefisso*."""
    result = _archive(ctx).search(
        text,
        author=author,
        category=list(category),
        since=since,
        until=until,
        sort=sort,
        page=page,
        per_page=per_page,
    )
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
        return
    color = sys.stdout.isatty()
    if result.suggestion:
        click.echo(f"Forse cercavi: {result.suggestion}")
    if result.fallback:
        click.echo("Nessun articolo contiene tutte le parole: ecco quelli che ne contengono di più.")
    found = "articolo trovato" if result.total == 1 else "articoli trovati"
    click.echo(
        f"{result.total} {found} ({result.elapsed * 1000:.0f} ms)"
        + (f" · pagina {result.page} di {result.pages}" if result.total else "")
    )
    for n, hit in enumerate(result.hits, start=(page - 1) * per_page + 1):
        a = hit.article
        click.echo()
        click.echo(f"{n}. " + click.style(a.title, bold=color))
        meta = [format_italian(a.date), a.author, a.category, a.source]
        click.echo("   " + " · ".join(m for m in meta if m) + f"   [{a.id}]")
        click.echo("   " + _render_segments(hit.segments, color))


@main.command()
@click.argument("article_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def show(ctx, article_id, as_json):
    """Mostra un articolo per intero."""
    article = _archive(ctx).get(article_id)
    if article is None:
        _fail(f"Articolo non trovato: {article_id}")
    if as_json:
        click.echo(json.dumps(article.to_dict(), ensure_ascii=False, indent=2))
        return
    click.secho(article.title, bold=sys.stdout.isatty())
    if article.subtitle:
        click.echo(article.subtitle)
    meta = [format_italian(article.date), article.author, article.category, article.source, article.url]
    click.echo(" · ".join(m for m in meta if m))
    click.echo()
    click.echo(article.body)


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def stats(ctx, as_json):
    """Numeri dell'archivio: articoli, periodo, autori e categorie principali."""
    s = _archive(ctx).stats()
    if as_json:
        click.echo(json.dumps(s, ensure_ascii=False, indent=2))
        return
    indexed = s["indexed"] if s["indexed"] is not None else "nessun indice"
    click.echo(f"Articoli: {s['articles']} (nell'indice: {indexed})")
    if s["first_date"]:
        click.echo(f"Periodo: dal {_it_date(s['first_date'])} al {_it_date(s['last_date'])}")
    for title, key in (("Autori", "authors"), ("Categorie", "categories"), ("Fonti", "sources")):
        if s[key]:
            click.echo(f"{title} principali:")
            for row in s[key]:
                click.echo(f"  {row['count']:>6}  {row['value']}")


def _it_date(iso: str) -> str:
    from datetime import date

    return format_italian(date.fromisoformat(iso))


@main.command()
@click.option("--fix", is_flag=True, help="Se indice e archivio non coincidono, ricostruisce l'indice.")
@click.pass_context
def check(ctx, fix):
    """Verifica che archivio e indice coincidano (numero e id degli articoli)."""
    archive = _archive(ctx)
    report = archive.check()
    click.echo(
        f"Archivio: {report['store']} articoli · indice: "
        f"{report['index'] if report['index'] is not None else 'assente'}"
    )
    if report["ok"]:
        click.echo("Archivio e indice coincidono.")
        return
    if report.get("error"):
        click.echo(report["error"])
    if report["missing_from_index"]:
        click.echo(f"Mancano nell'indice: {report['missing_from_index']}")
    if report["missing_from_store"]:
        click.echo(f"Nell'indice ma non nell'archivio: {report['missing_from_store']}")
    if fix:
        count = archive.rebuild()
        click.echo(f"Indice ricostruito: {count} articoli.")
        return
    _fail("Archivio e indice non coincidono: esegui `archivio rebuild` (o `check --fix`).")


@main.command()
@click.pass_context
def demo(ctx):
    """Importa l'archivio dimostrativo, se l'archivio è vuoto."""
    archive = _archive(ctx)
    if archive.store.count():
        click.echo(f"L'archivio contiene già {archive.store.count()} articoli.")
        if not archive.index.exists():
            archive.rebuild()
        return
    report = archive.import_paths([DEMO_DIR])
    click.echo(f"Archivio dimostrativo importato: {report.added} articoli.")


if __name__ == "__main__":
    main()
