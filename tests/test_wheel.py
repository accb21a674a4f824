"""The package as a user installs it: a wheel built from the checkout,
installed into a fresh virtual environment outside the repository, runs
`archivio demo`, a query with a filter, the CSV export and the feed of a
search from another folder. (The new environment reaches the dependencies
through a path file naming this environment's site-packages, so nothing
is downloaded; the checkout itself is never on its path.)"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import site
import subprocess
import sys
import tomllib
from pathlib import Path

import feedparser
import pytest

from .conftest import ROOT
from .robust_support import free_port, get, wait_until_answering

# What a clone does not hold at its top (search/data/ is the package's own).
NOT_IN_A_CLONE = {".git", ".venv", "data", "index", "build", "dist", ".pytest_cache", ".ruff_cache"}
DEMO_COUNT = len(list((ROOT / "demo" / "articoli").glob("*.txt")))


def _not_in_a_clone(folder: str, names: list[str]) -> set[str]:
    top = Path(folder) == ROOT
    built = {n for n in names if n == "__pycache__" or n.endswith(".egg-info")}
    return built | ({n for n in names if n in NOT_IN_A_CLONE} if top else set())


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin folder of a fresh environment holding the wheel."""
    base = tmp_path_factory.mktemp("wheel")
    # Built from a copy: pip builds in the source tree, whose build/ would
    # otherwise be left in the checkout (and a stale one packaged next time).
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=_not_in_a_clone)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(base / "dist")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = (base / "dist").glob("archivio-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    (packages,) = (venv / "lib").glob("python3*/site-packages")
    (packages / "dipendenze.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--no-deps",
            "-q",
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    return venv / "bin"


def user_env(folder: Path) -> dict[str, str]:
    """A user's environment: none of the suite's settings, no config file, no checkout on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVIO_") and k != "PYTHONPATH"}
    return {**env, "XDG_CONFIG_HOME": str(folder / "xdg"), "ARCHIVIO_ACCESS_LOG": "0"}


def run(bin_dir: Path, folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = user_env(folder)
    return subprocess.run(
        [str(bin_dir / "archivio"), *args], capture_output=True, text=True, timeout=300, env=env, cwd=folder
    )


def test_the_installed_package_runs_from_another_folder(installed, tmp_path):
    where = run(installed, tmp_path, "--help")
    assert where.returncode == 0 and "Archivio" in where.stdout
    code = "import archivio.search, archivio.cli; print(archivio.search.__file__, archivio.cli.__file__)"
    origin = subprocess.run(
        [str(installed / "python"), "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60
    ).stdout
    assert str(ROOT) not in origin and "site-packages" in origin

    demo = run(installed, tmp_path, "demo")
    assert demo.stdout == f"Archivio dimostrativo importato: {DEMO_COUNT} articoli.\n", demo.stderr
    assert (tmp_path / "data" / "archive.sqlite").exists()

    found = json.loads(
        run(installed, tmp_path, "query", "piano di pace", "--category", "esteri", "--json").stdout
    )
    assert found["total"] >= 2
    assert {r["category"] for r in found["results"]} == {"ESTERI"}

    exported = run(
        installed, tmp_path, "query", "piano di pace", "--category", "esteri", "--format", "csv"
    ).stdout
    rows = list(csv.DictReader(io.StringIO(exported.removeprefix("\ufeff"))))
    assert [r["id"] for r in rows] == [r["id"] for r in found["results"]]


def test_the_wheel_installs_one_package_and_runs_as_a_module(installed, tmp_path):
    """Only `archivio` at the top of site-packages (no `search`, `web` or `cli`
    to overwrite another distribution's), and `python -m archivio` is the CLI."""
    (packages,) = (installed.parent / "lib").glob("python3*/site-packages")
    ours = {p.name for p in packages.iterdir() if p.name != "dipendenze.pth"}
    assert {n for n in ours if not n.endswith((".dist-info", "__pycache__"))} == {"archivio"}
    assert {"search", "web", "cli.py", "cli_messages.py", "__main__.py"} <= {
        p.name for p in (packages / "archivio").iterdir()
    }
    assert not (packages / "archivio" / "tests").exists()
    module = subprocess.run(
        [str(installed / "python"), "-m", "archivio", "query", "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        env=user_env(tmp_path),
    )
    assert module.returncode == 0 and module.stdout.startswith("Uso: python -m archivio query"), module.stdout


def test_the_package_list_holds_every_package_of_the_tree():
    """pyproject.toml lists the packages by hand (the root is the `archivio`
    package's folder): a new subpackage missing from it would be missing
    from every installation."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    tree = {
        "archivio." + ".".join(init.parent.relative_to(ROOT).parts)
        for part in ("search", "web")
        for init in (ROOT / part).rglob("__init__.py")
    }
    assert listed == tree | {"archivio"}


def test_the_installed_site_serves_the_feed(installed, tmp_path):
    assert run(installed, tmp_path, "demo").returncode == 0
    port = free_port()
    server = subprocess.Popen(
        [str(installed / "archivio"), "serve", "--port", str(port)],
        cwd=tmp_path,
        env=user_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_answering(server, base, seconds=60)
        status, body, _ = get(base + "/feed.atom?q=piano+di+pace&categoria=esteri")
        assert status == 200
        feed = feedparser.parse(body)
        assert not feed.bozo and len(feed.entries) >= 2
        assert feed.feed.title == "Archivio: «piano di pace» (categoria esteri)"
    finally:
        server.terminate()
        server.wait(timeout=30)
