"""The search site in a real headless Chromium, against `cli.py serve`, on
both backends.

Uses Debian's chromium and chromium-driver (installed by .ci/run; never a
browser download) through Selenium. The server is the production one
(waitress), started by the test on 127.0.0.1 on a free port.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from .robust_support import get, start_server, stop

pytestmark = [pytest.mark.browser, pytest.mark.both_backends]

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path(shutil.which("chromedriver") or "/usr/bin/chromedriver")
FIXTURE = Path(__file__).parent / "fixtures" / "web_articles.json"

if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
    pytest.skip(
        "headless Chromium needs Debian's chromium and chromium-driver "
        "(apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )
webdriver = pytest.importorskip(
    "selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')"
)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory, make_archive) -> str:
    """`cli.py serve` on the demo archive plus the test fixtures; yields its base URL."""
    base = tmp_path_factory.mktemp("browser")
    archive = make_archive(base)
    report = archive.import_paths([ROOT / "demo" / "articoli", FIXTURE])
    archive.close()
    assert report.ok, report.rejected
    proc, url = start_server(base / "data", base / "index")
    try:
        assert get(url + "/healthz")[0] == 200
        yield url
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tmp_path_factory.mktemp("chromium-profile")
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--lang=it-IT",
        "--window-size=1280,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _wait(driver, seconds: float = 10) -> WebDriverWait:
    return WebDriverWait(driver, seconds)


def _results(driver) -> list:
    return driver.find_elements(By.CSS_SELECTOR, "li.result")


def _total(driver) -> int:
    heading = driver.find_element(By.CSS_SELECTOR, "h1.results-title").text
    return int(heading.split()[0].replace(".", ""))


def test_search_filter_open_article(server, browser, tmp_path):
    browser.get(server + "/")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "it"
    box = browser.find_element(By.ID, "q")

    # Autocomplete (JavaScript): suggestions from /api/suggest as the user types.
    box.send_keys("filat")
    _wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#suggerimenti li")))
    suggestions = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#suggerimenti li")]
    assert suggestions[0] == "filatelia"
    assert box.get_attribute("aria-expanded") == "true"
    box.send_keys(Keys.ESCAPE)
    assert not browser.find_element(By.ID, "suggerimenti").is_displayed()

    # Type a query and submit it.
    box.clear()
    box.send_keys("oltre")
    browser.find_element(By.CSS_SELECTOR, "#ricerca button[type=submit]").click()
    _wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, "h1.results-title")))
    assert parse_qs(urlsplit(browser.current_url).query) == {"q": ["oltre"]}  # empty fields left out
    before = _total(browser)
    assert before > 3
    categories_before = {r.find_element(By.CSS_SELECTOR, ".meta-category").text for r in _results(browser)}
    assert len(categories_before) > 1
    assert browser.find_element(By.CSS_SELECTOR, ".snippet mark").text.lower() == "oltre"

    # Click a category facet: the list changes to that category only.
    link = browser.find_element(
        By.XPATH,
        "//section[contains(@class,'facet-category')]//a[.//span[@class='facet-value' and text()='CULTURA']]",
    )
    expected = int(link.find_element(By.CSS_SELECTOR, ".facet-count").text)
    link.click()
    _wait(browser).until(ec.url_contains("categoria=CULTURA"))
    _wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, "a.chip")))
    after = _total(browser)
    assert after == expected < before
    assert len(_results(browser)) == min(after, 10)
    assert {r.find_element(By.CSS_SELECTOR, ".meta-category").text for r in _results(browser)} == {"CULTURA"}
    assert "Categoria: CULTURA" in browser.find_element(By.CSS_SELECTOR, "a.chip").text

    # A screenshot of the results page.
    shot = tmp_path / "risultati.png"
    assert browser.save_screenshot(str(shot))
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000

    # Open the first article: the query terms are highlighted.
    first = _results(browser)[0].find_element(By.CSS_SELECTOR, ".result-title a")
    title = first.text
    first.click()
    _wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, "article.article")))
    assert browser.find_element(By.CSS_SELECTOR, "h1.article-title").text == title
    marks = browser.find_elements(By.CSS_SELECTOR, ".article-body mark")
    assert marks and {m.text.lower() for m in marks} == {"oltre"}
    assert browser.find_elements(By.CSS_SELECTOR, ".related-list a")

    # No Content-Security-Policy violations or script errors in the console.
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


def test_keyboard_choice_of_a_suggestion(server, browser):
    browser.get(server + "/")
    box = browser.find_element(By.ID, "q")
    box.send_keys("mostra di filat")
    _wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#suggerimenti li")))
    box.send_keys(Keys.ARROW_DOWN)
    assert box.get_attribute("value") == "mostra di filatelia"
    assert box.get_attribute("aria-activedescendant") == "suggerimento-0"
    box.send_keys(Keys.ENTER)
    _wait(browser).until(ec.url_contains("q=mostra+di+filatelia"))
    assert _total(browser) == 12


def test_sort_select_applies_itself_and_pages_work(server, browser):
    browser.get(server + "/?q=filatelia")
    browser.find_element(By.CSS_SELECTOR, "#ordina option[value=recenti]").click()
    _wait(browser).until(ec.url_contains("ordina=recenti"))
    dates = [t.get_attribute("datetime") for t in browser.find_elements(By.CSS_SELECTOR, "li.result time")]
    assert dates == sorted(dates, reverse=True)
    browser.find_element(By.CSS_SELECTOR, "a.page-next").click()
    _wait(browser).until(ec.url_contains("pagina=2"))
    assert len(_results(browser)) == 2
    current = browser.find_element(By.CSS_SELECTOR, ".pagination [aria-current=page]")
    assert current.text.endswith("2")


def test_choosing_a_title_suggestion_opens_its_article(server, browser):
    title = "Bologna, via libera alla nuova linea del tram verso Corticella"
    _, body, _ = get(server + "/api/suggest?q=" + quote("Bologna, via lib"))
    _, texts, _, urls = json.loads(body)
    expected_path = urls[texts.index(title)]
    assert expected_path.startswith("/articolo/")

    browser.get(server + "/")
    box = browser.find_element(By.ID, "q")
    box.send_keys("Bologna, via lib")
    option = _wait(browser).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, "#suggerimenti li.is-title"))
    )
    assert option.get_attribute("data-text") == title
    assert "articolo" in option.find_element(By.CSS_SELECTOR, ".suggestion-note").text
    # The words and names above it fill the box; the title opens the article.
    words = browser.find_elements(By.CSS_SELECTOR, "#suggerimenti li:not(.is-title)")
    assert [w.text for w in words] == ["Bologna, via libera"]
    option.click()
    _wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, "article.article")))
    assert urlsplit(browser.current_url).path == expected_path
    assert browser.find_element(By.CSS_SELECTOR, "h1.article-title").text == title

    # By keyboard: down to the title, Enter.
    browser.get(server + "/")
    box = browser.find_element(By.ID, "q")
    box.send_keys("Bologna, via lib")
    _wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#suggerimenti li.is-title")))
    box.send_keys(Keys.ARROW_DOWN, Keys.ARROW_DOWN)
    assert box.get_attribute("value") == title
    box.send_keys(Keys.ENTER)
    _wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, "article.article")))
    assert urlsplit(browser.current_url).path == expected_path
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


def _facet_link(driver, section: str, value: str):
    """The link of one value in a facet section (category, author, year, month)."""
    return driver.find_element(
        By.XPATH,
        f"//section[contains(@class,'{section}')]//a[.//span[(@class='facet-value' or "
        f"@class='histogram-year') and text()='{value}']]",
    )


def _count_of(link) -> int:
    counts = link.find_elements(By.CSS_SELECTOR, ".facet-count, .histogram-count")
    return int(counts[0].text.split()[0].replace(".", ""))


def _result_dates(driver) -> list[str]:
    return [t.get_attribute("datetime") for t in driver.find_elements(By.CSS_SELECTOR, "li.result time")]


def test_browse_two_categories_then_a_year_and_a_month(server, browser):
    """Without words: the home page lists the newest articles; a chosen
    category keeps the others (disjunctive facets), so a second one adds its
    articles; a year opens its months, a month narrows to its days."""
    browser.get(server + "/")
    heading = browser.find_element(By.CSS_SELECTOR, "h1.results-title").text
    assert heading.startswith("Gli articoli più recenti")
    everything = int(heading.split("(")[1].split()[0].replace(".", ""))
    assert everything == len(list((ROOT / "demo" / "articoli").glob("*.txt"))) + 14
    dates = _result_dates(browser)
    assert len(dates) == 10 and dates == sorted(dates, reverse=True)

    cultura = _facet_link(browser, "facet-category", "CULTURA")
    expected_cultura = _count_of(cultura)
    cultura.click()
    _wait(browser).until(ec.url_contains("categoria=CULTURA"))
    assert _total(browser) == expected_cultura
    # The other categories are still offered, each with what it would add.
    cronaca = _facet_link(browser, "facet-category", "CRONACA")
    expected_cronaca = _count_of(cronaca)
    assert expected_cronaca > 0
    cronaca.click()
    _wait(browser).until(ec.url_contains("categoria=CRONACA"))
    assert _total(browser) == expected_cultura + expected_cronaca
    chips = {c.text.split("\n")[0] for c in browser.find_elements(By.CSS_SELECTOR, "a.chip")}
    assert chips == {f"Categoria: CULTURA ({expected_cultura})", f"Categoria: CRONACA ({expected_cronaca})"}
    shown = {r.find_element(By.CSS_SELECTOR, ".meta-category").text for r in _results(browser)}
    assert shown <= {"CULTURA", "CRONACA"} and len(shown) == 2

    # A year: the months of that year appear; a month narrows to it.
    year = _facet_link(browser, "facet-year", "2024")
    expected_year = _count_of(year)
    year.click()
    _wait(browser).until(ec.url_contains("da=2024-01-01"))
    assert _total(browser) == expected_year
    assert all(d.startswith("2024-") for d in _result_dates(browser))
    months = browser.find_elements(By.CSS_SELECTOR, "ol.histogram-months a.histogram-link")
    assert months
    assert sum(_count_of(m) for m in months) == expected_year
    month = months[0]
    label = month.find_element(By.CSS_SELECTOR, ".histogram-year").text
    expected_month = _count_of(month)
    month.click()
    _wait(browser).until(
        lambda d: label in d.find_element(By.CSS_SELECTOR, "a.histogram-link.is-active").text
    )
    assert _total(browser) == expected_month
    month_prefixes = {d[:7] for d in _result_dates(browser)}
    assert len(month_prefixes) == 1 and month_prefixes.pop().startswith("2024-")
    assert len(browser.find_elements(By.CSS_SELECTOR, "a.chip")) >= 3
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


def test_browse_by_author_without_words(server, browser):
    browser.get(server + "/")
    author = _facet_link(browser, "facet-author", "Franco Bolli")
    expected = _count_of(author)
    assert expected == 8  # tests/fixtures/web_articles.json
    author.click()
    _wait(browser).until(ec.url_contains("autore=Franco+Bolli"))
    heading = browser.find_element(By.CSS_SELECTOR, "h1.results-title").text
    assert heading == "8 articoli trovati"
    assert browser.find_element(By.ID, "q").get_attribute("value") == ""
    authors = {r.find_element(By.CSS_SELECTOR, ".meta-author").text for r in _results(browser)}
    assert authors == {"Franco Bolli"} and len(_results(browser)) == 8
    dates = _result_dates(browser)
    assert dates == sorted(dates, reverse=True)
    # Words typed now search within the author's articles.
    box = browser.find_element(By.ID, "q")
    box.send_keys("filatelia")
    browser.find_element(By.CSS_SELECTOR, "#ricerca button[type=submit]").click()
    _wait(browser).until(ec.url_contains("q=filatelia"))
    assert 0 < _total(browser) <= 8
    assert {r.find_element(By.CSS_SELECTOR, ".meta-author").text for r in _results(browser)} == {
        "Franco Bolli"
    }


def test_a_story_opens_its_other_sources_and_shows_every_copy(server, browser):
    """The demo's Liguria flood, told by two outlets: one result that opens
    the other source; "Mostra tutte le copie" lists both."""
    browser.get(server + "/?q=torrente+Entella")
    assert len(_results(browser)) == 1 and _total(browser) == 2
    assert "1 notizia diversa" in browser.find_element(By.CSS_SELECTOR, ".results-stories").text
    copy = browser.find_element(By.CSS_SELECTOR, "li.result details.result-copies li a")
    assert not copy.is_displayed()
    browser.find_element(By.CSS_SELECTOR, "li.result details.result-copies summary").click()
    _wait(browser).until(lambda d: copy.is_displayed())
    title = copy.text
    copy.click()
    _wait(browser).until(ec.url_contains("/articolo/"))
    assert browser.find_element(By.TAG_NAME, "h1").text == title
    browser.back()
    browser.find_element(By.CSS_SELECTOR, "a.copies-toggle").click()
    _wait(browser).until(ec.url_contains("copie=tutte"))
    assert len(_results(browser)) == 2 and _total(browser) == 2
