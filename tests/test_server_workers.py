"""`serve --workers N`: several processes answer on one port, a dead worker
is replaced, and stopping the server stops them all."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from .robust_support import get, run_cli, start_server, stop

DEMO = Path(__file__).resolve().parents[1] / "demo" / "articoli"


def workers_of(pid: int) -> set[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return {int(c) for c in children}


def wait_for(condition, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_workers_share_the_port_and_answer_alike(tmp_path):
    data, index = tmp_path / "data", tmp_path / "index"
    assert run_cli(data, index, "import", str(DEMO)).returncode == 0
    proc, base = start_server(data, index, "--workers", "2", threads=2)
    try:
        assert wait_for(lambda: len(workers_of(proc.pid)) == 2)
        answers = set()
        for _ in range(12):
            status, body, _ = get(base + "/api/search?q=tram+bologna")
            assert status == 200
            answers.add(json.dumps(json.loads(body)["results"]))
        assert len(answers) == 1  # every worker gives the same answer

        # A worker killed outright is replaced, and the site keeps answering.
        first = workers_of(proc.pid)
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        assert wait_for(lambda: victim not in workers_of(proc.pid) and len(workers_of(proc.pid)) == 2)
        assert get(base + "/api/search?q=tram")[0] == 200
        survivors = workers_of(proc.pid)
    finally:
        stop(proc)
    assert proc.returncode == 0
    # Stopping the server stopped its workers.
    assert wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in survivors), 10)
