"""The REST API's ``advance`` under 8 concurrent clients, beside the Python API in the same run.

**Server.** A real ``python -m doctrack serve --host 127.0.0.1 --port P`` process on a free
port, as staff run it: one process, one uvicorn worker (what ``doctrack serve`` starts; the
sync routes run in AnyIO's thread pool), uvicorn's access log on (written to a file), the
clock fixed with ``DOCTRACK_NOW`` at 11:00 in Tashkent on the summit's first day so that
``sign`` (``summit_in_session``) holds. It gets a fresh copy of the database at every repeat,
is waited for on ``GET /healthz``, and is always stopped (SIGTERM, then SIGKILL after 30 s),
whatever happens to the run. Its CPU time (``/proc/PID/stat``) and peak RSS are recorded.

**Databases.** SQLite: a temporary file, in doctrack's default mode. PostgreSQL: on
``postgresql+psycopg://postgres@127.0.0.1:5432/`` (``--postgres-url``), a template database
made once and a fresh ``CREATE DATABASE ... TEMPLATE`` copy per run
(``doctrack_bench_web_PID_*``, all dropped at the end); skipped, saying why, when the server
does not answer.

**Setup (untimed, once per backend).** ``bench.advance.build_world``: 6 parties, a
coordinator, a secretary, a delegate per party, the Tashkent 2016 summit, N ``convention``
instruments with a revision and every party's ``approve`` (plus one warm-up instrument per
client), all through the public API; then an API token for the coordinator and for the
secretary (``Accounts.create_token``, what ``doctrack user token create`` does) and each
instrument's version.

**REST (timed).** ``--clients`` threads (default 8), each with its own ``httpx.Client``
(HTTP/1.1, one keep-alive connection) and its own instruments (round robin, so no two
clients touch the same instrument), each instrument taken through ``submit``, ``agree``,
``approve``, ``sign``, ``enter_into_force`` with ``POST /api/v1/instruments/SLUG/advance``,
``Authorization: Bearer`` of the user holding the transition's role and ``If-Match`` with
the version the previous answer gave: exactly what a script calling the API does. Every
answer must be 200; any other answer or a transport error is counted and printed, the
instrument is left there, and the run exits with status 1. Before the clock starts, each
client advances its warm-up instrument (the connection, the server's pooled connections and
threads, the workflow's machine) and calls ``GET /healthz``; the clients then start
together (a barrier). Throughput = transitions answered 200 / wall time from the start
until the last client is done; p50 and p95 are per-request latencies (from sending to the
whole answer read) over every request of the repeat.

Why threads with one blocking ``httpx.Client`` each rather than one asyncio
``httpx.AsyncClient``: each client is then an independent, sequential script holding its
own keep-alive connection, like the cron jobs and CI scripts that use the API; latency is
timed in the thread that waits for it, with no event-loop scheduling of other clients'
callbacks in between; and the sockets' waits release the GIL, so 8 threads keep 8 requests
in flight. The client's own CPU per request is printed so that a client-bound run shows.

**HTTP floor (timed, same server).** ``GET /healthz`` (a sync route returning a constant, no
database, through the same middleware) by the same clients, the same way: what any request
costs through uvicorn, FastAPI and the client, whatever the route does.

**Python API (timed, same run).** ``bench.advance.DoctrackSide`` on its own fresh copy:
``Tracker.advance`` for the same instruments and triggers in one thread, as
``python -m bench.advance`` times it. Each repeat runs both, the order swapped every repeat.

**Ratio** = REST median rate / Python API median rate: the share of the Python API's
throughput left once HTTP, JSON, token checks and the server's threads are added. The
target on SQLite is at least 25%; it is printed, never asserted. The suite's row (one per
backend) has the Python API as REST's floor: REST's wall time per transition with C clients
against the API's, a ratio of 1 / that share (target on SQLite: at most 4x).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

import doctrack
from bench import advance
from bench._suite import (
    BenchError,
    Row,
    Side,
    checkpoint,
    count_option,
    dist_version,
    free_port,
    fresh_copy,
    median,
    mib,
    parser,
    pg_admin,
    pg_database_url,
    pg_unavailable,
    proc_status_kib,
    remove_sqlite,
    render_table,
    resolve,
    run_main,
    sqlite_url,
)
from doctrack.engine.registry import workflows_folder
from doctrack.services.accounts import Accounts

DEFAULT_CLIENTS = 8
DEFAULT_INSTRUMENTS = 800
DEFAULT_REPEATS = 3
QUICK_INSTRUMENTS = 80
QUICK_REPEATS = 1
#: GET /healthz requests per client per repeat (the HTTP floor).
HEALTH_REQUESTS = 250
QUICK_HEALTH_REQUESTS = 50
#: REST rate / Python API rate on SQLite: the issue's target.
TARGET_SHARE = 0.25
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_PREFIX = "doctrack_bench_web"
TOKEN_LABEL = "bench.web"
#: Seconds the server has to answer /healthz after starting, and to exit after SIGTERM.
START_DEADLINE = 60.0
STOP_DEADLINE = 30.0
#: Seconds one request may take before it counts as an error.
REQUEST_TIMEOUT = 60.0
#: Seconds a client waits at a barrier for the others (a stuck run fails, never hangs).
PHASE_TIMEOUT = 1800.0
LOG_TAIL = 30


# -- backends -----------------------------------------------------------------------------------


class Backend:
    name = "?"

    def unavailable(self) -> str | None:
        """Why this backend cannot be used, or None."""
        return None

    def template(
        self, folder: Path, slugs: Sequence[str]
    ) -> contextlib.AbstractContextManager[str]:
        """Build the world once (``advance.build_world``); the template's URL."""
        raise NotImplementedError

    def copy(self, name: str) -> contextlib.AbstractContextManager[Copy]:
        """A fresh copy of the template for one timed run, removed afterwards."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Copy:
    url: str


class SqliteBackend(Backend):
    name = "sqlite"

    def __init__(self) -> None:
        self.folder: Path | None = None
        self.path: Path | None = None

    @contextlib.contextmanager
    def template(self, folder: Path, slugs: Sequence[str]) -> Iterator[str]:
        self.folder = folder
        self.path = folder / "template.db"
        advance.build_world(sqlite_url(self.path), slugs)
        yield sqlite_url(self.path)

    def checkpoint(self) -> None:
        """After the tokens were added: empty the WAL, so that the file can be copied."""
        assert self.path is not None
        checkpoint(self.path)

    @contextlib.contextmanager
    def copy(self, name: str) -> Iterator[Copy]:
        assert self.folder is not None and self.path is not None
        dest = fresh_copy(self.path, self.folder / f"{name}.db")
        try:
            yield Copy(sqlite_url(dest))
        finally:
            remove_sqlite(dest)


class PostgresBackend(Backend):
    name = "postgres"

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.prefix = f"{PG_PREFIX}_{os.getpid()}"
        self.template_name = f"{self.prefix}_template"

    def unavailable(self) -> str | None:
        """Why PostgreSQL cannot be used, or None."""
        return pg_unavailable(self.admin_url)

    def _admin(self, statement: str) -> None:
        pg_admin(self.admin_url, statement)

    def _url(self, name: str) -> str:
        return pg_database_url(self.admin_url, name)

    def _drop(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @contextlib.contextmanager
    def template(self, folder: Path, slugs: Sequence[str]) -> Iterator[str]:
        self._drop(self.template_name)
        self._admin(f'CREATE DATABASE "{self.template_name}"')
        try:
            url = self._url(self.template_name)
            advance.build_world(url, slugs)
            yield url
        finally:
            self._drop(self.template_name)

    @contextlib.contextmanager
    def copy(self, name: str) -> Iterator[Copy]:
        database = f"{self.prefix}_{name}"
        self._drop(database)
        # Nobody may be connected to the template meanwhile: every engine on it is disposed.
        self._admin(f'CREATE DATABASE "{database}" TEMPLATE "{self.template_name}"')
        try:
            yield Copy(self._url(database))
        finally:
            self._drop(database)


@dataclass(frozen=True, slots=True)
class World:
    """What the clients need from the setup."""

    slugs: list[str]
    warm_slugs: list[str]
    tokens: dict[str, str]
    versions: dict[str, int]


def prepare(url: str, slugs: Sequence[str]) -> tuple[dict[str, str], dict[str, int]]:
    """API tokens for the users that fire the triggers, and every instrument's version."""
    tracker = doctrack.connect(url, clock=doctrack.FixedClock(advance.NOW))
    try:
        accounts = Accounts(tracker.db, tracker.clock)
        users = dict.fromkeys(user for _, user in advance.STEPS)
        tokens = {user: accounts.create_token(user, label=TOKEN_LABEL)[1] for user in users}
        versions = {slug: tracker.show(slug).version for slug in slugs}
    finally:
        tracker.db.dispose()
    return tokens, versions


def count_in_force(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT count(*) FROM instrument WHERE state = 'in_force'")
            ).scalar()
    finally:
        engine.dispose()
    return int(found or 0)


# -- the server ---------------------------------------------------------------------------------


_TICK_NS = 1_000_000_000 // os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 10_000_000


def process_cpu_ns(pid: int) -> int | None:
    """User + system CPU time of process ``pid`` (all its threads), Linux only."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * _TICK_NS  # utime, stime (fields 14, 15)


def process_peak_rss(pid: int) -> int | None:
    """The process's peak resident set (``VmHWM``), bytes; Linux only."""
    kib = proc_status_kib("VmHWM", pid)
    return None if kib is None else kib * 1024


class Server:
    """``python -m doctrack serve`` on a free port of 127.0.0.1, its log in a file."""

    def __init__(self, url: str, folder: Path, name: str, secret_key: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = folder / f"serve-{name}.log"
        src = str(Path(doctrack.__file__).resolve().parent.parent)
        env = dict(os.environ)
        env.update(
            {
                "PYTHONPATH": os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")])),
                "DOCTRACK_DATABASE_URL": url,
                "DOCTRACK_NOW": advance.NOW.isoformat(),
                "DOCTRACK_SECRET_KEY": secret_key,
                "DOCTRACK_OUTBOX": str(folder / "outbox"),
                "DOCTRACK_WORKFLOWS": str(
                    workflows_folder(doctrack.load_settings().workflows).resolve()
                ),
            }
        )
        self.command = [sys.executable, "-m", "doctrack", "serve", "--host", "127.0.0.1"]
        self.command += ["--port", str(self.port)]
        with self.log_path.open("wb") as log:
            # The server's working directory is ours: it reads the same config file and
            # workflows as the Python API side.
            self.popen = subprocess.Popen(
                self.command, cwd=Path.cwd(), env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self.peak_rss: int | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-LOG_TAIL:])

    def wait_ready(self) -> None:
        until = time.monotonic() + START_DEADLINE
        while True:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.popen.poll() is not None:
                raise BenchError(
                    f"doctrack serve exited with {self.popen.returncode}:\n{self.log_tail()}"
                )
            if time.monotonic() > until:
                raise BenchError(
                    f"doctrack serve did not answer within {START_DEADLINE:g} s:\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL if it has not exited after STOP_DEADLINE seconds."""
        if self.popen.poll() is None:
            self.peak_rss = process_peak_rss(self.pid)
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)
            try:
                return self.popen.wait(STOP_DEADLINE)
            except subprocess.TimeoutExpired:
                print(
                    f"bench.web: doctrack serve (pid {self.pid}) ignored SIGTERM for "
                    f"{STOP_DEADLINE:g} s: killed",
                    file=sys.stderr,
                )
                self.popen.kill()
                return self.popen.wait()
        return self.popen.returncode


@contextlib.contextmanager
def serving(url: str, folder: Path, name: str, secret_key: str) -> Iterator[Server]:
    server = Server(url, folder, name, secret_key)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


# -- the clients --------------------------------------------------------------------------------


@dataclass(slots=True)
class Mark:
    """Taken by the last client to reach a barrier, before any of them goes on."""

    wall_ns: int
    client_cpu_ns: int
    server_cpu_ns: int | None


@dataclass(slots=True)
class ClientLog:
    """One client's latencies (every answered request) and its 200 answers, per phase."""

    health_ns: list[int] = field(default_factory=list)
    health_ok: int = 0
    advance_ns: list[int] = field(default_factory=list)
    advance_ok: int = 0
    errors: list[str] = field(default_factory=list)


def _advance_one(
    client: httpx.Client,
    slug: str,
    version: int,
    auth: dict[str, dict[str, str]],
    log: ClientLog,
    *,
    timed: bool = True,
) -> None:
    """Take ``slug`` through the workflow, ``If-Match`` the version the last answer gave;
    stop at the first answer that is not 200 (an error)."""
    path = f"/api/v1/instruments/{slug}/advance"
    for trigger, user in advance.STEPS:
        headers = {**auth[user], "If-Match": f'"{version}"'}
        started = time.perf_counter_ns()
        try:
            answer = client.post(path, json={"trigger": trigger}, headers=headers)
        except httpx.HTTPError as exc:
            log.errors.append(f"{slug} {trigger}: {type(exc).__name__}: {exc}")
            return
        elapsed = time.perf_counter_ns() - started
        if answer.status_code != 200:
            log.errors.append(f"{slug} {trigger}: {answer.status_code} {answer.text[:300]}")
            return
        version = int(answer.json()["version"])
        if timed:
            log.advance_ns.append(elapsed)
            log.advance_ok += 1


def _client(
    base: str,
    world: World,
    mine: Sequence[str],
    warm: str,
    health_requests: int,
    barrier: threading.Barrier,
    log: ClientLog,
) -> None:
    auth = {user: {"Authorization": f"Bearer {token}"} for user, token in world.tokens.items()}

    def phase(work: Callable[[], None]) -> None:
        try:
            work()
        except Exception as exc:  # noqa: BLE001 - counted as an error, the others go on
            log.errors.append(f"client error: {type(exc).__name__}: {exc}")
        try:
            barrier.wait(PHASE_TIMEOUT)
        except threading.BrokenBarrierError:
            log.errors.append("the clients could not go on together (a client failed or hung)")

    try:
        with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT) as client:

            def warm_up() -> None:
                client.get("/healthz").raise_for_status()
                _advance_one(client, warm, world.versions[warm], auth, log, timed=False)

            def health() -> None:
                for _ in range(health_requests):
                    started = time.perf_counter_ns()
                    answer = client.get("/healthz")
                    log.health_ns.append(time.perf_counter_ns() - started)
                    if answer.status_code == 200:
                        log.health_ok += 1
                    else:
                        log.errors.append(f"GET /healthz: {answer.status_code}")

            def advance_all() -> None:
                for slug in mine:
                    _advance_one(client, slug, world.versions[slug], auth, log)

            phase(warm_up)  # then mark 0
            phase(health)  # mark 1
            phase(advance_all)  # mark 2
    except Exception as exc:  # noqa: BLE001 - reported; the other clients must not wait
        log.errors.append(f"client failed: {type(exc).__name__}: {exc}")
        barrier.abort()


@dataclass(slots=True)
class Phase:
    """One timed phase of a REST run: 200 answers, wall and CPU time, latencies (ns)."""

    ok: int
    wall_ns: int
    client_cpu_ns: int
    server_cpu_ns: int | None
    latencies_ns: list[int]


@dataclass(slots=True)
class RestRun:
    health: Phase
    advance: Phase
    errors: list[str]
    server_peak_rss: int | None


def _phase(start: Mark, end: Mark, ok: int, latencies: list[int]) -> Phase:
    server = None
    if start.server_cpu_ns is not None and end.server_cpu_ns is not None:
        server = end.server_cpu_ns - start.server_cpu_ns
    return Phase(
        ok=ok,
        wall_ns=end.wall_ns - start.wall_ns,
        client_cpu_ns=end.client_cpu_ns - start.client_cpu_ns,
        server_cpu_ns=server,
        latencies_ns=latencies,
    )


def run_rest(server: Server, world: World, clients: int, health_requests: int) -> RestRun:
    marks: list[Mark] = []

    def mark() -> None:
        marks.append(
            Mark(time.perf_counter_ns(), time.process_time_ns(), process_cpu_ns(server.pid))
        )

    barrier = threading.Barrier(clients, action=mark)
    logs = [ClientLog() for _ in range(clients)]
    threads = [
        threading.Thread(
            target=_client,
            args=(
                server.base,
                world,
                world.slugs[i::clients],
                world.warm_slugs[i],
                health_requests,
                barrier,
                logs[i],
            ),
            name=f"bench-client-{i}",
            daemon=True,
        )
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    errors = [e for log in logs for e in log.errors]
    if len(marks) != 3:
        raise BenchError(f"the clients did not finish together: {errors[:5]}")
    return RestRun(
        health=_phase(
            marks[0],
            marks[1],
            sum(log.health_ok for log in logs),
            [n for log in logs for n in log.health_ns],
        ),
        advance=_phase(
            marks[1],
            marks[2],
            sum(log.advance_ok for log in logs),
            [n for log in logs for n in log.advance_ns],
        ),
        errors=errors,
        server_peak_rss=None,
    )


# -- one backend --------------------------------------------------------------------------------


@dataclass(slots=True)
class Repeat:
    api_wall_ns: int
    api_cpu_ns: int
    rest: RestRun


@dataclass(slots=True)
class BackendResult:
    name: str
    instruments: int
    clients: int
    setup_s: float
    repeats: list[Repeat]
    skipped: str | None = None

    @property
    def errors(self) -> list[str]:
        return [e for r in self.repeats for e in r.rest.errors]


def run_api(copy: Copy, slugs: Sequence[str]) -> advance.Timing:
    timing = advance.Timing()
    side = advance.DoctrackSide(copy.url)
    try:
        timing.add(side, slugs)
    finally:
        side.close()
    done = count_in_force(copy.url)
    if done != len(slugs):
        raise BenchError(f"Python API: {done} of {len(slugs)} instruments reached in_force")
    return timing


def run_backend(
    backend: Backend, folder: Path, args: argparse.Namespace, secret_key: str
) -> BackendResult:
    all_slugs = advance.slugs_for(args.instruments + args.clients)
    slugs, warm = all_slugs[: args.instruments], all_slugs[args.instruments :]
    started = time.perf_counter()
    repeats: list[Repeat] = []
    with backend.template(folder, all_slugs) as url:
        tokens, versions = prepare(url, all_slugs)
        if isinstance(backend, SqliteBackend):
            backend.checkpoint()
        setup_s = time.perf_counter() - started
        world = World(slugs, warm, tokens, versions)
        for k in range(args.repeats):
            api_timing: advance.Timing | None = None
            rest: RestRun | None = None
            for side in ("api", "rest") if k % 2 == 0 else ("rest", "api"):
                with backend.copy(f"{side}{k}") as copy:
                    if side == "api":
                        api_timing = run_api(copy, slugs)
                        continue
                    with serving(copy.url, folder, f"{backend.name}-{k}", secret_key) as server:
                        rest = run_rest(server, world, args.clients, args.health_requests)
                    rest.server_peak_rss = server.peak_rss
                    done = count_in_force(copy.url)
                    expected = len(all_slugs)
                    if done != expected and not rest.errors:
                        raise BenchError(f"REST: {done} of {expected} instruments in_force")
            assert api_timing is not None and rest is not None
            repeats.append(Repeat(api_timing.wall_ns, api_timing.cpu_ns, rest))
            print(
                f"  {backend.name} repeat {k + 1}/{args.repeats}: REST "
                f"{_rate(rest.advance.ok, rest.advance.wall_ns):,.0f} tx/s, Python API "
                f"{_rate(len(slugs) * len(advance.STEPS), api_timing.wall_ns):,.0f} tx/s, "
                f"{len(rest.errors)} error(s)",
                flush=True,
            )
    return BackendResult(backend.name, len(slugs), args.clients, setup_s, repeats)


# -- report -------------------------------------------------------------------------------------


def _rate(ops: int, ns: int) -> float:
    return ops / (ns / 1e9) if ns else 0.0


def _pct(values: Sequence[int], q: float) -> float:
    """The q-quantile (nearest rank), ns."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))])


def _ms(ns: float) -> str:
    return f"{ns / 1e6:,.1f}"


def _cpu_us(phases: Sequence[Phase], server: bool) -> str:
    per = []
    for p in phases:
        cpu = p.server_cpu_ns if server else p.client_cpu_ns
        if cpu is None or not p.ok:
            return "-"
        per.append(cpu / p.ok / 1000)
    return f"{median(per):,.0f}"


def share(result: BackendResult) -> float:
    """REST median rate / Python API median rate."""
    tx = result.instruments * len(advance.STEPS)
    api = median([_rate(tx, r.api_wall_ns) for r in result.repeats])
    rest = median([_rate(r.rest.advance.ok, r.rest.advance.wall_ns) for r in result.repeats])
    return rest / api if api else float("nan")


def _latencies(phases: Sequence[Phase]) -> tuple[float, float]:
    """Median over repeats of p50 and p95, ns."""
    return (
        median([_pct(p.latencies_ns, 0.50) for p in phases]),
        median([_pct(p.latencies_ns, 0.95) for p in phases]),
    )


def _phase_cells(phases: Sequence[Phase], unit: str) -> tuple[float, list[str]]:
    """Median rate, then the cells: rate, p50; p95, min-max rate, CPU server; client."""
    rates = [_rate(p.ok, p.wall_ns) for p in phases]
    p50, p95 = _latencies(phases)
    rate = median(rates)
    return rate, [
        f"{rate:,.0f} {unit}/s",
        f"{_ms(p50)}; {_ms(p95)}",
        f"{min(rates):,.0f}-{max(rates):,.0f}",
        f"{_cpu_us(phases, True)}; {_cpu_us(phases, False)}",
    ]


def detail_rows(result: BackendResult) -> list[list[str]]:
    """This benchmark's own table: the advance row and the HTTP floor's row of one backend."""
    tx = result.instruments * len(advance.STEPS)
    api_rates = [_rate(tx, r.api_wall_ns) for r in result.repeats]
    api_rate = median(api_rates)
    api_cpu = median([r.api_cpu_ns / tx / 1000 for r in result.repeats])
    rate, (rest, latency, spread, cpu) = _phase_cells(
        [r.rest.advance for r in result.repeats], "tx"
    )
    advance_row = [
        f"{result.name}: advance ({advance.WORKFLOW})",
        f"{result.instruments} x {len(advance.STEPS)} = {tx:,} tx",
        rest,
        f"{api_rate:,.0f} tx/s {1e6 / api_rate:,.0f} µs/tx",
        f"{rate / api_rate:.0%}",
        latency,
        f"{spread}; {min(api_rates):,.0f}-{max(api_rates):,.0f}",
        f"{cpu}; {api_cpu:,.0f}",
        str(len(result.errors)),
    ]
    health = [r.rest.health for r in result.repeats]
    _, (rest, latency, spread, cpu) = _phase_cells(health, "req")
    floor_row = [
        f"{result.name}: GET /healthz (HTTP floor)",
        f"{median([p.ok for p in health]):,.0f} req",
        rest,
        "-",
        "-",
        latency,
        spread,
        cpu,
        "-",
    ]
    return [advance_row, floor_row]


def report(results: Sequence[BackendResult], args: argparse.Namespace) -> None:
    print()
    print(
        f"httpx {dist_version('httpx')}; uvicorn {dist_version('uvicorn')}; "
        f"fastapi {dist_version('fastapi')}"
    )
    for result in results:
        if result.skipped:
            print(f"{result.name}: skipped: {result.skipped}")
            continue
        print(
            f"setup ({result.name}, untimed, public API): {result.instruments} "
            f"{advance.WORKFLOW} instruments (+{result.clients} warm-up) with a revision and "
            f"{len(advance.PARTIES)} approvals each, 2 API tokens, {result.setup_s:.1f} s; "
            "every run starts from a fresh copy"
        )
    print(
        "server: python -m doctrack serve, one process with one uvicorn worker (as doctrack "
        "serve runs it), sync routes in AnyIO's thread pool, access log on (to a file), "
        "HTTP/1.1 keep-alive on 127.0.0.1; "
        f"clients: {args.clients} threads in this process, one httpx.Client each, each on its "
        "own instruments, If-Match from the previous answer"
    )
    done = [r for r in results if not r.skipped]
    if not done:
        return
    print()
    headers = [
        "workload",
        "size",
        f"REST median ({args.clients} clients)",
        "Python API median (1 thread)",
        "REST/API",
        "p50; p95 ms",
        "min-max tx/s REST; API",
        "CPU µs/tx server; client; API",
        "errors",
    ]
    print(render_table(headers, [row for r in done for row in detail_rows(r)]))
    print()
    for result in done:
        peaks = [r.rest.server_peak_rss for r in result.repeats if r.rest.server_peak_rss]
        peak = f"; server peak RSS {mib(max(peaks))}" if peaks else ""
        ratio = share(result)
        if result.name == "sqlite":
            verdict = "met" if ratio >= TARGET_SHARE else "NOT met"
            print(
                f"{result.name}: REST/API = {ratio:.0%} of the Python API's rate (target: at "
                f"least {TARGET_SHARE:.0%}): {verdict}{peak}"
            )
        else:
            print(f"{result.name}: REST/API = {ratio:.0%} of the Python API's rate{peak}")
    print(
        f"REST = transitions answered 200 / wall time, clients started together, median of "
        f"{args.repeats} repeat(s); p50; p95 = latency of one request (median over repeats); "
        "Python API = bench.advance's DoctrackSide (Tracker.advance, one thread) on its own "
        "fresh copy, the order swapped every repeat; CPU µs/tx: the server process (all its "
        "threads), this process's client threads, the Python API run; GET /healthz = the "
        "same clients and server, no database: the HTTP layer's floor"
    )
    errors = [e for r in done for e in r.errors]
    if errors:
        print()
        print(f"FAILED: {len(errors)} request(s) not answered 200; the first ones:")
        for line in errors[:10]:
            print(f"  {line}")


def suite_row(result: BackendResult) -> Row:
    """The suite's row of one backend: REST's wall time per transition with C clients
    against the Python API's in one thread (ratio = 1 / REST/API)."""
    tx = result.instruments * len(advance.STEPS)
    rest_phases = [r.rest.advance for r in result.repeats]
    server_cpu = [p.server_cpu_ns for p in rest_phases]
    rest_cpu = (
        None
        if any(c is None for c in server_cpu)
        else [(c or 0) + p.client_cpu_ns for c, p in zip(server_cpu, rest_phases, strict=True)]
    )
    rest = Side(
        f"REST, {result.clients} clients", [p.wall_ns for p in rest_phases], tx, "tx", rest_cpu
    )
    api = Side(
        "Python API, 1 thread",
        [r.api_wall_ns for r in result.repeats],
        tx,
        "tx",
        [r.api_cpu_ns for r in result.repeats],
    )
    p50, p95 = _latencies(rest_phases)
    health = [r.rest.health for r in result.repeats]
    health_rate = median([_rate(p.ok, p.wall_ns) for p in health])
    peaks = [r.rest.server_peak_rss for r in result.repeats if r.rest.server_peak_rss]
    return Row(
        workload=f"REST advance ({result.name}, {result.clients} clients)",
        size=f"{result.instruments:,} x {len(advance.STEPS)} = {tx:,} tx",
        doctrack=rest,
        floor=api,
        peak_bytes=max(peaks) if peaks else None,
        peak_kind="server RSS",
        target=1 / TARGET_SHARE if result.name == "sqlite" else None,
        notes=[
            f"REST/API {share(result):.0%}",
            f"p50 {_ms(p50)} ms, p95 {_ms(p95)} ms",
            f"GET /healthz {health_rate:,.0f} req/s",
        ],
        details={"setup_s": result.setup_s, "rest_cpu": "server + client threads"},
    )


# -- main ---------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = parser(
        "python -m bench.web",
        "POST /api/v1/instruments/SLUG/advance with concurrent clients against a real "
        "'doctrack serve', beside the Python API's rate in the same run.",
        repeats=DEFAULT_REPEATS,
        quick_repeats=QUICK_REPEATS,
        quick=f"{QUICK_INSTRUMENTS} instruments",
    )
    p.add_argument(
        "--backend",
        choices=("sqlite", "postgres", "both"),
        default="both",
        help="database(s) to run on (default both; PostgreSQL is skipped if unreachable)",
    )
    p.add_argument(
        "--clients",
        type=int,
        default=DEFAULT_CLIENTS,
        metavar="C",
        help=f"concurrent clients (threads), default {DEFAULT_CLIENTS}",
    )
    count_option(
        p,
        "instruments",
        default=DEFAULT_INSTRUMENTS,
        quick=QUICK_INSTRUMENTS,
        minimum=1,
        help=f"instruments advanced through {len(advance.STEPS)} transitions each",
    )
    p.add_argument(
        "--postgres-url",
        default=PG_ADMIN,
        metavar="URL",
        help=f"PostgreSQL server's admin database (default {PG_ADMIN}); the bench creates "
        f"and drops its own databases ({PG_PREFIX}_*) there",
    )
    args = resolve(p, p.parse_args(argv))
    args.health_requests = QUICK_HEALTH_REQUESTS if args.quick else HEALTH_REQUESTS
    if args.clients < 1:
        p.error("--clients must be at least 1")
    if args.instruments < args.clients:
        p.error("--instruments must be at least --clients (each client needs its own)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    return run_main("web", rows, parse_args(argv))


def rows(args: argparse.Namespace) -> list[Row]:
    backends: list[Backend] = []
    if args.backend in ("sqlite", "both"):
        backends.append(SqliteBackend())
    if args.backend in ("postgres", "both"):
        backends.append(PostgresBackend(args.postgres_url))
    secret_key = secrets.token_urlsafe(32)
    results: list[BackendResult] = []
    for backend in backends:
        reason = backend.unavailable()
        if reason is not None:
            print(f"bench.web: {backend.name} skipped: cannot reach {args.postgres_url}: {reason}")
            results.append(BackendResult(backend.name, 0, args.clients, 0.0, [], reason))
            continue
        with tempfile.TemporaryDirectory(prefix="doctrack-bench-web-") as tmp:
            results.append(run_backend(backend, Path(tmp), args, secret_key))
    report(results, args)
    errors = sum(len(r.errors) for r in results)
    if errors:
        raise BenchError(f"{errors} request(s) not answered 200 (see above)")
    return [suite_row(r) for r in results if not r.skipped]


if __name__ == "__main__":
    sys.exit(main())
