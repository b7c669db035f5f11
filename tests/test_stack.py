"""The compose stack's processes, started as `docker compose up` would start them.

No container engine runs here, so each service of docker-compose.yml is run as
a process: its ``command``, with the environment compose would give it (its
``env_file`` plus its ``environment``, ``${...}`` filled from that env file),
in dependency order. What only the containers provide is pointed at this
machine: PostgreSQL (a fresh database) and Redis instead of the ``postgres``
and ``redis`` services, a temporary folder as the ``/data`` volume, a free port
instead of the published 8000, and ``SENDGRID_HOST`` at the local SendGrid
stand-in. The sources come from the env file's ``WIREWATCH_SOURCES_FILE``: the
local fixture site, so nothing leaves the machine.

Then: migrate runs to completion, the web app answers /healthz, the scheduler
takes the lease (its compose health check passes), two crawler workers crawl
the fixture site for the scheduler's crawl, and a digest reaches the SendGrid
stand-in.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from crawler.worker import JOBS_KEY, QUEUE_KEY
from db.models import CrawlRun, CrawlStatus
from db.session import make_engine, make_sessionmaker
from tests.conftest import ROOT, _drop_postgres_database, _fresh_postgres_database
from tests.servers.sendgrid_stub import DEFAULT_API_KEY, SendGridStub
from wirewatch.demo_site.manifest import load_manifest
from wirewatch.demo_site.server import FixtureSite

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

APP_SERVICES = ("migrate", "web", "scheduler", "crawler")
MAIL_FROM = "Newsroom alerts <alerts@newsroom.example>"
READER = "reader@newsroom.example"
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as compose reads them; comments and blank lines skipped."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def interpolate(text: str, variables: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}``."""

    def fill(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        value = variables.get(name)
        if op in (":-", "-") and (value is None or (op == ":-" and value == "")):
            return arg
        if op in (":?", "?") and (value is None or (op == ":?" and value == "")):
            raise AssertionError(f"compose would refuse to start: {name}: {arg}")
        return value or ""

    return _VARIABLE.sub(fill, text)


def service_environment(service: dict[str, Any], project: Path) -> dict[str, str]:
    env_files = service.get("env_file", [])
    env: dict[str, str] = {}
    for entry in [env_files] if isinstance(env_files, str) else env_files:
        path = entry if isinstance(entry, str) else entry["path"]
        env.update(read_env_file(project / path))
    dotenv = read_env_file(project / ".env")  # what compose fills ${...} from
    for key, value in (service.get("environment") or {}).items():
        env[key] = interpolate(str(value), dotenv)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Stack:
    def __init__(self, project: Path, overrides: dict[str, str], web_port: int) -> None:
        self.compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
        self.project = project
        self.overrides = overrides
        self.web_port = web_port
        self.processes: list[subprocess.Popen[bytes]] = []

    def service(self, name: str) -> dict[str, Any]:
        service: dict[str, Any] = self.compose["services"][name]
        return service

    def env(self, name: str) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.project),
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "NO_PROXY": "127.0.0.1,localhost",
        }
        env.update(service_environment(self.service(name), self.project))
        env.update(self.overrides)
        return env

    def argv(self, command: list[str]) -> list[str]:
        """``wirewatch ...`` as this checkout runs it; the published port made free."""
        args = [str(self.web_port) if part == "8000" else part for part in command]
        if args[0] == "wirewatch":
            return [sys.executable, "-m", "cli", *args[1:]]
        if args[0] == "python":
            return [sys.executable, *args[1:]]
        return args

    def run(self, name: str, command: list[str], timeout: float = 300) -> str:
        done = subprocess.run(
            self.argv(command),
            env=self.env(name),
            cwd=self.project,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        output = (done.stdout + done.stderr).decode(errors="replace")
        assert done.returncode == 0, f"{name}: {command} exited {done.returncode}:\n{output}"
        return output

    def start(self, name: str, replica: int = 0) -> subprocess.Popen[bytes]:
        log = (self.project / f"{name}-{replica}.log").open("wb")
        process = subprocess.Popen(
            self.argv(self.service(name)["command"]),
            env=self.env(name),
            cwd=self.project,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes.append(process)
        return process

    def health(self, name: str) -> bool:
        test = self.service(name)["healthcheck"]["test"]
        assert test[0] == "CMD"
        return (
            subprocess.run(
                self.argv(test[1:]),
                env=self.env(name),
                cwd=self.project,
                capture_output=True,
                timeout=60,
                check=False,
            ).returncode
            == 0
        )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.project.glob("*.log"))
        )


def wait_for(what: str, check: Callable[[], bool], stack: Stack, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        for process in stack.processes:
            assert process.poll() is None, f"a service exited while waiting for {what}:\n" + (
                stack.logs()
            )
        time.sleep(1)
    pytest.fail(f"{what}: not within {timeout:.0f} s\n{stack.logs()}")


@pytest.fixture
def fresh_database(postgres_server_url: str) -> Iterator[str]:
    url, name = _fresh_postgres_database(postgres_server_url)
    yield url
    _drop_postgres_database(postgres_server_url, name)


def write_project(project: Path, site: FixtureSite, sendgrid: SendGridStub) -> None:
    """The operator's side: .env from .env.example, and a sources file of their own."""
    sources = project / "sources.yaml"
    outlets = [
        {"name": o.slug, "url": o.feed_url(site.base_url), "language": o.language}
        for o in load_manifest().outlets
    ]
    sources.write_text(yaml.safe_dump({"sources": outlets}), encoding="utf-8")
    filled = {
        "POSTGRES_PASSWORD": "not-used-here",
        "WIREWATCH_BASE_URL": "https://news.example",
        "WIREWATCH_ADMIN_TOKEN": "a" * 40,
        "WIREWATCH_SECRET_KEY": "s" * 40,
        "WIREWATCH_MAIL_FROM": MAIL_FROM,
        "SENDGRID_API_KEY": DEFAULT_API_KEY,
        "WIREWATCH_ALLOW_PRIVATE_HOSTS": "127.0.0.1",
    }
    extra = {
        "SENDGRID_HOST": sendgrid.url,
        "WIREWATCH_SOURCES_FILE": str(sources),
        "WIREWATCH_SCHEDULER_TICK_SECONDS": "2",
        "WIREWATCH_DOWNLOAD_DELAY": "0",
    }
    lines = []
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        key = line.partition("=")[0]
        lines.append(f"{key}={filled[key]}" if key in filled else line)
    lines += [f"{key}={value}" for key, value in extra.items()]
    (project / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_the_compose_stack_runs_end_to_end(
    tmp_path: Path,
    fresh_database: str,
    redis_url: str,
    sendgrid_stub: SendGridStub,
) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    client.delete(JOBS_KEY, QUEUE_KEY)
    data = tmp_path / "data"  # the wirewatch-data volume
    data.mkdir()
    overrides = {
        "WIREWATCH_DATABASE_URL": fresh_database,
        "WIREWATCH_REDIS_URL": redis_url,
        "WIREWATCH_DATA_DIR": str(data),
    }
    with FixtureSite() as site:
        write_project(tmp_path, site, sendgrid_stub)
        stack = Stack(tmp_path, overrides, free_port())
        env = stack.env("web")
        assert env["WIREWATCH_CRAWL_WORKERS"] == "true"  # from the compose file
        assert env["WIREWATCH_MAIL_FROM"] == MAIL_FROM  # from the env file
        try:
            migrated = stack.run("migrate", stack.service("migrate")["command"])
            assert ".localhost" not in migrated, migrated  # no From warning: it is set
            stack.start("web")
            stack.start("scheduler")
            stack.start("crawler", 0)
            stack.start("crawler", 1)

            def answers() -> bool:
                try:
                    url = f"http://127.0.0.1:{stack.web_port}/healthz"
                    with urllib.request.urlopen(url, timeout=3) as response:
                        return bool(response.status == 200)
                except OSError:
                    return False

            wait_for("web answers /healthz", answers, stack, 120)
            wait_for("the scheduler holds the lease", lambda: stack.health("scheduler"), stack, 120)
            assert stack.health("crawler")

            # `docker compose exec web wirewatch subscribe ...`
            stack.run(
                "web",
                [
                    *("wirewatch", "subscribe", READER, "--topic", "police-liaison-migration"),
                    *("--every", "instant", "--confirmed"),
                ],
            )
            engine = make_engine(fresh_database)
            factory = make_sessionmaker(engine)

            def crawled() -> bool:
                with factory() as session:
                    runs = session.scalars(select(CrawlRun)).all()
                return any(r.status != CrawlStatus.RUNNING for r in runs)

            wait_for("the scheduler's crawl is done", crawled, stack, 300)
            with factory() as session:
                [run] = session.scalars(select(CrawlRun)).all()
            engine.dispose()
            assert run.trigger == "scheduler"
            assert run.status == CrawlStatus.SUCCEEDED, run.errors
            assert run.new == len(list(load_manifest().stories()))
            assert run.sources_done == run.sources_total == len(load_manifest().outlets)

            def mailed() -> bool:
                return any(body.get("categories") == ["digest"] for body in sendgrid_stub.accepted)

            wait_for("a digest reaches SendGrid", mailed, stack, 240)
        finally:
            stack.stop()
            client.delete(JOBS_KEY, QUEUE_KEY)
            client.close()
    [digest] = [b for b in sendgrid_stub.accepted if b.get("categories") == ["digest"]]
    assert digest["personalizations"][0]["to"] == [{"email": READER}]
    assert digest["from"] == {"email": "alerts@newsroom.example", "name": "Newsroom alerts"}
    assert digest["tracking_settings"]["click_tracking"]["enable"] is False
