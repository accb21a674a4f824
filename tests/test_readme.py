"""Every example of README.md runs as written, on a fresh copy of the demo.

The shell lines of the README's code blocks are parsed (continuations
joined, comments dropped) and each one is classified:

- `archivio …` and `./run …` run as `python cli.py …` in a temporary folder
  holding a copy of demo/ and nothing else (a fresh clone: no ../shared),
  in README order, so the Quick start's `./run` makes the archive the
  examples after it search. Each must exit 0 without a traceback, and its
  output must be right for what it does (a query finds articles matching
  its filters, `stats` and `check` agree, `export` writes every article...);
  the card's query `piano 28 punti` must find the demo's plan article first,
  with all the words.
- `archivio serve` and the bare `./run` run until /healthz answers for the
  archive, then are stopped; they listen on a free port instead of the one
  written (8000 may be taken on the machine running the tests).
- Lines naming PostgreSQL run against a fresh database of the tests' server,
  which stands in for the deployment's hosts (`postgresql://…@db/…`, the
  replica): skipped with the reason when PostgreSQL is absent.
- The Python block runs with exec in such a folder; the search results it
  makes must find articles.
- `.venv/bin/python -m bench…` lines: benchmarks of minutes on the dev
  corpus, not run here; every option they use must be in the module's --help.
- SKIPPED lists the other lines, each with its reason. A line of no known
  kind fails the test: a new example must work, or be listed with why not.

test_a_broken_example_is_caught runs the same machinery on examples that
do not work and checks that each one is reported.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import date
from html import unescape
from pathlib import Path

import pytest

from archivio import cli
from archivio.search import Archive, config
from archivio.search.dates import parse_date
from archivio.search.results import SearchResult

from . import pg_support
from .conftest import DEMO, ROOT
from .robust_support import free_port, get, wait_for

README = ROOT / "README.md"
# The card's query and the demo article it must find first, with all the words.
CARD_QUERY = "piano 28 punti"
PLAN_FILE = DEMO / "023_piano-di-pace-ucraina-28-punti.txt"
PLAN_TITLE = "Ucraina, un piano di pace in 28 punti: la bozza americana arriva a Kiev e a Mosca"

# Lines that are not run, and why.
SKIPPED = {
    "./run test": "runs the whole test suite, this test included",
    ".venv/bin/ruff check .": "the linter over the code, not an example of Archivio (the review runs it)",
    "pipx install .": "installs for the user's account; tests/test_wheel.py installs the wheel into a fresh"
    " environment and runs it from another folder",
}
# A deployment's database addresses in the examples (hosts `db`, `replica`).
DSN_IN_EXAMPLE = re.compile(r"postgresql://[^\s'\"]+")
# cli.py's global options that take a value (before the command name).
GLOBAL_VALUE_OPTIONS = {"--data-dir", "--index-dir", "--backend", "--dsn", "--dsn-read"}
CLI_TIMEOUT = 300


@dataclass
class Example:
    line: int  # README line where the command starts
    text: str  # the command as written, continuations joined
    env: dict[str, str]  # leading NAME=value assignments
    argv: list[str]

    def __str__(self) -> str:
        return f"README.md:{self.line}: {self.text}"


@dataclass
class PythonExample:
    line: int
    code: str

    def __str__(self) -> str:
        return f"README.md:{self.line}: python block"


# -- reading the README ----------------------------------------------------------------------------


def code_blocks(text: str) -> list[tuple[str, int, list[str]]]:
    """(language, line number of the first line, lines) of each fenced block."""
    blocks = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        fence = re.match(r"^```(\w*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        end = i + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        blocks.append((fence.group(1), i + 2, lines[i + 1 : end]))
        i = end + 1
    return blocks


def shell_examples(first: int, lines: list[str]) -> list[Example]:
    """The commands of a shell block: `\\` continuations joined; blank lines
    and comment lines (which continue the previous line's comment) dropped."""
    found: list[Example] = []
    pending, start = "", None
    for offset, raw in enumerate(lines):
        if not pending and (not raw.strip() or raw.lstrip().startswith("#")):
            continue
        start = first + offset if start is None else start
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        words = shlex.split(pending + raw, comments=True)
        env = {}
        while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
            name, _, value = words.pop(0).partition("=")
            env[name] = value
        found.append(Example(start, shlex.join(shlex.split(pending + raw, comments=True)), env, words))
        pending, start = "", None
    return found


def readme_examples(text: str) -> tuple[list[Example], list[PythonExample]]:
    shell: list[Example] = []
    python: list[PythonExample] = []
    for lang, first, lines in code_blocks(text):
        if lang in ("sh", "bash", "shell", "console"):
            shell.extend(shell_examples(first, lines))
        elif lang == "python":
            python.append(PythonExample(first, "\n".join(lines)))
        elif lang == "toml":
            check_config_example(first, "\n".join(lines))
        else:
            raise AssertionError(
                f"README.md:{first}: a code block in {lang or 'no language'!r}: "
                "test_readme runs sh and python blocks only"
            )
    return shell, python


def check_config_example(first: int, text: str) -> None:
    """A configuration file shown in the README reads as `archivio` reads one."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "archivio.toml"
        path.write_text(text, encoding="utf-8")
        try:
            assert config.read(path), f"README.md:{first}: an empty configuration example"
        except config.ConfigError as e:
            raise AssertionError(f"README.md:{first}: {e}") from None


def kind(example: Example) -> str:
    """archivio, run, bench, skip or unknown."""
    argv = example.argv
    if example.text in SKIPPED:
        return "skip"
    if argv[:1] == ["archivio"]:
        return "archivio"
    if argv[:1] == ["./run"]:
        return "run"
    if argv[:1] == [".venv/bin/python"] and len(argv) > 1:
        module = argv[1] == "-m" and len(argv) > 2 and argv[2].startswith("bench.")
        if module or argv[1].startswith("bench/"):
            return "bench"
    return "unknown"


def uses_postgres(example: Example) -> bool:
    return "postgres" in example.env.get("ARCHIVIO_BACKEND", "") or "postgres" in example.argv


# -- running examples ------------------------------------------------------------------------------


@dataclass
class Clone:
    """A folder as a fresh clone has it for these examples: a copy of demo/."""

    folder: Path
    dsn: str | None = None  # stands in for the examples' PostgreSQL addresses

    @classmethod
    def make(cls, folder: Path, dsn: str | None = None) -> Clone:
        shutil.copytree(ROOT / "demo", folder / "demo")
        return cls(folder, dsn)

    def env(self, extra: dict[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVIO_")}
        env.update({k: self.substitute(v) for k, v in extra.items()})
        return env

    def substitute(self, word: str) -> str:
        return DSN_IN_EXAMPLE.sub(self.dsn, word) if self.dsn else word

    def cli(self, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(ROOT / "cli.py"), *map(self.substitute, args)],
            cwd=self.folder,
            env=self.env(env),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
        )


def split_command(args: list[str]) -> tuple[list[str], str | None, list[str]]:
    """cli.py's arguments as (global options, command, the command's arguments)."""
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] in GLOBAL_VALUE_OPTIONS else 1
    if i >= len(args):
        return args, None, []
    return args[:i], args[i], args[i + 1 :]


def failed(proc: subprocess.CompletedProcess) -> str | None:
    if proc.returncode != 0 or "Traceback" in proc.stderr:
        return f"exit code {proc.returncode}: {(proc.stderr or proc.stdout).strip()[-600:]}"
    return None


def archive_stats(clone: Clone, options: list[str], env: dict[str, str]) -> dict:
    proc = clone.cli([*options, "stats", "--json"], env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def check_query(clone, options, args, env, proc) -> list[str]:
    """The query finds articles, and they match its filters and its order."""
    problems = []
    params = cli.query.make_context("query", list(args)).params
    as_json = clone.cli([*options, "query", *args] + ([] if params["as_json"] else ["--json"]), env)
    if failed(as_json):
        return [f"--json: {failed(as_json)}"]
    data = json.loads(as_json.stdout)
    results = data["results"]
    if data["total"] < 1 or not results:
        return [f"finds nothing: {proc.stdout.strip()[:300]}"]
    if not params["as_json"] and f"1. {results[0]['title']}" not in proc.stdout.splitlines():
        problems.append(f"the first result is not listed as «1. {results[0]['title']}»")
    if params["author"]:
        wrong = [r["author"] for r in results if (r["author"] or "").lower() != params["author"].lower()]
        problems += [f"result by {a!r}, not {params['author']!r}" for a in wrong]
    if params["category"]:
        wanted = {c.lower() for c in params["category"]}
        problems += [
            f"result in {r['category']!r}" for r in results if (r["category"] or "").lower() not in wanted
        ]
    for bound, inside in (("since", lambda d, b: d >= b), ("until", lambda d, b: d <= b)):
        if params[bound]:
            limit = parse_date(params[bound])
            problems += [
                f"result of {r['date']}, {bound} {limit}"
                for r in results
                if not inside(date.fromisoformat(r["date"]), limit)
            ]
    dates = [r["date"] for r in results]
    if params["sort"] == "newest" and dates != sorted(dates, reverse=True):
        problems.append(f"not newest first: {dates}")
    if params["sort"] == "oldest" and dates != sorted(dates):
        problems.append(f"not oldest first: {dates}")
    filtered = any(params[k] for k in ("author", "category", "since", "until"))
    first_page = params["sort"] == "relevance" and params["page"] == 1
    if (params.get("text") or "").strip() == CARD_QUERY and first_page and not filtered:
        # The card: the demo's plan article first, with every word.
        if results[0]["title"] != PLAN_TITLE:
            problems.append(f"first result {results[0]['title']!r}, not the plan article {PLAN_TITLE!r}")
        if data["fallback"] or data["exact_total"] < 1:
            problems.append("no article has all the words")
        for word in CARD_QUERY.split():
            if f"<mark>{word}</mark>" not in results[0]["snippet"].lower():
                problems.append(f"{word!r} is not highlighted in the first result's snippet")
    return problems


def check_output(clone: Clone, options: list[str], command: str, args: list[str], env, proc) -> list[str]:
    """What a command prints is right for what it did (beyond exit code 0)."""
    out = proc.stdout
    if command == "query":
        return check_query(clone, options, args, env, proc)
    if command == "import":
        report = next((line for line in out.splitlines() if re.match(r"(Aggiunti|Da importare): ", line)), "")
        return [] if "scartati: 0" in report else [f"import report: {out.strip()[:300]}"]
    stats = archive_stats(clone, options, env)
    count = stats["articles"]
    if command == "demo":
        files = len([p for p in (clone.folder / "demo" / "articoli").iterdir() if p.suffix == ".txt"])
        expected = (
            f"Archivio dimostrativo importato: {files} articoli.",
            f"L'archivio contiene già {count} articoli.",
        )
        return [] if out.strip() in expected else [f"demo: {out.strip()}"]
    if command == "stats":
        return [] if f"Articoli: {count} (nell'indice: {count})" in out else [f"stats: {out.strip()[:200]}"]
    if command == "check":
        return [] if "Archivio e indice coincidono." in out else [f"check: {out.strip()[:200]}"]
    if command == "rebuild":
        return [] if f"Indice ricostruito: {count} articoli." in out else [f"rebuild: {out.strip()}"]
    if command == "embed":
        if "--drop" in args:
            return [] if "Vettori tolti" in out or "Nessun vettore" in out else [f"embed: {out.strip()}"]
        whole = f"(in tutto {count} articoli su {count})."
        return [] if whole in out else [f"embed: {out.strip()}"]
    if command == "remove":
        ids = [a for a in args if not a.startswith("-")]
        return [] if f"Rimossi: {len(ids)}." in out else [f"remove: {out.strip()}"]
    if command == "show":
        article_id = next(a for a in args if not a.startswith("-"))
        title = json.loads(clone.cli([*options, "show", article_id, "--json"], env).stdout)["title"]
        shown = json.loads(out)["title"] if "--json" in args else out.splitlines()[0]
        return [] if shown == title else [f"show: {shown!r}, not {title!r}"]
    if command == "export":
        target = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in ("--output", "-o")), None)
        if target is None:
            lines = out.splitlines()
        else:
            path = clone.folder / target
            opener = gzip.open if path.name.endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8") as f:
                lines = f.read().splitlines()
        return [] if len(lines) == count else [f"export: {len(lines)} lines for {count} articles"]
    return []


def run_server(
    clone: Clone, example: Example, options: list[str], args: list[str], before: list[str]
) -> list[str]:
    """Starts `serve` on a free port, checks /healthz and a search page, stops it."""
    port = str(free_port())
    args = list(args)
    if "--port" in args:
        args[args.index("--port") + 1] = port
    else:
        args += ["--port", port]
    for prelude in before:  # ./run imports the demo first
        proc = clone.cli([*options, prelude], example.env)
        if failed(proc):
            return [f"{prelude}: {failed(proc)}"]
        problems = check_output(clone, options, prelude, [], example.env, proc)
        if problems:
            return problems
    count = archive_stats(clone, options, example.env)["articles"]
    card = json.loads(clone.cli([*options, "query", CARD_QUERY, "--json"], example.env).stdout)["results"]
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), *map(clone.substitute, options), "serve", *args],
        cwd=clone.folder,
        env=clone.env(example.env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        if not wait_for(lambda: server.poll() is not None or _answers(base + "/healthz"), 60):
            return ["the server did not answer /healthz within 60 s"]
        if server.poll() is not None:
            return [f"the server exited: {server.stderr.read()[-600:]}"]
        status, body, _ = get(base + "/healthz")
        health = json.loads(body)
        problems = []
        if status != 200 or health["articles"] != count or health["indexed"] != count:
            problems.append(f"/healthz {status}: {health}, expected {count} articles")
        status, body, _ = get(base + "/?q=" + CARD_QUERY.replace(" ", "+"))
        if status != 200:
            problems.append(f"search page: {status}")
        elif card and card[0]["title"] not in unescape(re.sub(r"</?mark>", "", body.decode())):
            problems.append(f"the search page does not list {card[0]['title']!r}")
        return problems
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        server.stdout.close()
        server.stderr.close()


def _answers(url: str) -> bool:
    try:
        return get(url, timeout=2)[0] in (200, 503)
    except OSError:
        return False


def run_example(clone: Clone, example: Example) -> list[str]:
    """The problems of one shell example (empty: it works)."""
    what = kind(example)
    if what == "skip":
        return []
    if what == "unknown":
        return ["not an archivio, ./run or bench command: make it one, or add it to SKIPPED with the reason"]
    if what == "bench":
        return check_bench(example)
    args = example.argv[1:]
    if what == "run":
        if not args or args[0] == "serve":  # ./run: demo import, then serve
            return run_server(clone, example, [], args[1:], before=["demo"])
        if args[0] == "test":
            return ["./run test is not in SKIPPED"]
    options, command, rest = split_command(args)
    if command == "serve":
        return run_server(clone, example, options, rest, before=[])
    proc = clone.cli(args, example.env)
    if failed(proc):
        return [failed(proc)]
    if command is None:
        return []
    return check_output(clone, options, command, rest, example.env, proc)


def check_bench(example: Example) -> list[str]:
    """The bench module exists and declares every option the example uses.

    Read from its source (`add_argument("--x"`): running one, even with
    --help, could start a benchmark (bench.baselines_check takes no options).
    """
    argv = example.argv
    name = argv[2].replace(".", "/") + ".py" if argv[1] == "-m" else argv[1]
    path = ROOT / name
    if not path.is_file():
        return [f"{name} does not exist"]
    declared = set(
        re.findall(r"add_argument\(\s*(?:\"-\w\",\s*)?\"(--[\w-]+)\"", path.read_text(encoding="utf-8"))
    )
    used = {w.split("=")[0] for w in argv if w.startswith("--")}
    return [f"{option} is not an option of {name}" for option in sorted(used - declared)]


def run_python(folder: Path, block: PythonExample, monkeypatch) -> list[str]:
    """Runs the block in `folder`; the search results it made must find articles."""
    monkeypatch.chdir(folder)
    namespace: dict = {"__name__": "__readme__"}
    try:
        exec(compile(block.code, str(block), "exec"), namespace)
    except Exception as e:  # noqa: BLE001 - any failure of the example is the finding
        return [f"{type(e).__name__}: {e}"]
    finally:
        for value in list(namespace.values()):
            if isinstance(value, Archive):
                value.close()
    problems = []
    results = [v for v in namespace.values() if isinstance(v, SearchResult)]
    for result in results:
        data = result.to_dict()
        if result.total < 1:
            problems.append(f"search {data['query']!r} finds nothing")
        elif data["query"].strip() == CARD_QUERY and result.hits[0].article.title != PLAN_TITLE:
            problems.append(f"search {CARD_QUERY!r}: first {result.hits[0].article.title!r}")
    return problems


def report(problems: dict[str, list[str]]) -> str:
    return "\n".join(f"{where}\n    " + "\n    ".join(p) for where, p in problems.items() if p)


def fail_on(problems: dict[str, list[str]]) -> None:
    if any(problems.values()):
        pytest.fail("README examples that do not work:\n" + report(problems), pytrace=False)


# -- the README's examples -------------------------------------------------------------------------

SHELL, PYTHON = readme_examples(README.read_text(encoding="utf-8"))


def test_the_readme_has_examples_of_every_kind():
    kinds = {kind(e) for e in SHELL}
    assert {"archivio", "run", "bench", "skip"} <= kinds
    assert any(uses_postgres(e) for e in SHELL) and PYTHON
    assert any(split_command(e.argv[1:])[1] == "serve" for e in SHELL if kind(e) == "archivio")
    unknown = [str(e) for e in SHELL if kind(e) == "unknown"]
    assert not unknown, "README commands that test_readme cannot run:\n" + "\n".join(unknown)


def test_shell_examples_on_a_fresh_clone(tmp_path):
    clone = Clone.make(tmp_path / "clone")
    examples = [e for e in SHELL if kind(e) in ("archivio", "run") and not uses_postgres(e)]
    # The Quick start's `./run` comes first: it makes the archive the others use.
    assert examples[0].argv == ["./run"]
    problems = {str(e): run_example(clone, e) for e in examples}
    fail_on(problems)


def test_postgres_examples(tmp_path, pg_server):
    dsn = pg_support.create_database(pg_server)
    clone = Clone.make(tmp_path / "clone", dsn=dsn)
    examples = [e for e in SHELL if uses_postgres(e)]
    assert examples
    problems = {str(e): run_example(clone, e) for e in examples}
    fail_on(problems)


def test_python_example(tmp_path, monkeypatch):
    clone = Clone.make(tmp_path / "clone")
    assert clone.cli(["demo"], {}).returncode == 0  # as `./run` leaves it
    problems = {str(b): run_python(clone.folder, b, monkeypatch) for b in PYTHON}
    fail_on(problems)


def test_bench_examples_use_existing_options():
    problems = {str(e): check_bench(e) for e in SHELL if kind(e) == "bench"}
    assert problems and not any(problems.values()), report(problems)


def test_skipped_lines_are_still_in_the_readme():
    written = {e.text for e in SHELL}
    assert set(SKIPPED) <= written, f"SKIPPED names lines the README no longer has: {set(SKIPPED) - written}"


# -- the query syntax table ------------------------------------------------------------------------


def syntax_table(text: str) -> list[tuple[list[str], str]]:
    """(queries of the first column, second column) of the Query syntax table."""
    section = text[text.index("### Query syntax") :]
    rows = []
    for line in section.splitlines()[1:]:
        if line.startswith("#"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) >= 2 and not set(cells[0]) <= set("-: ") and cells[0] != "you type":
            rows.append((re.findall(r"`([^`]+)`", cells[0]), cells[1]))
    return rows


@pytest.mark.both_backends
def test_query_syntax_table_examples_find_articles(tmp_path, make_archive):
    rows = syntax_table(README.read_text(encoding="utf-8"))
    assert len(rows) >= 6
    archive = make_archive(tmp_path)
    try:
        assert archive.import_paths([DEMO]).ok
        problems = {}
        for queries, meaning in rows:
            for query in queries:
                result = archive.search(query)
                if result.total < 1 or result.fallback:
                    problems[query] = [f"{result.total} results, fallback {result.fallback}"]
            # "`elezione` finds `elezioni`": the form is in a result, highlighted.
            for asked, form in re.findall(r"`([^`]+)` finds `([^`]+)`", meaning):
                snippets = [
                    re.sub(r"</?mark>", "", h.to_dict()["snippet"]) for h in archive.search(asked).hits
                ]
                if not any(form.lower() in s.lower() for s in snippets):
                    problems[f"{asked} -> {form}"] = ["not in the snippets of the results"]
        fail_on(problems)
    finally:
        archive.close()


# -- the checker itself ----------------------------------------------------------------------------

BROKEN_README = """
```sh
archivio query "zzyzx introvabile"
archivio import cartella-che-non-esiste/
archivio show a-0000000000000000
archivio query "piano" --author "Nessuno Nessuno"
archivio frobnicate
curl http://example.org/
.venv/bin/python -m bench.speed --no-such-option 3
```

```python
from archivio.search import Archive, config

archive = Archive("data", "index")
result = archive.search("zzyzx introvabile")
```

```python
from archivio.search import Archive, config

Archive("data", "index").search("piano", sort="a caso")
```
"""


def test_a_broken_example_is_caught(tmp_path, monkeypatch):
    shell, python = readme_examples(BROKEN_README)
    clone = Clone.make(tmp_path / "clone")
    assert clone.cli(["demo"], {}).returncode == 0
    problems = {str(e): run_example(clone, e) for e in shell}
    problems.update({str(b): run_python(clone.folder, b, monkeypatch) for b in python})
    assert len(problems) == 9
    assert all(problems.values()), "examples that do not work but pass:\n" + "\n".join(
        where for where, found in problems.items() if not found
    )
    # And a card query that finds another article first is reported.
    other = PLAN_FILE.read_text(encoding="utf-8").replace("28 punti", "molti punti")
    (clone.folder / "demo" / "articoli" / PLAN_FILE.name).write_text(other, encoding="utf-8")
    shutil.rmtree(clone.folder / "data")
    shutil.rmtree(clone.folder / "index")
    imported = clone.cli(["import", "demo/articoli"], {})
    assert imported.returncode == 0, imported.stderr
    (card,) = shell_examples(1, [f'archivio query "{CARD_QUERY}"'])
    assert any("not the plan article" in p for p in run_example(clone, card))
