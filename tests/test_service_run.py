"""`wirewatch run` as a user starts and stops it: a real process, stopped with SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sigterm_stops_the_web_app_and_the_scheduler_it_started(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "WIREWATCH_DATA_DIR": str(tmp_path),
        "WIREWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'wirewatch.db'}",
        "WIREWATCH_WEB_HOST": "127.0.0.1",
        "WIREWATCH_WEB_PORT": str(port),
        "COLUMNS": "200",
    }
    env.pop("WIREWATCH_CONFIG", None)
    service = subprocess.Popen(
        [sys.executable, "-m", "cli", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert service.stdout is not None
        scheduler_pid = None
        said = []
        for line in service.stdout:
            said.append(line)
            found = re.search(r"scheduler started \(pid (\d+)\)", line)
            if found:
                scheduler_pid = int(found.group(1))
                break
        assert scheduler_pid is not None, "the service never said it started its scheduler"
        # A newcomer's empty archive comes with what fills it and where the demo is.
        text = " ".join("".join(said).split())
        assert "the archive is empty" in text and "`make demo`" in text, said
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, "the web app never answered"
                time.sleep(0.2)
        assert _alive(scheduler_pid)

        service.send_signal(signal.SIGTERM)
        service.wait(timeout=40)
        # `run` waits for its scheduler, so by now the child is gone (and reaped).
        assert not _alive(scheduler_pid), "the scheduler outlived the service that started it"
        assert service.returncode in (0, 128 + signal.SIGTERM)
    finally:
        if service.poll() is None:
            service.kill()
            service.wait(timeout=10)
        if scheduler_pid is not None and _alive(scheduler_pid):
            os.kill(scheduler_pid, signal.SIGKILL)
