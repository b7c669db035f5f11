"""The web search under concurrent clients: uvicorn on PostgreSQL with a generated archive.

Loads ``--n`` stories of the archive benchmark's generator (bench/archive) into
a fresh PostgreSQL database, starts the web app the way `wirewatch web` runs
it (one uvicorn process), then for ``--seconds`` has ``--clients`` concurrent
clients each send search after search, alternating the JSON API
(``/api/stories?q=...``) and the archive page (``/?q=...``). Queries are words
of random stored stories (AND of two or three words, a phrase, the most
frequent word of a story), so each has results.

The baseline, in the same run, is one client alone for ``--baseline-seconds``:
the ratio says how much slower an answer gets under load. Every answer other
than 200, and every connection error or timeout, is an error.

    .venv/bin/python -m bench.load.web_search --n 20000 --clients 50 --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.archive.generate import Generator
from bench.archive.run import load, query_sets

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/wirewatch_bench_web"
ENDPOINTS = ("/api/stories", "/")


@dataclass
class Samples:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {e: [] for e in ENDPOINTS})
    errors: dict[str, list[str]] = field(default_factory=lambda: {e: [] for e in ENDPOINTS})


def _generate(n: int, out: Path) -> None:
    with gzip.open(out, "wt", encoding="utf-8") as lines:
        for story in Generator(7, n):
            lines.write(json.dumps(story, ensure_ascii=False) + "\n")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start_web(postgres: str, data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "WIREWATCH_DATABASE_URL": postgres,
        "WIREWATCH_DATA_DIR": str(data_dir),
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "web", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.5)
    process.terminate()
    raise RuntimeError(f"the web app did not come up; see {log}")


async def _client(
    base: str, queries: list[str], until: float, samples: Samples, rng: random.Random
) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        turn = rng.randrange(len(ENDPOINTS))
        while time.monotonic() < until:
            endpoint = ENDPOINTS[turn % len(ENDPOINTS)]
            turn += 1
            started = time.perf_counter()
            try:
                answer = await client.get(endpoint, params={"q": rng.choice(queries)})
                elapsed = time.perf_counter() - started
                if answer.status_code == 200:
                    samples.latencies[endpoint].append(elapsed)
                else:
                    samples.errors[endpoint].append(f"HTTP {answer.status_code}")
            except httpx.HTTPError as exc:
                samples.errors[endpoint].append(f"{type(exc).__name__}: {exc}")


async def _load(base: str, queries: list[str], clients: int, seconds: float) -> Samples:
    samples = Samples()
    until = time.monotonic() + seconds
    await asyncio.gather(
        *(_client(base, queries, until, samples, random.Random(n)) for n in range(clients))
    )
    return samples


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _report(title: str, samples: Samples, seconds: float) -> dict[str, float]:
    print(f"\n{title}")
    print("| endpoint | answers | errors | answers/s | p50 ms | p95 ms | p99 ms |")
    print("|---|---|---|---|---|---|---|")
    p95 = {}
    for endpoint in ENDPOINTS:
        ok = samples.latencies[endpoint]
        errors = samples.errors[endpoint]
        p95[endpoint] = _percentile(ok, 0.95)
        print(
            f"| `{endpoint}` | {len(ok)} | {len(errors)} | {len(ok) / seconds:.1f} | "
            f"{_percentile(ok, 0.5):.0f} | {p95[endpoint]:.0f} | {_percentile(ok, 0.99):.0f} |"
        )
        for error in sorted(set(errors))[:5]:
            print(f"    error: {error}")
    return p95


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="stories in the archive")
    parser.add_argument("--data", type=Path, help="a bench.archive.generate file (else generated)")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="database to (re)create")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--baseline-seconds", type=float, default=10.0)
    parser.add_argument("--queries", type=int, default=200, help="distinct queries per kind")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        data = args.data
        if data is None:
            data = workdir / "archive.jsonl.gz"
            print(f"generating {args.n} stories", flush=True)
            _generate(args.n, data)
        engine, loaded, indexed, count = load(args.postgres, data, args.n)
        print(f"loaded {count} stories in {loaded:.0f} s, indexed in {indexed:.0f} s", flush=True)
        sets = query_sets(engine, random.Random(3), args.queries)
        engine.dispose()
        queries = [r.query for kind in ("and", "phrase", "newest") for r in sets[kind]]
        port = _free_port()
        web = _start_web(args.postgres, workdir, port, workdir / "web.log")
        base = f"http://127.0.0.1:{port}"
        try:
            alone = asyncio.run(_load(base, queries, 1, args.baseline_seconds))
            loaded_samples = asyncio.run(_load(base, queries, args.clients, args.seconds))
        finally:
            web.terminate()
            web.wait(timeout=30)
    base_p95 = _report(
        f"baseline: 1 client, {args.baseline_seconds:.0f} s", alone, args.baseline_seconds
    )
    load_p95 = _report(
        f"{args.clients} clients, {args.seconds:.0f} s", loaded_samples, args.seconds
    )
    print(
        "\np95 under load / p95 alone: "
        + ", ".join(f"`{e}` {load_p95[e] / base_p95[e]:.1f}x" for e in ENDPOINTS)
    )
    errors = sum(len(v) for v in loaded_samples.errors.values())
    errors += sum(len(v) for v in alone.errors.values())
    print(f"errors: {errors}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
