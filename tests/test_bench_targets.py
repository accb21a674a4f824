"""bench.speed's targets table: each target of the speed issue is judged from
the figures a run saved, with the threshold the issue names, and left out
when a size it needs was not measured."""

from __future__ import annotations

import json

from bench.speed import load_results, targets


def _latency(p95: float) -> dict:
    return {50: p95 / 2, 95: p95, 99: p95 * 1.2}


def _results() -> dict:
    return {
        "100k": {
            "archivio": {
                "rate": 2_000.0,
                "build_s": 50.0,
                "inc_s": 5.0,
                "size_ratio": 0.65,
                "latency": {"plain": _latency(5.0), "page": _latency(8.0)},
                "web": {"rps": 400.0, "errors": 0, "worker_rss_mib": 300.0},
            },
            "whoosh": {"rate": 350.0},
            "tantivy": {"latency": {"plain": _latency(1.25)}},
            "fts5": {"latency": {"plain": _latency(100.0)}},
        },
        "1m": {
            "archivio": {
                "rate": 3_700.0,
                "build_s": 270.0,
                "inc_s": 2.4,
                "size_ratio": 0.36,
                "build_rss_sum": 1_600.0,
                "latency": {"page": _latency(10.5)},
                "web": {"rps": 100.0, "errors": 0, "worker_rss_mib": 801.0},
            },
        },
    }


def test_each_target_is_judged_with_the_issues_threshold():
    verdicts = {name: met for name, _, met in targets(_results())}
    assert verdicts["plain query p95 at 100k <= 4x tantivy's"] is True  # 5.0 = 4 x 1.25
    assert verdicts["search page p95 at 1M <= 10 ms"] is False  # 10.5
    assert verdicts["rebuild >= 6x plain whoosh's articles/s (100k)"] is False  # 5.7x
    assert verdicts[
        "search page at 100k >= 400 req/s, 8 clients, no errors (result cache off, a worker per core)"
    ]
    assert verdicts["server RSS at 1M <= 800 MiB per worker"] is False  # 801
    assert verdicts["search page p95 at 1M <= 5x p95 at 100k"] is True


def test_a_target_whose_figures_were_not_measured_is_left_out():
    results = _results()
    del results["1m"]
    names = {name for name, _, _ in targets(results)}
    assert "search page p95 at 1M <= 10 ms" not in names
    assert "server RSS at 1M <= 800 MiB per worker" not in names
    assert "rebuild >= 6x plain whoosh's articles/s (100k)" in names
    # Without plain whoosh's build there is no ratio to judge.
    del results["100k"]["whoosh"]
    assert "rebuild >= 6x plain whoosh's articles/s (100k)" not in {n for n, _, _ in targets(results)}


def test_saved_runs_merge_per_size_and_system(tmp_path):
    """A later run replaces the systems it measured and keeps the others: a
    100k run without plain whoosh's build still reports the ratio to it."""
    first, later = _results(), _results()
    first["100k"]["archivio"]["rate"] = 1_000.0
    del later["100k"]["whoosh"]
    del later["1m"]
    paths = []
    for name, results in (("first", first), ("later", later)):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(results))
        paths.append(str(path))
    merged = load_results(paths)
    assert merged["100k"]["archivio"]["rate"] == 2_000.0  # the later run's
    assert merged["100k"]["whoosh"] == {"rate": 350.0}  # the earlier run's
    assert merged["100k"]["archivio"]["latency"]["plain"][95] == 5.0  # keys back to numbers
    assert "1m" in merged
