"""Shared by the benchmarks: the row each one returns, medians and spreads, the environment
header, the common options, the one table, and helpers several benchmarks need.

Every benchmark module ``bench.<name>`` has:

* ``parse_args(argv) -> argparse.Namespace``, built on :func:`parser` (``--quick``,
  ``--repeats R``, ``--json FILE``) and finished by :func:`resolve`;
* ``rows(args) -> list[Row]``: runs the benchmark, prints its own detailed output (setup,
  checks, what only that benchmark measures) and returns its rows; raises
  :class:`BenchError` when doctrack and the floor could not be made to do the same work;
* ``main(argv) -> int``: ``return run_main("<name>", rows, parse_args(argv))``: the
  environment header, the rows, the table of those rows, ``--json``.

``python -m bench`` (``bench/__main__.py``) calls ``rows`` of every module in
``bench.BENCHMARKS`` and ends with one table of all their rows.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import shutil
import signal
import socket
import sqlite3
import statistics
import sys
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import FrameType
from typing import Any


class BenchError(RuntimeError):
    """The benchmark could not make doctrack and the floor do the same work (or doctrack
    failed): the run's numbers mean nothing, and it exits with status 1."""


# -- statistics ---------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    """The median, NaN for no values."""
    return float(statistics.median(values)) if values else math.nan


def spread(values: Sequence[float]) -> tuple[float, float]:
    """(fastest, slowest); NaNs for no values."""
    return (float(min(values)), float(max(values))) if values else (math.nan, math.nan)


@dataclass(slots=True)
class Side:
    """One side of a row (doctrack, or its floor): the wall time of each repeat.

    A repeat does ``ops`` operations of one kind (``unit``: "tx", "msg"); ``ops`` = 1 and
    ``unit`` = "" when the repeat is itself the operation (one report, one process). Times in
    the table are per operation.
    """

    #: what this side is; for a floor, what the floor does ("raw sqlite3, same SQL")
    what: str
    #: wall time of each repeat, ns
    wall_ns: list[int]
    ops: int = 1
    unit: str = ""
    #: CPU time of each repeat, ns (the process's, or the child's), when known
    cpu_ns: list[int] | None = None

    @property
    def median_ns(self) -> float:
        """Median wall time per operation, ns."""
        return median(self.wall_ns) / self.ops

    @property
    def spread_ns(self) -> tuple[float, float]:
        """Fastest and slowest repeat, wall time per operation, ns."""
        lo, hi = spread(self.wall_ns)
        return lo / self.ops, hi / self.ops

    @property
    def cpu_median_ns(self) -> float | None:
        return median(self.cpu_ns) / self.ops if self.cpu_ns else None

    @property
    def rate(self) -> float:
        """Operations per second at the median."""
        return 1e9 / self.median_ns if self.median_ns else math.nan

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "median_ns_per_op": self.median_ns,
            "spread_ns_per_op": list(self.spread_ns),
            "cpu_median_ns_per_op": self.cpu_median_ns,
        }


@dataclass(slots=True)
class Row:
    """One line of the table: a workload at one size, doctrack beside its floor.

    A benchmark that times growth emits one row per (operation, size), the workload the
    operation and the size the size, with :func:`growth_note` (the ratio to the previous
    size) in ``notes``.
    """

    workload: str
    size: str
    doctrack: Side
    #: the least work the same job can take, measured in the same run; None: no floor
    floor: Side | None = None
    #: doctrack side's peak memory, bytes, and what kind: "heap" (tracemalloc's peak above
    #: the start, in an extra untimed run), "RSS" (a process's peak resident set), "RSS
    #: growth" (above the process's after a warm-up), "server RSS" (doctrack serve's)
    peak_bytes: int | None = None
    peak_kind: str = ""
    #: the ratio doctrack should stay at or under (issue 6); printed, never asserted
    target: float | None = None
    notes: list[str] = field(default_factory=list)
    #: the benchmark module that made the row (filled by ``run_rows``)
    benchmark: str = ""
    #: anything else worth keeping in --json (never printed in the table)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """doctrack median / floor median, per operation (wall time)."""
        if self.floor is None or not self.floor.median_ns:
            return None
        return self.doctrack.median_ns / self.floor.median_ns

    @property
    def cpu_ratio(self) -> float | None:
        """The same with CPU time: steadier when the machine is busy."""
        if self.floor is None:
            return None
        ours, theirs = self.doctrack.cpu_median_ns, self.floor.cpu_median_ns
        return ours / theirs if ours is not None and theirs else None

    def all_notes(self) -> list[str]:
        notes = []
        if self.cpu_ratio is not None:
            notes.append(f"CPU ratio {_ratio(self.cpu_ratio)}")
        if self.target is not None and self.ratio is not None:
            met = "met" if self.ratio <= self.target else "NOT met"
            notes.append(f"target ≤ {self.target:g}x: {met}")
        return notes + self.notes

    def cells(self) -> list[str]:
        d, f = self.doctrack, self.floor
        scale = _scale(max(d.median_ns, f.median_ns if f is not None else 0.0))
        per = f"/{d.unit}" if d.unit else ""
        ours = f"{_time(d.median_ns, scale)}{per}"
        d_lo, d_hi = d.spread_ns
        spread_cell = f"{_num(d_lo, scale)}-{_num(d_hi, scale)}"
        if f is None:
            theirs = "-"
        else:
            f_per = f"/{f.unit}" if f.unit else ""
            theirs = f"{_time(f.median_ns, scale)}{f_per} ({f.what})"
            f_lo, f_hi = f.spread_ns
            spread_cell += f"; {_num(f_lo, scale)}-{_num(f_hi, scale)}"
        peak = "-" if self.peak_bytes is None else f"{mib(self.peak_bytes)} {self.peak_kind}"
        return [
            self.workload,
            self.size,
            ours,
            theirs,
            "-" if self.ratio is None else _ratio(self.ratio),
            f"{spread_cell} {_SCALES[scale][1]}",
            peak.strip(),
            "; ".join(self.all_notes()),
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "workload": self.workload,
            "size": self.size,
            "doctrack": self.doctrack.to_json(),
            "floor": None if self.floor is None else self.floor.to_json(),
            "ratio": self.ratio,
            "cpu_ratio": self.cpu_ratio,
            "target": self.target,
            "peak_bytes": self.peak_bytes,
            "peak_kind": self.peak_kind,
            "notes": self.all_notes(),
            "details": self.details,
        }


def growth_note(row: Row, previous: Row | None) -> str | None:
    """``x1.04 vs 1,000``: doctrack's median against the same workload at the previous size."""
    if previous is None or not previous.doctrack.median_ns:
        return None
    return f"x{row.doctrack.median_ns / previous.doctrack.median_ns:.2f} vs {previous.size}"


# -- formatting ---------------------------------------------------------------------------------

#: (ns per unit, unit): the scale of one row's times.
_SCALES = ((1_000, "µs"), (1_000_000, "ms"))


def _scale(ns: float) -> int:
    """µs below 10 ms, else ms."""
    return 1 if ns >= 10_000_000 else 0


def _num(ns: float, scale: int) -> str:
    if math.isnan(ns):
        return "?"
    value = ns / _SCALES[scale][0]
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def _time(ns: float, scale: int) -> str:
    return f"{_num(ns, scale)} {_SCALES[scale][1]}"


def _ratio(value: float) -> str:
    return f"{value:.1f}x" if value >= 10 else f"{value:.2f}x"


def mib(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:.2f} MiB"


def render_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, left: Collection[int] = (0,)
) -> str:
    """A plain-text table; the columns in ``left`` (the first) left-aligned, the others
    right-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        out = [
            cell.ljust(widths[i]) if i in left else cell.rjust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


HEADERS = (
    "workload",
    "size",
    "doctrack median",
    "floor median (what)",
    "ratio",
    "spread doctrack; floor",
    "peak memory",
    "notes",
)


def table(rows: Sequence[Row]) -> str:
    """The table of ``rows``: workload and notes left-aligned, the numbers right-aligned."""
    if not rows:
        return "(no rows)"
    return render_table(HEADERS, [r.cells() for r in rows], left=(0, len(HEADERS) - 1))


LEGEND = (
    (
        "doctrack median, floor median: the median over the repeats of the wall time per "
        "operation (a transition, a message, a report, a process); the floor is the least "
        "work the same job can take, measured in the same run, the two taking turns"
    ),
    (
        "ratio = doctrack median / floor median (1x: no overhead at all); targets (issue 6) "
        "in the notes, never asserted; CPU ratio = the same with CPU time, steadier on a "
        "busy machine"
    ),
    (
        "spread: the fastest and the slowest repeat of each side, per operation; a wide "
        "spread means a busy machine: rerun, or trust the CPU ratio more"
    ),
    (
        "peak memory (doctrack's side): heap = tracemalloc's peak above the start in an "
        "extra untimed run (Python allocations only); RSS = the process's peak resident set; "
        "RSS growth = the report's peak resident set above the process's after a warm-up; "
        "server RSS = the doctrack serve process's peak"
    ),
)


def print_rows(rows: Sequence[Row]) -> None:
    print(table(rows))
    print()
    for line in LEGEND:
        print(line)


# -- the environment ----------------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def dist_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


LIBRARIES = (
    "SQLAlchemy",
    "sqlmodel",
    "transitions",
    "Jinja2",
    "fastapi",
    "uvicorn",
    "httpx",
    "psycopg",
    "aiosmtpd",
)


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def environment_lines() -> list[str]:
    """When and where: date, platform, CPU, load average, Python, SQLite, key libraries."""
    now = datetime.now().astimezone().isoformat(timespec="seconds")
    libraries = "; ".join(f"{name} {dist_version(name)}" for name in LIBRARIES)
    return [
        f"date: {now}",
        (
            f"platform: {platform.platform()}; CPU: {cpu_model()} x {os.cpu_count()} "
            f"({platform.machine()}); load average {load_average()}"
        ),
        (
            f"python: {platform.python_implementation()} {platform.python_version()}; "
            f"SQLite {sqlite3.sqlite_version}; {libraries}"
        ),
    ]


# -- options ------------------------------------------------------------------------------------


def parser(
    prog: str, description: str, *, repeats: int, quick_repeats: int = 1, quick: str = ""
) -> argparse.ArgumentParser:
    """A parser with the options every benchmark has: --quick, --repeats, --json."""
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"small sizes, {quick_repeats} repeat(s){': ' + quick if quick else ''} "
        "(the CI smoke run)",
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=None,
        metavar="R",
        help=f"timed runs of each side; the median is reported (default {repeats}, "
        f"--quick {quick_repeats})",
    )
    p.add_argument(
        "--json", type=Path, metavar="FILE", help="also write the rows (every timing) here"
    )
    p.set_defaults(_repeats=(repeats, quick_repeats))
    return p


def count_option(
    p: argparse.ArgumentParser,
    name: str,
    *,
    default: int,
    quick: int,
    minimum: int,
    help: str,
) -> None:
    """Add ``--NAME N``, a count whose default depends on ``--quick`` (``--instruments``,
    ``--reminders``); :func:`resolve` fills it in and checks it is at least ``minimum``."""
    p.add_argument(
        f"--{name}",
        type=int,
        default=None,
        metavar="N",
        help=f"{help} (default {default:,}, --quick {quick:,})",
    )
    counts = dict(p.get_default("_counts") or {})
    counts[name.replace("-", "_")] = (name, default, quick, minimum)
    p.set_defaults(_counts=counts)


def resolve(p: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
    """Fill in ``--repeats`` and the :func:`count_option` counts from ``--quick``, and check
    them."""
    full, quick = args._repeats
    if args.repeats is None:
        args.repeats = quick if args.quick else full
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    counts: dict[str, tuple[str, int, int, int]] = getattr(args, "_counts", None) or {}
    for dest, (name, default, quick_default, minimum) in counts.items():
        if getattr(args, dest) is None:
            setattr(args, dest, quick_default if args.quick else default)
        if getattr(args, dest) < minimum:
            p.error(f"--{name} must be at least {minimum}")
    return args


# -- running ------------------------------------------------------------------------------------


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # so that servers are stopped and databases dropped


@contextlib.contextmanager
def sigterm_exits() -> Iterator[None]:
    """SIGTERM raises SystemExit (in the main thread), so that ``finally`` blocks run."""
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


RowsFunction = Callable[[argparse.Namespace], list[Row]]


def run_rows(name: str, rows: RowsFunction, args: argparse.Namespace) -> list[Row]:
    """``rows(args)``, with SIGTERM turned into SystemExit; each row's ``benchmark`` set."""
    with sigterm_exits():
        made = rows(args)
    for row in made:
        row.benchmark = name
    return made


def write_json(path: Path, rows: Sequence[Row], **extra: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "environment": environment_lines(),
        **extra,
        "rows": [row.to_json() for row in rows],
    }
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def run_main(name: str, rows: RowsFunction, args: argparse.Namespace) -> int:
    """A benchmark run on its own: the environment, its output, its table, --json."""
    for line in environment_lines():
        print(line)
    print(flush=True)
    try:
        made = run_rows(name, rows, args)
    except BenchError as exc:
        print(f"bench.{name}: {exc}", file=sys.stderr)
        return 1
    print()
    print(f"load average at the end: {load_average()}")
    print_rows(made)
    if args.json is not None:
        write_json(args.json, made)
    return 0


# -- SQLite databases ---------------------------------------------------------------------------


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def checkpoint(path: Path) -> None:
    """Empty a closed SQLite database's write-ahead log into the file, so that it can be
    copied as one file."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def fresh_copy(template: Path, dest: Path) -> Path:
    """A copy of the (checkpointed, closed) template database."""
    wal = template.with_name(template.name + "-wal")
    if wal.exists() and wal.stat().st_size:
        raise BenchError(f"{template} still has a write-ahead log; cannot copy it safely")
    remove_sqlite(dest)
    shutil.copyfile(template, dest)
    return dest


# -- processes ----------------------------------------------------------------------------------


def compile_doctrack() -> str:
    """Compile doctrack's modules to bytecode (``__pycache__``, git-ignored) before processes
    are timed, and say so. An installed wheel ships compiled (pip compiles at install time);
    an editable checkout under ``PYTHONDONTWRITEBYTECODE=1`` (set on some machines) would
    otherwise compile every module from source in every process, which the floor
    (``import sqlmodel``, compiled by pip) never pays."""
    import compileall

    import doctrack

    package = Path(doctrack.__file__).resolve().parent
    if not compileall.compile_dir(str(package), quiet=1):
        raise BenchError(f"could not compile {package} to bytecode")
    unset = "PYTHONDONTWRITEBYTECODE" in os.environ
    why = " (PYTHONDONTWRITEBYTECODE is set here: nothing else would)" if unset else ""
    return f"bytecode: doctrack's modules compiled before timing, as a wheel ships them{why}"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def proc_status_kib(name: str, pid: int | str = "self") -> int | None:
    """A ``VmRSS``/``VmHWM`` line of /proc/PID/status, KiB (Linux), else None."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
            if line.startswith(f"{name}:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without ``DOCTRACK_*`` (a child gets its settings from its
    arguments), with doctrack's source folder first on ``PYTHONPATH``."""
    import doctrack

    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCTRACK_")}
    src = str(Path(doctrack.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


def pg_unavailable(admin_url: str) -> str | None:
    """Why the PostgreSQL server at ``admin_url`` cannot be used (its first error line), or
    None when it answers."""
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(admin_url, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server is a skip
        return str(exc).strip().splitlines()[0]
    return None


def pg_admin(admin_url: str, statement: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE) on ``admin_url``."""
    from sqlalchemy import create_engine

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def pg_database_url(admin_url: str, name: str) -> str:
    """``admin_url`` with database ``name``, the password kept."""
    from sqlalchemy.engine import make_url

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


#: ``python -c PEAK_WRAPPER FILE -m MODULE ARGS...`` (or ``-c CODE ARGS...``) runs the module
#: or the code, then writes its peak RSS (``VmHWM``, KiB) to FILE. The rusage ``wait4`` gives
#: for a child counts what the parent held at fork, so the child reads its own.
PEAK_WRAPPER = """\
import atexit, runpy, sys
def _peak(path=sys.argv[1]):
    try:
        with open("/proc/self/status") as f:
            kib = next((l.split()[1] for l in f if l.startswith("VmHWM:")), "0")
    except OSError:
        kib = "0"
    with open(path, "w") as out:
        out.write(kib)
atexit.register(_peak)
how, what = sys.argv[2], sys.argv[3]
sys.argv = [what, *sys.argv[4:]]
if how == "-c":
    exec(compile(what, "<string>", "exec"), {"__name__": "__main__"})
else:
    runpy.run_module(what, run_name="__main__", alter_sys=True)
"""


def with_peak(command: Sequence[str], peak_file: Path) -> list[str]:
    """``[python, -m|-c, what, args...]`` made to write its peak RSS (KiB) to ``peak_file``."""
    return [command[0], "-c", PEAK_WRAPPER, str(peak_file), *command[1:]]


def read_peak(peak_file: Path) -> int | None:
    """What :func:`with_peak` wrote, bytes."""
    try:
        kib = int(peak_file.read_text(encoding="ascii") or 0)
    except (OSError, ValueError):
        return None
    return kib * 1024 if kib else None
