"""What every benchmark of ``python -m bench`` shares: the figures and their targets, a real
gunicorn server (and a Celery worker) on loopback, signed-in HTTP sessions, percentiles and
process memory.

The servers are started the way production runs them (``gunicorn 'app:create_app()'``, the
same configuration read from the environment) with three differences, all for a benchmark
whose clients share one address: the portal's per-address rate limits are raised (50
applicants signing in from 127.0.0.1 in the same second would otherwise be refused, as a
public counter behind one router would without ``PORTAL_LOGIN_RATE_LIMIT``), cookies are
not marked ``Secure`` (plain HTTP on loopback), and files, mails and logs go to a temporary
folder.
"""

from __future__ import annotations

import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MB = 1024 * 1024

RAISED_LIMITS = {
    "PORTAL_LOGIN_RATE_LIMIT": "100000/minute",
    "PORTAL_FORM_RATE_LIMIT": "100000/minute",
    "PORTAL_MAIL_RATE_LIMIT": "100000/hour",
}


# ---------------------------------------------------------------------------------------
# Figures


@dataclass
class Figure:
    """One line of the final table: what was measured, its values, and the target it is
    held to (``verdict`` PASS / MISS, None when there is no target)."""

    section: str
    name: str
    values: dict[str, Any] = field(default_factory=dict)
    target: str = ""
    verdict: str | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "name": self.name,
            "values": self.values,
            "target": self.target,
            "verdict": self.verdict,
            "note": self.note,
        }


def verdict(passed: bool | None) -> str | None:
    if passed is None:
        return None
    return "PASS" if passed else "MISS"


def percentile(values: Sequence[float], share: float) -> float:
    """The ``share`` percentile (0–100) by the nearest-rank method: with 20 samples, p95 is
    the 19th smallest; NaN without samples."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(share / 100 * len(ordered)))
    return ordered[rank - 1]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50 and p95 of durations given in seconds, in milliseconds."""
    return {
        "p50_ms": round(percentile(seconds, 50) * 1000, 2),
        "p95_ms": round(percentile(seconds, 95) * 1000, 2),
    }


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


# ---------------------------------------------------------------------------------------
# Processes


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def memory_kb(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` (peak resident set since the process started) in kB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(value.split()[0])
    return values


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(item) for item in path.read_text().split()] if path.exists() else []


def server_environment(
    database_url: str, folder: Path, broker_url: str | None = None
) -> dict[str, str]:
    """The environment of a bench server or worker: the database, a temporary folder for
    files and mails, Celery's broker (eager without), raised per-address limits."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CELERY_", "CLAMD_", "GUICHET_TEST_", "MAIL_"))
    }
    env.update(RAISED_LIMITS)
    env.update(
        GUICHET_ENV="development",
        GUICHET_INSTANCE_DIR=str(folder),
        DATABASE_URL=database_url,
        SECRET_KEY="bench-secret-" + "x" * 40,
        STORAGE_BACKEND="local",
        STORAGE_DIR=str(folder / "files"),
        MAIL_OUTBOX_DIR=str(folder / "outbox"),
        PYTHONUNBUFFERED="1",
    )
    if broker_url:
        env["CELERY_BROKER_URL"] = broker_url
    return env


def _wait_for_port(port: int, process: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped at start-up (exit {process.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start in time")


@dataclass
class Server:
    """A running gunicorn master on loopback."""

    process: subprocess.Popen
    port: int
    folder: Path
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def workers(self) -> list[int]:
        return children(self.process.pid)

    def peak_memory_mb(self) -> float:
        """The largest peak resident set of its workers, in MB."""
        peaks = [memory_kb(pid).get("VmHWM", 0) for pid in self.workers()]
        return max(peaks, default=0) / 1024


@contextmanager
def gunicorn(
    database_url: str,
    folder: Path,
    *,
    workers: int = 4,
    broker_url: str | None = None,
    timeout: int = 300,
) -> Iterator[Server]:
    """``gunicorn --workers N 'app:create_app()'`` on a free loopback port, stopped on exit.
    Its log (stderr) is kept in ``folder`` for a failed start to be read."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = folder / f"gunicorn-{port}.log"
    command = [
        str(BIN / "gunicorn"),
        "--workers",
        str(workers),
        "--timeout",
        str(timeout),
        "--bind",
        f"127.0.0.1:{port}",
        "app:create_app()",
    ]
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=server_environment(database_url, folder, broker_url),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, port, folder, log)
    try:
        try:
            _wait_for_port(port, process)
        except RuntimeError as error:
            raise RuntimeError(f"{error}; its log: {log}") from None
        deadline = time.monotonic() + 30
        while len(server.workers()) < workers and time.monotonic() < deadline:
            time.sleep(0.1)
        warm_up(server)
        yield server
    finally:
        _stop(process)


@contextmanager
def celery_worker(database_url: str, folder: Path, broker_url: str) -> Iterator[subprocess.Popen]:
    """``celery -A app.worker worker`` (one process) on ``broker_url``, stopped on exit."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "celery.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [
                str(BIN / "celery"),
                "-A",
                "app.worker",
                "worker",
                "--concurrency",
                "1",
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=server_environment(database_url, folder, broker_url),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        time.sleep(1)
        if process.poll() is not None:
            raise RuntimeError(f"the Celery worker stopped at start-up; its log: {log}")
        yield process
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---------------------------------------------------------------------------------------
# HTTP

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class BenchError(RuntimeError):
    """A benchmark could not run (the message says why)."""


def csrf_token(html: str) -> str:
    found = _CSRF.search(html)
    if found is None:
        raise BenchError("no CSRF token in the page")
    return found.group(1)


def session(base_url: str, pool: int = 4) -> requests.Session:
    client = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=pool, pool_maxsize=pool)
    client.mount("http://", adapter)
    client.base_url = base_url  # type: ignore[attr-defined]
    return client


def sign_in(base_url: str, email: str, password: str) -> tuple[requests.Session, str | None]:
    """A session signed in through the portal's login form (agents sign in there too), and
    the CSRF token of the page it lands on (the login starts a new session: the token of
    the login page is no longer valid), None when that page has no form."""
    client = session(base_url)
    page = client.get(f"{base_url}/connexion", timeout=300)
    answer = client.post(
        f"{base_url}/connexion",
        data={"email": email, "password": password, "csrf_token": csrf_token(page.text)},
        allow_redirects=False,
        timeout=300,
    )
    if answer.status_code != 302:
        raise BenchError(f"could not sign in as {email} (HTTP {answer.status_code})")
    landing = client.get(base_url + answer.headers["Location"].removeprefix(base_url), timeout=300)
    found = _CSRF.search(landing.text)
    return client, found.group(1) if found else None


def warm_up(server: Server, requests_per_worker: int = 3) -> None:
    """Wait until every worker answers (each builds its app when it starts, after the
    master opened the port): parallel health checks until all are quick."""
    from concurrent.futures import ThreadPoolExecutor

    count = max(1, len(server.workers())) * requests_per_worker
    deadline = time.monotonic() + 180
    client = session(server.url, pool=count)
    while time.monotonic() < deadline:
        with ThreadPoolExecutor(max_workers=count) as pool:
            durations = list(
                pool.map(
                    lambda _: timed(lambda: client.get(f"{server.url}/healthz", timeout=120))[0],
                    range(count),
                )
            )
        if max(durations) < 1:
            return
    raise BenchError("the server's workers did not become ready in time")


def timed_get(client: requests.Session, url: str, runs: int, warm: int = 1) -> list[float]:
    """Durations (s) of ``runs`` GETs after untimed warm-up; every answer must be 200
    (a redirect or an error is a failed benchmark, not a fast one).

    The warm-up sends ``warm`` requests at once, twice: gunicorn's sync workers take one
    connection each, so with ``warm`` = the number of workers every worker serves the page
    (compiles its templates, fills its caches) before the timing starts. Sent one after the
    other, some worker could be left cold and its first request counted."""
    for _round in range(2):
        with ThreadPoolExecutor(max_workers=warm) as pool:
            for answer in pool.map(lambda _: _copy(client).get(url, **_GET), range(warm)):
                _check(answer, url)
    durations = []
    for _run in range(runs):
        started = time.perf_counter()
        answer = client.get(url, **_GET)
        durations.append(time.perf_counter() - started)
        _check(answer, url)
    return durations


_GET: dict[str, Any] = {"allow_redirects": False, "timeout": 120}


def _copy(client: requests.Session) -> requests.Session:
    """A session of its own (one connection per thread) with ``client``'s cookies."""
    session = requests.Session()
    session.cookies.update(client.cookies)
    session.headers.update(client.headers)
    return session


def _check(answer: requests.Response, url: str) -> None:
    if answer.status_code != 200:
        raise BenchError(f"GET {url} answered {answer.status_code}")


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result
