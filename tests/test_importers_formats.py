"""Importing HTML pages, RSS/Atom feeds, WordPress exports and CSV; encodings;
duplicates across formats; export/import round trip; remove.

The parsers are tested on their own; what an import does to an archive
(tests marked both_backends) on each backend.

The fixtures under tests/fixtures/importers/ are invented articles from two
invented papers ("Gazzetta del Borgo", "Il Corriere della Valle"); the same
Gazzetta articles appear in its WordPress export, its feed and its pages.
"""

from __future__ import annotations

import gzip
import io
import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from archivio.cli import main as cli_main
from archivio.search import Archive
from archivio.search.article import FIELDS
from archivio.search.importers import (
    CsvMapError,
    Skipped,
    detect_format,
    parse_csv_map,
    read_paths,
    scan_paths,
)
from archivio.search.importers.base import RecordError, Rejection, decode_bytes, repair_mojibake, scoped_id
from archivio.search.importers.html import clean_paragraphs, html_to_text
from archivio.search.importing import FormatCounts

from .conftest import archive_at, archive_env, stored_articles

FIX = Path(__file__).resolve().parent / "fixtures" / "importers"
WXR = FIX / "export_wordpress.xml"
RSS = FIX / "feed_gazzetta.rss"
ATOM = FIX / "feed_valle.atom"
PAGE_WP = FIX / "pagina_wordpress.html"
PAGE_NEWS = FIX / "pagina_quotidiano.html"
PAGE_LEGACY = FIX / "pagina_legacy_cp1252.html"
CSV_IT = FIX / "articoli_redazione.csv"
CSV_OWN = FIX / "articoli_colonne_proprie.csv"
JSONL = FIX / "articoli_archivio.jsonl"
OWN_MAP = {"title": "Titolo articolo", "body": "Corpo del pezzo", "author": "Giornalista", "date": "Giorno"}
OWN_MAP["url"] = "Pagina web"

BORGO = "https://www.gazzettadelborgo.example"
BATTELLO_URL = f"{BORGO}/cronaca/2024/05/18/battello-elettrico-lago/"
CASA_URL = f"{BORGO}/salute/2024/05/21/casa-di-comunita-borgo-alto/"
CORO_URL = f"{BORGO}/cultura/2023/12/30/coro-borgo-alto-cinquanta-anni/"
BATTELLO_TITLE = "Torna il battello elettrico sul lago: corse ogni ora fino a ottobre"
CASA_TITLE = "Sanità, apre la Casa di comunità: “Medici e infermieri sotto lo stesso tetto”"
CASA_SUBTITLE = (
    "Nell'ex scuola di via dei Mulini ambulatori aperti dodici ore al giorno, "
    "prelievi senza prenotazione e uno sportello per l'assistenza domiciliare."
)
BATTELLO_P1 = (
    "Da sabato il battello elettrico torna a solcare il lago. Dopo due anni di lavori nel cantiere di "
    "Riva Nord, la nuova imbarcazione a batterie collegherà i tre paesi della sponda settentrionale con "
    "una corsa ogni ora, dalle sette del mattino alle otto di sera."
)
PONTE_BODY = (
    "Da lunedì il ponte sul torrente Rio Freddo riapre al traffico, ma a senso unico alternato regolato "
    "da un semaforo.\n\nI tecnici della Provincia hanno verificato le pile dopo la piena di novembre: la "
    "struttura è sicura, ma servono ancora quattro mesi di lavori sulla carreggiata.\n\nIl sindaco ha "
    'chiesto "pazienza e prudenza"; per i mezzi pesanti resta il divieto di transito.'
)


def articles(items) -> list:
    return [i for i in items if not isinstance(i, (Rejection, Skipped))]


def rejections(items) -> dict[str, str]:
    return {r.location: r.reason for r in items if isinstance(r, Rejection)}


def fields(article) -> dict:
    d = article.to_dict()
    d.pop("id")
    return d


@pytest.fixture
def archive(empty_archive) -> Archive:
    """A new archive of the test's backend, kept in tmp_path."""
    return empty_archive


# -- HTML pages --------------------------------------------------------------------


def test_html_wordpress_page_exact_fields():
    (article,) = list(read_paths([PAGE_WP]))
    assert fields(article) == {
        "title": BATTELLO_TITLE,
        "subtitle": (
            "Il nuovo battello a batterie collegherà i tre paesi della sponda nord. "
            "Biglietto unico da due euro e bici a bordo gratis."
        ),
        "author": "Lucia Fontana",  # JSON-LD, not the article:author profile url
        "date": "2024-05-18",  # article:published_time, not the modified time
        "category": "Cronaca",
        "body": "\n\n".join(
            [
                BATTELLO_P1,
                "Il mezzo può trasportare fino a centoventi passeggeri e venti biciclette. Le batterie si "
                "ricaricano in mezz'ora alla banchina di Borgo Alto, dove il Comune ha installato una "
                "pensilina con pannelli solari. «È un investimento che guarda ai prossimi trent'anni», ha "
                "detto la sindaca Marta Guidi durante il viaggio inaugurale.",
                "Il biglietto unico costa due euro e vale novanta minuti su tutte le linee del lago; i "
                "residenti pagano la metà con la tessera comunale. Le biciclette viaggiano gratis fino a "
                "esaurimento dei posti.",
                "Orari ridotti nei giorni festivi",
                "La domenica e nei giorni festivi le corse saranno ogni novanta minuti. Il servizio "
                "proseguirà fino alla fine di ottobre, poi l'imbarcazione tornerà in cantiere per la "
                "manutenzione invernale.",
            ]
        ),
        "url": BATTELLO_URL,  # <link rel="canonical">
        "source": "Gazzetta del Borgo",
    }
    assert article.id == scoped_id(
        "html", "gazzettadelborgo.example/cronaca/2024/05/18/battello-elettrico-lago"
    )
    for boilerplate in ("cookie", "Condividi", "Leggi anche", "Iscriviti", "più letti", "Accetta", "Home"):
        assert boilerplate.lower() not in article.body.lower()


def test_html_page_id_follows_the_canonical_page_not_its_spelling(tmp_path):
    other = tmp_path / "salvata-di-nuovo.html"
    html = PAGE_WP.read_text(encoding="utf-8")
    other.write_text(html.replace(BATTELLO_URL, BATTELLO_URL.replace("https://www.", "http://").rstrip("/")))
    first, second = list(read_paths([PAGE_WP, other]))
    assert first.id == second.id and first.url != second.url


def test_html_newspaper_layout_exact_fields():
    (article,) = list(read_paths([PAGE_NEWS]))
    assert fields(article) == {
        "title": "Scuole, il Comune rifà le mense: cucine interne in dodici plessi",
        "subtitle": (
            "Addio ai pasti trasportati: entro il 2026 ogni scuola primaria avrà la propria cucina. "
            "Spesa prevista di 3,2 milioni"
        ),
        "author": "Paolo Ferri",
        "date": "2023-10-04",  # <time datetime>
        "category": "Scuola",  # the breadcrumb
        "body": (
            "Nelle scuole primarie della città i pasti non arriveranno più nei contenitori termici. Il "
            "Comune ha approvato il progetto che porta una cucina interna in dodici plessi, con l'obiettivo "
            "di servire piatti cucinati sul posto a oltre quattromila bambini.\n\n"
            "I lavori partiranno la prossima estate, a scuole chiuse, e si concluderanno entro il 2026. "
            "L'assessora all'istruzione Elena Russo ha spiegato che la spesa, 3,2 milioni di euro, sarà "
            "coperta in gran parte da fondi regionali.\n\n"
            "Le famiglie avevano segnalato più volte pasti freddi e porzioni scarse. «Cucinare a scuola "
            "significa anche poter seguire le diete dei bambini allergici con più attenzione», ha aggiunto "
            "Russo.\n\n"
            "Nei quattro plessi dove non c'è spazio per una cucina, i pasti arriveranno da un centro "
            "cottura comunale distante meno di due chilometri."
        ),
        "url": "https://corrieredellavalle.example/scuola/mense-cucine-interne-12-plessi-1.4821",
        "source": "Il Corriere della Valle",
    }
    for boilerplate in (
        "RIPRODUZIONE RISERVATA",
        "LEGGI ANCHE",
        "Rette della mensa",
        "correlati",
        "Commenti",
    ):
        assert boilerplate.lower() not in article.body.lower()


def test_html_legacy_cp1252_page_with_dateline():
    (article,) = list(read_paths([PAGE_LEGACY]))
    assert fields(article) == {
        "title": "Fiera del tartufo, in città arrivano trentamila visitatori",
        "subtitle": None,
        "author": "Giovanni Sala",  # from "Pubblicato il 14/11/2016 da Giovanni Sala"
        "date": "2016-11-14",
        "category": "Eventi",
        "body": (
            "La fiera del tartufo bianco ha chiuso con un bilancio record: trentamila visitatori in tre "
            "giorni e gli alberghi della città al completo per entrambi i fine settimana.\n\n"
            "Il prezzo del tartufo è rimasto stabile, intorno ai 300 € all'etto per le pezzature migliori. "
            "Perché la qualità di quest'anno è stata così alta? Secondo i cavatori merito delle piogge di "
            "settembre, arrivate al momento giusto.\n\n"
            "L'anno prossimo l'esposizione si sposterà nel chiostro di San Francesco, restaurato grazie a "
            "un contributo della Regione."
        ),
        "url": None,
        "source": "Il Notiziario di Montebello",  # the rest of <title>
    }


def test_html_without_article_is_rejected(tmp_path):
    page = tmp_path / "vuota.html"
    page.write_text(
        "<!doctype html><html><head><meta charset='utf-8'></head><body><nav>Home</nav></body></html>"
    )
    (rejection,) = list(read_paths([page]))
    assert rejection == Rejection(str(page), "", "manca il titolo (nessun <h1>, <title> o og:title)")


def test_html_fragments_become_paragraphs():
    html = (
        "<p>Primo <b>paragrafo</b>.</p><div><p>Secondo</p></div>Terzo<br>Quarto"
        "<ul><li>uno</li><li>due</li></ul><script>x()</script><p>&nbsp;</p>"
        "<figure><img src='a.jpg'><figcaption>Didascalia</figcaption></figure>"
        "<p><strong>Leggi anche:</strong></p><p><a href='/x'>Un altro titolo</a></p>"
        "<p>© Riproduzione riservata</p><p>https://www.youtube.com/watch?v=abc</p>"
    )
    assert html_to_text(html) == "Primo paragrafo.\n\nSecondo\n\nTerzo\n\nQuarto\n\nuno\n\ndue"
    wordpress = (
        "Riga uno\nriga due\n\n[caption id=\"1\"]<img src='x'> Foto[/caption]\n\n[vc_row]Testo[/vc_row]"
    )
    assert html_to_text(wordpress, wordpress=True) == "Riga uno\n\nriga due\n\nTesto"
    assert clean_paragraphs(["Condividi su Facebook", "Testo vero.", "Segui su Google News"]) == [
        "Testo vero."
    ]


# -- feeds ----------------------------------------------------------------------------


def test_rss_items_exact_fields_and_located_rejection():
    items = list(read_paths([RSS]))
    battello, casa, mercato = articles(items)
    assert fields(battello) == {
        "title": BATTELLO_TITLE,
        "subtitle": None,  # the description is the automatic excerpt
        "author": "Lucia Fontana",  # dc:creator
        "date": "2024-05-18",
        "category": "Cronaca",  # the first <category>
        "body": BATTELLO_P1 + "\n\nIl mezzo può trasportare fino a centoventi passeggeri e venti biciclette.",
        "url": BATTELLO_URL,
        "source": "Gazzetta del Borgo",
    }
    assert battello.id == scoped_id("feed", f"{BORGO}/?p=4101")  # the guid
    assert fields(casa) == {
        "title": CASA_TITLE,
        "subtitle": CASA_SUBTITLE,  # a written excerpt, not the start of the body
        "author": "Stefano Moretti",
        # 00:30 Italian time is still 21 May, though it is 20 May in UTC.
        "date": "2024-05-21",
        "category": "Salute",
        "body": "\n\n".join(
            [
                "Apre lunedì nell’ex scuola di via dei Mulini la prima Casa di comunità della valle. Medici "
                "di famiglia, infermieri e specialisti lavoreranno nello stesso edificio, aperto dalle otto "
                "alle venti.",
                "Cosa si potrà fare",
                "prelievi del sangue senza prenotazione, dalle 7.30 alle 9.30;",
                "visite infermieristiche e medicazioni;",
                "lo sportello per l’assistenza domiciliare.",
                "«È un presidio che mancava da vent’anni», ha detto il direttore del distretto, Carlo Bassi.",
                "Il costo dei lavori è stato di 1,4 milioni di euro.",
            ]
        ),
        "url": CASA_URL,
        "source": "Gazzetta del Borgo",
    }
    assert fields(mercato) == {
        "title": "Mercato del sabato, da giugno si sposta in piazza Garibaldi",
        "subtitle": None,
        "author": "Redazione Borgo",  # <author>email (Name)</author>
        "date": "2024-05-20",
        "category": "Cronaca",
        "body": (
            "Dal primo sabato di giugno le bancarelle lasceranno piazza del Duomo per piazza Garibaldi, dove "
            "c’è più spazio per i furgoni.\n\n"
            "Gli ambulanti hanno chiesto di mantenere l’orario attuale, dalle 7 alle 13."
        ),
        "url": f"{BORGO}/cronaca/2024/05/20/mercato-piazza-garibaldi/",
        "source": "Gazzetta del Borgo",
    }
    assert rejections(items) == {"voce 3": "manca il titolo"}
    assert mercato.origin == f"{RSS}:voce 4"


def test_atom_entries_exact_fields():
    first, second = list(read_paths([ATOM]))
    assert fields(first) == {
        "title": "Caseificio sociale, bilancio record: latte pagato di più ai soci",
        "subtitle": "Fatturato a 18 milioni, ai 140 allevatori 62 centesimi al litro.",
        "author": "Anna Colombo, Paolo Ferri",
        "date": "2024-02-29",  # <published>, in its own time zone
        "category": "Economia",
        "body": (
            "Il caseificio sociale della valle chiude il 2023 con un fatturato di 18 milioni di euro, il più "
            "alto dalla fondazione.\n\n"
            "Ai 140 soci allevatori il latte è stato pagato in media 62 centesimi al litro, otto in più "
            "dell'anno precedente."
        ),
        "url": "https://corrieredellavalle.example/economia/caseificio-sociale-bilancio-1.5120",
        "source": "Il Corriere della Valle – Economia",
    }
    assert fields(second) == {
        "title": "Apre il nuovo svincolo della provinciale: meno traffico in centro",
        "subtitle": None,
        "author": "Redazione",
        "date": "2024-03-01",  # only <updated>
        "category": None,
        "body": (
            "Da questa mattina è aperto lo svincolo tra la provinciale e la zona artigianale.\n\n"
            "I camion non dovranno più attraversare il centro storico."
        ),
        "url": "https://corrieredellavalle.example/cronaca/svincolo-provinciale-1.5131",
        "source": "Il Corriere della Valle – Economia",
    }


def test_feed_declaring_entities_is_refused(tmp_path):
    feed = tmp_path / "bomba.rss"
    feed.write_text(
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
        "<rss version='2.0'><channel><title>&b;</title><item><title>&b;</title>"
        "<description>x</description></item></channel></rss>"
    )
    (rejection,) = list(read_paths([feed]))
    assert "XML bomb" in rejection.reason and rejection.location == ""


# -- WordPress export ---------------------------------------------------------------------


def test_wxr_published_posts_only_with_display_names():
    items = list(scan_paths([WXR]))
    assert {fmt for fmt, _ in items} == {"wxr"}
    items = [item for _, item in items]
    battello, casa, coro = articles(items)
    assert fields(battello) == {
        "title": BATTELLO_TITLE,
        "subtitle": None,
        "author": "Lucia Fontana",  # display name of the login "lfontana"
        "date": "2024-05-18",  # wp:post_date, the site's local time
        "category": "Cronaca",
        "body": "\n\n".join(
            [
                BATTELLO_P1,  # the [caption] shortcode is gone
                "Il mezzo può trasportare fino a centoventi passeggeri e venti biciclette. Le batterie si "
                "ricaricano in mezz'ora alla banchina di Borgo Alto, dove il Comune ha installato una "
                "pensilina con pannelli solari.",
                "Il biglietto unico costa due euro e vale novanta minuti su tutte le linee del lago.",
                "I residenti pagano la metà con la tessera comunale.",
            ]
        ),
        "url": BATTELLO_URL,
        "source": "Gazzetta del Borgo",
    }
    assert battello.id == scoped_id("wxr", f"{BORGO}/?p=4101")
    assert fields(casa) == {
        "title": CASA_TITLE,
        "subtitle": CASA_SUBTITLE,  # the excerpt
        "author": "Stefano Moretti",
        "date": "2024-05-21",
        "category": "Salute",
        "body": "\n\n".join(
            [
                "Apre lunedì nell’ex scuola di via dei Mulini la prima Casa di comunità della valle. Medici "
                "di famiglia, infermieri e specialisti lavoreranno nello stesso edificio, aperto dalle otto "
                "alle venti.",
                "Cosa si potrà fare",
                "prelievi del sangue senza prenotazione, dalle 7.30 alle 9.30;",
                "visite infermieristiche e medicazioni;",
                "«È un presidio che mancava da vent’anni», ha detto il direttore del distretto, Carlo Bassi.",
            ]
        ),
        "url": CASA_URL,
        "source": "Gazzetta del Borgo",
    }
    assert fields(coro) == {
        "title": "Il coro di Borgo Alto festeggia cinquant'anni con un concerto in piazza",
        "subtitle": None,
        "author": "gbianchi",  # no wp:author entry: the login
        "date": "2023-12-30",
        "category": None,  # "Senza categoria" is WordPress's way of saying none
        "body": (
            "Sabato sera il coro di Borgo Alto ha festeggiato i suoi cinquant'anni con un concerto in piazza "
            "della Fontana.\n\n"
            "Sul palco anche i fondatori, che nel 1973 cantavano nella cappella dell'oratorio.\n\n"
            "Il prossimo appuntamento è per il concerto di Pasqua."
        ),
        "url": CORO_URL,
        "source": "Gazzetta del Borgo",
    }
    skipped = [(s.location, s.reason) for s in items if isinstance(s, Skipped)]
    assert skipped == [
        ("voce 1 (post 4100)", "allegato"),
        ("voce 4 (post 4125)", "bozza"),
        ("voce 5 (post 2)", "pagina"),
        ("voce 8 (post 12)", "voce di menu"),
    ]
    assert rejections(items) == {"voce 7 (post 4000)": "manca il titolo"}


def test_wxr_excerpt_too_long_for_a_subtitle_is_left_out(tmp_path):
    export = tmp_path / "export.xml"
    long_excerpt = "Tutto il testo copiato nel riassunto. " * 30
    export.write_text(WXR.read_text(encoding="utf-8").replace(CASA_SUBTITLE, long_excerpt), encoding="utf-8")
    casa = next(a for a in articles(read_paths([export])) if a.url == CASA_URL)
    assert casa.subtitle is None


BOMB = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">\n' for i in range(1, 10)
    )
    + ']>\n<rss xmlns:wp="http://wordpress.org/export/1.2/"><channel><title>&lol9;</title></channel></rss>\n'
)


def test_wxr_xml_bomb_and_external_entities_are_rejected_unexpanded(tmp_path):
    bomb = tmp_path / "bomba.xml"
    bomb.write_text(BOMB)
    external = tmp_path / "esterna.xml"
    external.write_text(
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<rss xmlns:wp="http://wordpress.org/export/1.2/"><channel><title>&x;</title></channel></rss>'
    )
    items = list(read_paths([bomb, external], fmt="wxr"))
    assert [(r.path, r.location) for r in items] == [(str(bomb), ""), (str(external), "")]
    assert all(isinstance(r, Rejection) and "rifiutato per sicurezza" in r.reason for r in items)
    assert "XML bomb" in items[0].reason


def test_wxr_broken_xml_is_located(tmp_path):
    broken = tmp_path / "rotto.xml"
    broken.write_bytes(WXR.read_bytes()[:3000])
    items = list(read_paths([broken]))
    assert isinstance(items[-1], Rejection) and items[-1].reason.startswith("XML non valido (riga ")


# -- CSV ------------------------------------------------------------------------------------


def test_csv_semicolons_italian_headers_bom_and_located_rejections():
    items = list(read_paths([CSV_IT]))
    ponte, biblioteca = articles(items)
    assert fields(ponte) == {
        "title": "Ponte sul torrente, riapre a senso unico alternato",
        "subtitle": "Il cantiere durerà fino a luglio: semaforo e limite di 30 all'ora",
        "author": "Giulia Conti",
        "date": "2024-03-12",
        "category": "Viabilità",
        "body": PONTE_BODY,
        "url": None,
        "source": "Gazzetta del Borgo",
    }
    assert fields(biblioteca) == {
        "title": "Biblioteca, prestiti raddoppiati in un anno",
        "subtitle": None,
        "author": "Marco Villa",
        "date": "2024-04-02",
        "category": "Cultura",
        "body": (
            "Nel 2023 la biblioteca civica ha registrato diciottomila prestiti, il doppio dell'anno "
            "prima.\n\n"
            "Merito dell'apertura serale del giovedì e dei nuovi scaffali per ragazzi."
        ),
        "url": f"{BORGO}/cultura/2024/04/02/biblioteca-prestiti/",
        "source": "Gazzetta del Borgo",
    }
    # Rows counted as lines of the file: the first record spans lines 2-6.
    assert rejections(items) == {"riga 8": "manca il testo (body)", "riga 9": "data non valida: '31/02/2024'"}


def test_csv_with_a_column_map():
    (rejection,) = list(read_paths([CSV_OWN]))
    assert "--map title=" in rejection.reason
    (article,) = list(read_paths([CSV_OWN], csv_map=OWN_MAP))
    assert fields(article) == {
        "title": "Nevicata in alta valle, chiusa la strada del passo",
        "subtitle": None,
        "author": "Elena Gatti",
        "date": "2024-01-16",
        "category": None,
        "body": (
            "Trenta centimetri di neve fresca sopra i 1.500 metri: la strada del passo resta chiusa fino a "
            "domani.\n\nGli spazzaneve lavorano dalla notte."
        ),
        "url": "https://corrieredellavalle.example/cronaca/nevicata-passo-1.4990",
        "source": None,
    }
    assert parse_csv_map("title=Titolo articolo, body=Corpo del pezzo") == {
        "title": "Titolo articolo",
        "body": "Corpo del pezzo",
    }
    (missing,) = list(read_paths([CSV_OWN], csv_map={"title": "Titolo", "body": "Corpo del pezzo"}))
    assert missing.reason.startswith("colonna 'Titolo' (per title) assente nell'intestazione")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("titolo=x", "campo sconosciuto nella mappa: 'titolo'"),
        ("title", "voce della mappa non valida: 'title'"),
        ("title=a,title=b", "campo ripetuto nella mappa: 'title'"),
    ],
)
def test_bad_csv_maps(text, message):
    with pytest.raises(CsvMapError, match=message):
        parse_csv_map(text)


@pytest.mark.both_backends
def test_bad_csv_map_fails_before_writing(archive):
    with pytest.raises(ValueError, match="campo sconosciuto"):
        archive.import_paths([CSV_OWN], csv_map={"titolo": "Titolo articolo"})
    assert archive.article_count() == 0


def test_csv_comma_and_tab_and_extra_fields(tmp_path):
    comma = tmp_path / "a.csv"
    comma.write_text('title,body,date\n"Uno, due",Testo,2024-01-02\nTre,Testo,2024-01-03,in più\n')
    tab = tmp_path / "b.tsv"
    tab.write_text("titolo\ttesto\nQuattro\tTesto quattro\n")
    items = list(read_paths([comma, tab]))
    assert [a.title for a in articles(items)] == ["Uno, due", "Quattro"]
    assert rejections(items) == {
        "riga 3": "la riga ha 4 campi, l'intestazione 3: separatore o virgolette sbagliati"
    }


# -- detection, folders, report ---------------------------------------------------------


def test_formats_detected_by_content_then_extension(tmp_path):
    head = {p: p.read_bytes()[:8192] for p in (WXR, RSS, ATOM, PAGE_WP, PAGE_LEGACY, CSV_IT, JSONL)}
    assert [detect_format(p, h) for p, h in head.items()] == [
        "wxr",
        "rss",
        "rss",
        "html",
        "html",
        "csv",
        "jsonl",
    ]
    # The content wins over a misleading extension...
    assert detect_format(Path("feed.txt"), head[RSS]) == "rss"
    assert detect_format(Path("export.rss"), head[WXR]) == "wxr"
    # ...the extension decides when the content does not tell.
    assert detect_format(Path("frammento.htm"), b"<div><h1>Titolo</h1><p>Testo</p></div>") == "html"
    assert detect_format(Path("dati.xml"), b"<?xml version='1.0'?><catalogo/>") is None
    # --format forces a parser.
    (article,) = list(read_paths([PAGE_WP], fmt="html"))
    assert article.title == BATTELLO_TITLE


def test_folder_walk_picks_every_format_and_gzip(tmp_path):
    folder = tmp_path / "archivio"
    (folder / "sotto").mkdir(parents=True)
    for src, name in [
        (PAGE_WP, "a.htm"),
        (PAGE_NEWS, "sotto/b.html"),
        (RSS, "c.xml"),
        (ATOM, "d.atom"),
        (CSV_IT, "e.csv"),
        (JSONL, "f.jsonl"),
    ]:
        (folder / name).write_bytes(src.read_bytes())
    with gzip.open(folder / "g.xml.gz", "wb") as f:
        f.write(WXR.read_bytes())
    (folder / "foto.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (folder / ".nascosto.html").write_text("<html></html>")
    found = list(scan_paths([folder]))
    assert {fmt for fmt, _ in found} == {"html", "rss", "csv", "jsonl", "wxr"}
    per_file = {}
    for _, item in found:
        name = Path(item.origin.split(":")[0] if hasattr(item, "origin") else item.path).name
        per_file[name] = per_file.get(name, 0) + (0 if isinstance(item, (Rejection, Skipped)) else 1)
    assert per_file == {
        "a.htm": 1,
        "b.html": 1,
        "c.xml": 3,
        "d.atom": 2,
        "e.csv": 2,
        "f.jsonl": 2,
        "g.xml.gz": 3,
    }


@pytest.mark.both_backends
def test_report_counts_per_format_with_skipped(archive, tmp_path):
    report = archive.import_paths([WXR, RSS, CSV_IT], index=False)
    assert report.formats == {
        "wxr": FormatCounts(added=3, rejected=1, skipped=4),
        "rss": FormatCounts(added=1, duplicates=2, rejected=1),
        "csv": FormatCounts(added=2, rejected=2),
    }
    assert (report.added, report.duplicates, len(report.rejected), len(report.skipped)) == (6, 2, 4, 4)
    assert report.skipped_reasons() == {"allegato": 1, "bozza": 1, "pagina": 1, "voce di menu": 1}
    d = report.to_dict()
    assert d["skipped"] == 4 and d["formats"]["wxr"] == {
        "added": 3,
        "updated": 0,
        "unchanged": 0,
        "duplicates": 0,
        "rejected": 1,
        "skipped": 4,
    }
    dry = archive_at(tmp_path / "altro")
    report = dry.import_paths([ATOM, CSV_OWN], dry_run=True)
    assert report.formats == {"rss": FormatCounts(added=2), "csv": FormatCounts(rejected=1)}
    assert not (tmp_path / "altro").exists()
    assert dry.article_count() == 0
    dry.close()


# -- duplicates across formats ------------------------------------------------------------


@pytest.mark.both_backends
def test_the_same_article_from_other_formats_is_stored_once(archive):
    first = archive.import_paths([WXR], index=False)
    assert first.formats == {"wxr": FormatCounts(added=3, rejected=1, skipped=4)}
    stored_battello = archive.get(scoped_id("wxr", f"{BORGO}/?p=4101"))

    report = archive.import_paths([RSS, PAGE_WP, JSONL, CSV_IT], index=False)
    assert report.formats == {
        # battello and casa: same url as the WordPress posts
        "rss": FormatCounts(added=1, duplicates=2, rejected=1),
        # battello again
        "html": FormatCounts(duplicates=1),
        # the coro post under another id and http://, no www, no slash; the ponte row is new here
        "jsonl": FormatCounts(added=1, duplicates=1),
        # ponte: same title, date and text as the JSONL record, no url
        "csv": FormatCounts(added=1, duplicates=1, rejected=2),
    }
    assert archive.article_count() == 3 + 1 + 1 + 1
    # The first version stays; the twins never overwrite it.
    assert archive.get(stored_battello.id) == stored_battello
    assert archive.get(scoped_id("feed", f"{BORGO}/?p=4101")) is None
    assert archive.get("borgo-ponte").source == "Archivio interno"

    again = archive.import_paths([WXR, RSS], index=False)
    assert again.formats == {
        "wxr": FormatCounts(unchanged=3, rejected=1, skipped=4),
        "rss": FormatCounts(unchanged=1, duplicates=2, rejected=1),
    }


@pytest.mark.both_backends
def test_a_corrected_article_in_the_same_format_is_updated(archive, tmp_path):
    feed = tmp_path / "feed.rss"
    feed.write_bytes(RSS.read_bytes())
    archive.import_paths([feed], index=False)
    feed.write_bytes(RSS.read_bytes().replace(b"dalle 7 alle 13", b"dalle 7 alle 14"))
    report = archive.import_paths([feed], index=False)
    assert report.formats == {"rss": FormatCounts(updated=1, unchanged=2, rejected=1)}


# -- encodings ----------------------------------------------------------------------------

TEXT_ARTICLE = (
    "# La città si prepara\n\n*Pubblicato il 3 marzo 2024 di redazione*\n\nPerché la città è in festa.\n"
)


def test_cp1252_and_bom_and_utf16_files_decode_to_the_same_text(tmp_path):
    variants = {
        "cp1252.txt": TEXT_ARTICLE.encode("cp1252"),
        "latin1.txt": TEXT_ARTICLE.encode("latin-1"),
        "bom.txt": b"\xef\xbb\xbf" + TEXT_ARTICLE.encode("utf-8"),
        "utf16.txt": TEXT_ARTICLE.encode("utf-16"),
    }
    for name, data in variants.items():
        (tmp_path / name).write_bytes(data)
    got = list(read_paths([tmp_path / n for n in variants]))
    assert [(a.title, a.body) for a in got] == [("La città si prepara", "Perché la città è in festa.")] * 4


def test_cp1252_csv_and_json_lines(tmp_path):
    csv_file = tmp_path / "excel.csv"
    csv_file.write_bytes("titolo;testo;data\nLa città;Più servizi in città, €5;01/02/2024\n".encode("cp1252"))
    jsonl = tmp_path / "vecchio.jsonl"
    jsonl.write_bytes('{"title": "La città", "body": "Un caffè a 1 €"}\n'.encode("cp1252"))
    a, b = list(read_paths([csv_file, jsonl]))
    assert (a.title, a.body, a.date) == ("La città", "Più servizi in città, €5", date(2024, 2, 1))
    assert (b.title, b.body) == ("La città", "Un caffè a 1 €")


def test_undecodable_and_mixed_input_is_rejected_never_mojibake(tmp_path):
    mixed = tmp_path / "misto.txt"
    mixed.write_bytes(("# La città\n\n" + "Testo.\n").encode("utf-8") + "Perché sì.\n".encode("cp1252"))
    invalid = tmp_path / "rotto.csv"
    invalid.write_bytes(b"titolo;testo\nTitolo;caff\xe8 \x81\n")
    binary = tmp_path / "immagine.txt"
    binary.write_bytes(b"# \x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    items = list(read_paths([mixed, invalid, binary]))
    assert [r.reason for r in items] == [
        "codifica mista: il testo è in parte UTF-8 e in parte Windows-1252/Latin-1 "
        "(primo byte non UTF-8 alla riga 4); salvalo interamente in UTF-8",
        "codifica non riconosciuta: né UTF-8 né Windows-1252/Latin-1 (byte 0x81 alla riga 2)",
        "il file non è testo (contiene byte binari)",
    ]


def test_double_encoded_utf8_is_repaired_or_rejected(tmp_path):
    mojibake = "La città è più bella".encode().decode("cp1252")  # 'La cittÃ\xa0 Ã¨ piÃ¹ bella'
    assert repair_mojibake(mojibake) == "La città è più bella"
    assert repair_mojibake("Città, perché: «sì» — 5 €") == "Città, perché: «sì» — 5 €"
    with pytest.raises(RecordError, match="mojibake"):
        repair_mojibake(mojibake + ", però")  # half right, half wrong: no safe repair
    jsonl = tmp_path / "doppia.jsonl"
    rows = [{"title": mojibake, "body": "Testo."}, {"title": "Città", "body": mojibake + ", però"}]
    jsonl.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    repaired, rejected = list(read_paths([jsonl]))
    assert repaired.title == "La città è più bella"
    assert (
        rejected.location == "riga 2"
        and "il campo 'body' con caratteri corrotti (mojibake" in rejected.reason
    )


def test_decode_bytes_rules():
    assert decode_bytes("città".encode("cp1252")) == "città"
    assert decode_bytes(b"\xef\xbb\xbfcitt\xc3\xa0") == "città"
    with pytest.raises(RecordError, match="codifica mista"):
        decode_bytes("città ".encode() + "città".encode("cp1252"))


# -- export, round trip, remove -------------------------------------------------------------

ALL_SOURCES = [WXR, RSS, ATOM, PAGE_WP, PAGE_NEWS, PAGE_LEGACY, CSV_IT, JSONL]


@pytest.mark.both_backends
def test_export_then_import_gives_the_same_articles_field_by_field(tmp_path, make_archive):
    source = make_archive(tmp_path / "a")
    source.import_paths(ALL_SOURCES, index=False)
    source.import_paths([CSV_OWN], index=False, csv_map=OWN_MAP)
    out = io.StringIO()
    count = source.export(out)
    lines = out.getvalue().splitlines()
    assert count == len(lines) == source.article_count() == 11
    records = [json.loads(line) for line in lines]
    assert all(list(r) == list(FIELDS) for r in records)
    assert [r["id"] for r in records] == sorted(r["id"] for r in records)

    dump = tmp_path / "archivio.jsonl"
    dump.write_text(out.getvalue(), encoding="utf-8")
    target = make_archive(tmp_path / "b")
    report = target.import_paths([dump], index=False)
    assert (report.added, report.rejected) == (11, [])
    before = stored_articles(source)
    after = stored_articles(target)
    assert before.keys() == after.keys()
    for article_id, original in before.items():
        copy = after[article_id]
        for name in FIELDS:
            assert getattr(copy, name) == getattr(original, name), (article_id, name)
    again = io.StringIO()
    target.export(again)
    assert again.getvalue() == out.getvalue()
    source.close()
    target.close()


@pytest.mark.both_backends
def test_remove_from_store_and_index(archive, backend, tmp_path):
    archive.import_paths([RSS, ATOM])
    ids = list(stored_articles(archive))
    assert len(ids) == 5 and archive.check()["ok"]
    assert archive.search("caseificio").total == 1
    caseificio = scoped_id("feed", "tag:corrieredellavalle.example,2024:articolo-1.5120")
    removed = archive.remove([caseificio, "inesistente"])
    assert removed == [caseificio]
    assert archive.get(caseificio) is None
    if backend == "whoosh":  # PostgreSQL has no separate index: its check() below
        assert caseificio not in archive.index.doc_ids()
    fresh = archive_at(tmp_path)
    assert fresh.search("caseificio").total == 0
    fresh.close()
    check = archive.check()
    assert check["ok"] and check["store"] == check["index"] == 4


# -- command line -----------------------------------------------------------------------------


@pytest.mark.both_backends
def test_cli_import_with_map_summary_export_and_remove(tmp_path):
    runner = CliRunner(env=archive_env(tmp_path))
    base = ["--data-dir", str(tmp_path / "data"), "--index-dir", str(tmp_path / "index")]
    result = runner.invoke(
        cli_main, [*base, "import", str(WXR), str(RSS), str(CSV_OWN), "--map", "title=Titolo articolo"]
    )
    assert result.exit_code == 1  # some records rejected
    lines = result.stdout.splitlines()
    assert lines[0].startswith(
        "Aggiunti: 4 · aggiornati: 0 · invariati: 0 · duplicati: 2 · scartati: 3 · saltati: 4 "
        "(allegato 1, bozza 1, pagina 1, voce di menu 1)"
    )
    assert lines[1:] == [
        "  WordPress (WXR): aggiunti 3 · scartati 1 · saltati 4",
        "  feed RSS/Atom: aggiunti 1 · duplicati 2 · scartati 1",
        "  CSV: scartati 1",  # only title is mapped: no column for the text
    ]
    assert "scartato " + str(WXR) + ":voce 7 (post 4000): manca il titolo" in result.stderr

    result = runner.invoke(
        cli_main,
        [
            *base,
            "import",
            str(CSV_OWN),
            "--map",
            "title=Titolo articolo,body=Corpo del pezzo",
            "--map",
            "date=Giorno",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1] == "  CSV: aggiunti 1"

    out = tmp_path / "export.jsonl.gz"
    result = runner.invoke(cli_main, [*base, "export", "--output", str(out)])
    assert result.exit_code == 0 and result.stdout == f"Esportati 5 articoli in {out}.\n"
    with gzip.open(out, "rt", encoding="utf-8") as f:
        exported = [json.loads(line) for line in f]
    result = runner.invoke(cli_main, [*base, "export"])
    assert [json.loads(line) for line in result.stdout.splitlines()] == exported
    assert "Esportati 5 articoli." in result.stderr

    victim = exported[0]["id"]
    result = runner.invoke(cli_main, [*base, "remove", victim, "non-esiste"])
    assert result.exit_code == 1
    assert result.stdout == "Rimossi: 1.\n" and "non trovato: non-esiste" in result.stderr
    result = runner.invoke(cli_main, [*base, "check"])
    assert result.exit_code == 0 and "Archivio: 4 articoli · indice: 4" in result.stdout

    result = runner.invoke(cli_main, [*base, "import", str(CSV_OWN), "--map", "titolo=x"])
    assert result.exit_code == 2 and "campo sconosciuto nella mappa" in result.stderr
