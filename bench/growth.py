"""How the read paths grow with the database: 1k, 10k and 100k instruments, SQLite and PostgreSQL.

Each size is a fresh database made by ``bench.generate`` (``doctrack init``, then bulk INSERTs
of a history doctrack's use cases could have written: ~10 events per instrument, drafts,
positions, deadlines, reminders sent, cancelled and pending over seven summits). Then, at
that size, each operation runs as a whole ``python -m doctrack`` process, the way staff and
scripts run it, ``--now`` fixed at the generated world's present:

* ``doc list --json --limit 50`` filtered by summit and state: the first page, and a page
  half-way through the matches (``--offset``); unfiltered, a page half-way through all
  instruments; and one summit's whole list (which grows: streamed);
* ``doc show SLUG --json`` (an instrument of the fixed summit);
* ``deadlines --overdue --json --summit tashkent-2016``;
* ``reminders run`` with nothing due;
* ``report status --summit tashkent-2016 --format json``.

tashkent-2016 holds the same 100 instruments, with the same history, at every size: what
those operations return does not change, so their time should not either. The table gives,
per size, the median wall time of the process (and its spread over the repeats), the rows
it printed, its peak RSS, and the same command run in this process through the CLI code
(``doctrack.cli.root``, imports warm): that second time is the command's own work, without
the ~0.5 s of interpreter start-up and imports that every process pays, so it shows growth
that the process time would hide. Each ratio is to the previous size; the verdict compares
the command's own time with the size ratio: flat, linear or worse. The floors are measured
in the same run: ``python -c "import sqlmodel"`` (the interpreter and SQLAlchemy) and
``doctrack party list --json`` (a command that reads 6 rows). Timings are information, never
asserted: a slow run on a busy machine is not a failure.

``rows(args)`` (the suite's interface, ``python -m bench``) prints all that and returns one
row per (backend, command, size): the process beside ``python -c "import sqlmodel"`` timed at
the same size, with the ratio to the previous size, the command's own time and the verdict in
the notes; ``party list`` is the first of each backend's rows, the baseline.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import click

from bench._suite import (
    PEAK_WRAPPER,
    BenchError,
    Row,
    Side,
    compile_doctrack,
    growth_note,
    parser,
    pg_admin,
    pg_database_url,
    pg_unavailable,
    render_table,
    resolve,
    run_main,
)
from bench.generate import FIXED_SUMMIT, LIST_STATE, LIST_SUMMIT, NOW, Generated, generate

DEFAULT_SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000,)
DEFAULT_REPEATS = 5
QUICK_REPEATS = 1
#: In-process runs per operation (cheaper than processes, and steadier).
DEFAULT_INNER = 7
QUICK_INNER = 1
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
#: Growth exponent (log time ratio / log size ratio) below which an operation is flat, and
#: above which it grows worse than linearly.
FLAT_BELOW = 0.3
WORSE_ABOVE = 1.2
#: Differences of the command's own time below this are noise, whatever the ratio.
NOISE_MS = 3.0


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    #: "flat": returns as much at every size; "linear": returns, or skips, more as N grows
    expect: str
    why: str = ""
    #: the same output at every size (the fixed summit's data)
    same_output: bool = False


@dataclass(slots=True)
class Measure:
    operation: str
    size: int
    rows: int
    process_ms: list[float] = field(default_factory=list)
    #: the CPU time (user + system) of each process
    process_cpu_ms: list[float] = field(default_factory=list)
    inner_ms: list[float] = field(default_factory=list)
    peak_rss_kib: int = 0
    digest: str = ""
    #: rows skipped by --offset
    skipped: int = 0

    @property
    def process_median(self) -> float:
        return float(statistics.median(self.process_ms))

    @property
    def inner_median(self) -> float:
        return float(statistics.median(self.inner_ms)) if self.inner_ms else math.nan


#: The floors, timed beside the operations at every size: the first is each row's floor in
#: the suite's table; the second (a doctrack command that reads 6 rows) gets a row of its own.
FLOORS = ("floor: python -c 'import sqlmodel'", "floor: doctrack party list --json")
FLOOR_WHAT = "python -c 'import sqlmodel'"
#: The workload of the second floor's row in the suite's table.
BASELINE = "party list --json (6 rows; baseline)"

_LIST = ["doc", "list", "--json", "--summit", LIST_SUMMIT, "--state", LIST_STATE, "--limit", "50"]

#: The commands timed at every size (arguments after ``doctrack --config --db --now``);
#: ``{show_slug}``, ``{half_matches}`` and ``{half_all}`` are filled in from the world.
OPERATIONS: tuple[tuple[Operation, tuple[str, ...]], ...] = (
    (
        Operation(f"doc list --summit {LIST_SUMMIT} --state {LIST_STATE} --limit 50", "flat"),
        (*_LIST,),
    ),
    (
        Operation(
            f"doc list --summit {LIST_SUMMIT} --state {LIST_STATE} --limit 50 --offset M/2",
            "linear",
            "OFFSET skips index entries",
        ),
        (*_LIST, "--offset", "{half_matches}"),
    ),
    (
        Operation("doc list --limit 50 --offset N/2", "linear", "OFFSET skips index entries"),
        ("doc", "list", "--json", "--limit", "50", "--offset", "{half_all}"),
    ),
    (
        Operation(
            "doc list --limit 50 --after m (keyset)",
            "flat",
            "skips the slugs before 'm' by an index seek",
        ),
        ("doc", "list", "--json", "--limit", "50", "--after", "m"),
    ),
    (
        Operation(f"doc list --summit {LIST_SUMMIT} (all, streamed)", "linear", "returns more"),
        ("doc", "list", "--json", "--summit", LIST_SUMMIT),
    ),
    (
        Operation("doc show SLUG", "flat", same_output=True),
        ("doc", "show", "{show_slug}", "--json"),
    ),
    (
        Operation(f"deadlines --overdue --summit {FIXED_SUMMIT}", "flat", same_output=True),
        ("deadlines", "--overdue", "--json", "--summit", FIXED_SUMMIT),
    ),
    (
        Operation("reminders run (nothing due)", "flat", same_output=True),
        ("reminders", "run"),
    ),
    (
        Operation(f"report status --summit {FIXED_SUMMIT} --format json", "flat", same_output=True),
        ("report", "status", "--summit", FIXED_SUMMIT, "--format", "json"),
    ),
)


def operations(info: Generated) -> list[tuple[Operation, list[str]]]:
    """The commands timed at one size, their arguments filled in from ``info``."""
    values = {
        "show_slug": info.show_slug,
        "half_matches": str(max(0, info.list_matches // 2)),
        "half_all": str(info.instruments // 2),
    }
    return [(op, [arg.format(**values) for arg in args]) for op, args in OPERATIONS]


def workloads(backend: str) -> list[str]:
    """The workloads of one backend's rows in the suite's table, in order."""
    return [workload(backend, name) for name in (BASELINE, *(op.name for op, _ in OPERATIONS))]


def workload(backend: str, name: str) -> str:
    return f"growth {backend}: {name}"


# -- databases ----------------------------------------------------------------------------------


class Backend:
    name = ""

    @contextlib.contextmanager
    def database(self, size: int) -> Iterator[str]:
        raise NotImplementedError
        yield ""  # pragma: no cover


class SqliteBackend(Backend):
    name = "sqlite"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @contextlib.contextmanager
    def database(self, size: int) -> Iterator[str]:
        path = self.folder / f"growth-{size}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)


class PostgresBackend(Backend):
    name = "postgres"

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    def unavailable(self) -> str | None:
        """Why PostgreSQL cannot be used, or None."""
        return pg_unavailable(self.admin_url)

    def _admin(self, statement: str) -> None:
        pg_admin(self.admin_url, statement)

    @contextlib.contextmanager
    def database(self, size: int) -> Iterator[str]:
        name = f"doctrack_growth_{os.getpid()}_{size}"
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{name}"')
        try:
            yield pg_database_url(self.admin_url, name)
        finally:
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- running commands ---------------------------------------------------------------------------


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("DOCTRACK_")}


@dataclass(slots=True)
class Runner:
    """Runs ``doctrack`` on one database, as a process or in this process."""

    url: str
    config: Path
    out: Path
    env: dict[str, str] = field(default_factory=_clean_env)

    def argv(self, args: Sequence[str]) -> list[str]:
        return ["--config", str(self.config), "--db", self.url, "--now", NOW.isoformat(), *args]

    def process(self, command: Sequence[str]) -> tuple[float, float]:
        """Wall time and CPU time (user + system), ms, of one process; its stdout goes to
        ``out``."""
        errors = self.out.with_name(self.out.name + ".err")
        with self.out.open("wb") as sink, errors.open("wb") as err:
            started = time.perf_counter()
            child = subprocess.Popen(
                command, stdout=sink, stderr=err, env=self.env, cwd=self.config.parent
            )
            # os.wait4, not Popen.wait: it also gives the child's resource usage.
            _, status, usage = os.wait4(child.pid, 0)
            elapsed = (time.perf_counter() - started) * 1000
            child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            stderr = errors.read_text(encoding="utf-8", errors="replace").strip()
            raise BenchError(f"{' '.join(command[-6:])} exited {child.returncode}: {stderr}")
        return elapsed, (usage.ru_utime + usage.ru_stime) * 1000

    def peak_rss(self, command: Sequence[str]) -> tuple[int, float, float]:
        """Runs ``[python, -m|-c, what, args...]`` once: its peak RSS in KiB, and its wall
        and CPU time (ms)."""
        peak = self.out.with_name("peak.txt")
        peak.unlink(missing_ok=True)
        ms, cpu_ms = self.process([command[0], "-c", PEAK_WRAPPER, str(peak), *command[1:]])
        try:
            return int(peak.read_text(encoding="ascii") or 0), ms, cpu_ms
        except (OSError, ValueError):
            return 0, ms, cpu_ms

    def in_process(self, args: Sequence[str]) -> float:
        """Wall time (ms) of the same command through ``doctrack.cli.root`` in this process."""
        from doctrack.cli import root

        saved = {k: v for k, v in os.environ.items() if k.startswith("DOCTRACK_")}
        for key in saved:
            del os.environ[key]
        try:
            with (
                self.out.open("w", encoding="utf-8") as sink,
                contextlib.redirect_stdout(sink),
            ):
                started = time.perf_counter()
                try:
                    root.main(args=self.argv(args), prog_name="doctrack", standalone_mode=False)
                except click.ClickException as exc:
                    raise BenchError(f"doctrack {' '.join(args)}: {exc.format_message()}") from None
                sink.flush()
                return (time.perf_counter() - started) * 1000
        finally:
            os.environ.update(saved)

    def output(self) -> tuple[int, str]:
        """Rows in the last output (JSON list items, report instruments, text lines) and a
        digest of it."""
        raw = self.out.read_bytes()
        digest = hashlib.sha256(raw).hexdigest()[:16]
        try:
            data = json.loads(raw)
        except ValueError:
            return len([line for line in raw.decode().splitlines() if line.strip()]), digest
        if isinstance(data, list):
            return len(data), digest
        if isinstance(data, dict) and "summits" in data:
            return sum(len(s.get("instruments", [])) for s in data["summits"]), digest
        return 1, digest


def write_config(folder: Path) -> Path:
    """Settings for every run: the packaged workflows and templates, an outbox in ``folder``."""
    from doctrack.engine.registry import workflows_folder
    from doctrack.services.emails import templates_folder

    config = folder / "doctrack.toml"
    config.write_text(
        f"workflows = {json.dumps(str(Path(workflows_folder(None)).resolve()))}\n"
        f"templates = {json.dumps(str(Path(templates_folder(None)).resolve()))}\n"
        f"outbox = {json.dumps(str(folder / 'outbox'))}\n",
        encoding="utf-8",
    )
    return config


def measure(
    runners: dict[int, Runner],
    infos: dict[int, Generated],
    repeats: int,
    inner: int,
    *,
    warm_up: bool = True,
) -> dict[int, list[tuple[Operation, Measure]]]:
    """Every command at every size. The sizes take turns (round robin, command by command),
    so that a change in the machine's background load falls on all of them alike. The first
    run of each (it gives the rows, the digest and the peak RSS) is an untimed warm-up, or
    with ``warm_up=False`` (``--quick``) the first timed run."""
    sizes = sorted(runners)
    plans: dict[int, list[tuple[Operation, list[str], list[str] | None]]] = {}
    measures: dict[tuple[int, str], Measure] = {}
    for size in sizes:
        runner, doctrack = runners[size], [sys.executable, "-m", "doctrack"]
        plans[size] = [
            (Operation(FLOORS[0], "floor"), [sys.executable, "-c", "import sqlmodel"], None),
            (
                Operation(FLOORS[1], "floor"),
                [*doctrack, *runner.argv(["party", "list", "--json"])],
                ["party", "list", "--json"],
            ),
            *((op, [*doctrack, *runner.argv(a)], a) for op, a in operations(infos[size])),
        ]
        # The first run of each: rows and digest of its output, and its peak memory.
        for op, command, _ in plans[size]:
            kib, ms, cpu_ms = runner.peak_rss(command)
            rows, digest = runner.output()
            skip = int(command[command.index("--offset") + 1]) if "--offset" in command else 0
            measures[size, op.name] = m = Measure(
                op.name, size, rows, digest=digest, peak_rss_kib=kib, skipped=skip
            )
            if not warm_up:
                m.process_ms.append(ms)
                m.process_cpu_ms.append(cpu_ms)
    # Whole processes.
    for _ in range(repeats if warm_up else repeats - 1):
        for size in sizes:
            for op, command, _ in plans[size]:
                ms, cpu_ms = runners[size].process(command)
                measures[size, op.name].process_ms.append(ms)
                measures[size, op.name].process_cpu_ms.append(cpu_ms)
    # The same commands in this process: one untimed run each first (imports), then timed.
    gc.collect()
    for size in sizes:
        for _op, _, args in plans[size]:
            if args is not None:
                runners[size].in_process(args)
    for _ in range(inner):
        for size in sizes:
            for op, _, args in plans[size]:
                if args is not None:
                    measures[size, op.name].inner_ms.append(runners[size].in_process(args))
    return {size: [(op, measures[size, op.name]) for op, _, _ in plans[size]] for size in sizes}


# -- verdicts and the table ---------------------------------------------------------------------


def verdict(before: Measure, after: Measure) -> str:
    """flat, linear or worse: how the command's own time grew against the size."""
    size_ratio = after.size / before.size
    if not after.inner_ms or not before.inner_ms:
        t0, t1 = before.process_median, after.process_median
    else:
        t0, t1 = before.inner_median, after.inner_median
    if t1 - t0 < NOISE_MS or t1 <= t0:
        return "flat"
    exponent = math.log(t1 / t0) / math.log(size_ratio)
    if exponent < FLAT_BELOW:
        return "flat"
    return "linear" if exponent <= WORSE_ABOVE else "worse"


def _ms(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def report(backend: str, results: dict[int, list[tuple[Operation, Measure]]]) -> list[str]:
    """Prints the table of one backend; returns the notes on what did not grow as expected."""
    sizes = sorted(results)
    headers = [
        f"{backend}: operation",
        "instruments",
        "rows",
        "process ms (min-max)",
        "x prev",
        "own ms",
        "x prev",
        "peak RSS",
        "growth",
        "expected",
    ]
    rows: list[list[str]] = []
    surprises: list[str] = []
    grew: dict[str, list[str]] = {}
    names = [op.name for op, _ in results[sizes[0]]]
    for name in names:
        previous: Measure | None = None
        for size in sizes:
            op, m = next((o, m) for o, m in results[size] if o.name == name)
            lo, hi = min(m.process_ms), max(m.process_ms)
            p_ratio = i_ratio = grown = "-"
            if previous is not None:
                p_ratio = f"{m.process_median / previous.process_median:.2f}"
                if m.inner_ms and previous.inner_ms:
                    i_ratio = f"{m.inner_median / previous.inner_median:.2f}"
                if op.expect != "floor":
                    grown = verdict(previous, m)
                    if grown != "flat":
                        grew.setdefault(name, []).append(f"{grown} to {size:,}")
                    if surprising(op, grown):
                        surprises.append(f"{backend}: {name.strip()} grew {grown} to {size:,}")
            expected = op.expect + (f" ({op.why})" if op.why else "")
            rows.append(
                [
                    name if previous is None else "",
                    f"{size:,}",
                    f"{m.rows:,}" + (f" after {m.skipped:,}" if m.skipped else ""),
                    f"{_ms(m.process_median)} ({_ms(lo)}-{_ms(hi)})",
                    p_ratio,
                    _ms(m.inner_median),
                    i_ratio,
                    f"{m.peak_rss_kib / 1024:.0f} MiB",
                    grown,
                    expected if previous is None else "",
                ]
            )
            previous = m
    print(render_table(headers, rows))
    for op, _ in results[sizes[0]]:
        if op.same_output and len(sizes) > 1:
            digests = {m.digest for size in sizes for o, m in results[size] if o.name == op.name}
            same = "the same bytes" if len(digests) == 1 else "DIFFERENT outputs"
            print(f"  {op.name}: {same} at every size")
    for op, _ in results[sizes[0]]:
        if op.name in grew:
            why = f" (expected: {op.why})" if op.why else ""
            print(f"  grew: {op.name.strip()}: {', '.join(grew[op.name])}{why}")
    return surprises


# -- the suite's rows ---------------------------------------------------------------------------


def _side(what: str, m: Measure) -> Side:
    return Side(
        what,
        [round(ms * 1e6) for ms in m.process_ms],
        cpu_ns=[round(ms * 1e6) for ms in m.process_cpu_ms] or None,
    )


def surprising(op: Operation, grown: str) -> bool:
    """Whether a verdict is not what the operation should do."""
    return (grown != "flat" and op.expect == "flat") or grown == "worse"


def suite_rows(backend: str, results: dict[int, list[tuple[Operation, Measure]]]) -> list[Row]:
    """One row per operation and size (the sizes in order), the baseline command's first:
    the process beside ``python -c 'import sqlmodel'`` timed at the same size, the growth
    from the previous size, the command's own time and the verdict in the notes."""
    sizes = sorted(results)
    by_name = {size: {op.name: (op, m) for op, m in results[size]} for size in sizes}
    names = [FLOORS[1], *(op.name for op, _ in OPERATIONS)]
    made: list[Row] = []
    for name in names:
        previous: Row | None = None
        before: Measure | None = None
        for size in sizes:
            op, m = by_name[size][name]
            _, floor = by_name[size][FLOORS[0]]
            row = Row(
                workload=workload(backend, BASELINE if name == FLOORS[1] else name),
                size=f"{size:,} instruments",
                doctrack=_side("doctrack", m),
                floor=_side(FLOOR_WHAT, floor),
                peak_bytes=m.peak_rss_kib * 1024 or None,
                peak_kind="RSS",
                details={
                    "backend": backend,
                    "instruments": size,
                    "rows": m.rows,
                    "skipped": m.skipped,
                    "digest": m.digest,
                    "own_ms": m.inner_ms,
                    "expect": op.expect,
                },
            )
            note = growth_note(row, previous)
            if note is not None:
                row.notes.append(note)
            own = f"own {_ms(m.inner_median)} ms"
            expect = "flat" if op.expect == "floor" else op.expect
            if before is not None and m.inner_ms and before.inner_ms:
                grown = verdict(before, m)
                own += f" x{m.inner_median / before.inner_median:.2f}: {grown}"
                if surprising(op, grown):
                    own += f" (expected {expect}: NOT as expected)"
                elif grown != expect:
                    own += f" (expected {expect})"
                row.details["verdict"] = grown
            else:
                own += f" (expected {expect})"
            row.notes.append(own)
            returned = f"{m.rows:,} row{'' if m.rows == 1 else 's'}" + (
                f" after {m.skipped:,}" if m.skipped else ""
            )
            row.notes.append(returned)
            made.append(row)
            previous, before = row, m
    return made


# -- main ---------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = parser(
        "python -m bench.growth",
        "How doc list/show, deadlines, reminders run and the status report grow with the "
        "database (generated at each size), on SQLite and PostgreSQL.",
        repeats=DEFAULT_REPEATS,
        quick_repeats=QUICK_REPEATS,
        quick=f"{QUICK_SIZES[0]:,} instruments only (no ratios), {QUICK_INNER} in-process run",
    )
    p.add_argument(
        "--sizes",
        default=None,
        metavar="N,N,...",
        help=f"instrument counts (default {','.join(map(str, DEFAULT_SIZES))}, "
        f"--quick {','.join(map(str, QUICK_SIZES))})",
    )
    p.add_argument(
        "--backend", choices=["sqlite", "postgres", "both"], default="both", help="(default both)"
    )
    p.add_argument(
        "--postgres",
        "--postgres-url",
        dest="postgres",
        default=PG_ADMIN,
        metavar="URL",
        help=f"PostgreSQL server (a database on it is created and dropped; default {PG_ADMIN}; "
        "skipped if it does not answer)",
    )
    args = resolve(p, p.parse_args(argv))
    if args.sizes is None:
        args.sizes = list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    else:
        try:
            args.sizes = sorted({int(n) for n in str(args.sizes).split(",") if n.strip()})
        except ValueError:
            p.error(f"--sizes: not a list of numbers: {args.sizes!r}")
    if not args.sizes or min(args.sizes) < 200:
        p.error("--sizes: at least 200 instruments each")
    args.inner = QUICK_INNER if args.quick else DEFAULT_INNER
    return args


def main(argv: Sequence[str] | None = None) -> int:
    return run_main("growth", rows, parse_args(argv))


def rows(args: argparse.Namespace) -> list[Row]:
    """Generate a world at every size on every backend, time the commands, print the
    detailed tables and verdicts, and return the suite's rows."""
    print(
        f"sizes {', '.join(f'{s:,}' for s in args.sizes)}; {args.repeats} process(es) and "
        f"{args.inner} in-process run(s) per command and size; --now {NOW.isoformat()}"
    )
    if args.quick:
        print("--quick: no untimed warm-up; the first timed run gives the rows and peak RSS")
    print(compile_doctrack())
    made: list[Row] = []
    surprises: list[str] = []
    with tempfile.TemporaryDirectory(prefix="doctrack-growth-") as tmp:
        folder = Path(tmp)
        config = write_config(folder)
        backends: list[Backend] = []
        if args.backend in ("sqlite", "both"):
            backends.append(SqliteBackend(folder))
        if args.backend in ("postgres", "both"):
            pg = PostgresBackend(args.postgres)
            reason = pg.unavailable()
            if reason is None:
                backends.append(pg)
            else:
                print(f"PostgreSQL skipped: {args.postgres} does not answer: {reason}")
        for backend in backends:
            print()
            generated: dict[int, dict[str, Any]] = {}
            with contextlib.ExitStack() as databases:
                runners: dict[int, Runner] = {}
                infos: dict[int, Generated] = {}
                for size in args.sizes:
                    url = databases.enter_context(backend.database(size))
                    infos[size] = info = generate(url, size)
                    print(f"{backend.name} {size:,}: {info.describe()}", flush=True)
                    generated[size] = {
                        k: v for k, v in asdict(info).items() if k not in {"url", "script"}
                    }
                    runners[size] = Runner(url, config, folder / "out.txt")
                results = measure(runners, infos, args.repeats, args.inner, warm_up=not args.quick)
            print()
            surprises += report(backend.name, results)
            backend_rows = suite_rows(backend.name, results)
            for row in backend_rows:
                row.details["generated"] = generated[row.details["instruments"]]
            made += backend_rows
    print()
    print(
        f"process ms: median wall time of `python -m doctrack ...` over {args.repeats} run(s) "
        "(min-max); own ms: the median of the same command run through doctrack.cli.root in "
        "this process (no interpreter start, imports warm: the command's own work, with its "
        "engine and connection); x prev: ratio to the previous size; peak RSS: of the "
        "process; growth: own time against the size ratio (flat: exponent below "
        f"{FLAT_BELOW}, or under {NOISE_MS:g} ms more; linear: up to {WORSE_ABOVE}; worse: "
        "above); rows: what the command printed (list items, report instruments)"
    )
    if surprises:
        print("not as expected:")
        for line in surprises:
            print(f"  {line}")
    elif len(args.sizes) > 1:
        print(
            "as expected: every operation that returns a constant amount stayed flat; only "
            "the far --offset pages (and the list whose output grows) may grow"
        )
    print(
        "a far --offset is linear in the offset by nature (the database walks the index "
        "entries it skips, even when it reads no row); keyset paging (doc list --after "
        "LAST_SLUG, the API's next) seeks instead, and every page costs the same"
    )
    return made


if __name__ == "__main__":
    sys.exit(main())
