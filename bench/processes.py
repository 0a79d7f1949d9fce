"""``doc list --json`` and ``doc show SLUG --json`` as whole processes, beside the start-up floor.

doctrack: ``python -m doctrack --db URL --now T doc list --json`` (every instrument) and
``python -m doctrack --db URL --now T doc show SLUG --json`` (one instrument, its positions
and events), each a fresh process as staff and scripts run them: the interpreter starts,
imports doctrack, reads the settings, opens the database (schema check included), runs the
command and writes JSON to stdout (a file).

floor: ``python -c "import sqlmodel"`` in the same environment: the interpreter's start-up
and the ORM doctrack is built on (SQLModel, SQLAlchemy, pydantic), which any command of a
SQLModel application pays before it does anything. Issue 6's start-up target: ``doc show``
at most 1.3x this floor.

The database is ``bench.advance``'s world (6 parties, staff, the Tashkent 2016 summit, N
``convention`` instruments with a revision and 6 approvals each), made once through the
public API on SQLite and not timed. Each repeat runs the floor and both commands, the order
rotated every repeat, so that all three see the same background load; one untimed run of each
comes first (the page cache, ``.pyc`` files), and the output of every run must be the same as
that first one's (every instrument listed; the right instrument shown). Peak RSS (``VmHWM``)
comes from one more, untimed run of each.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import advance
from bench._suite import (
    BenchError,
    Row,
    Side,
    child_env,
    compile_doctrack,
    count_option,
    mib,
    parser,
    read_peak,
    resolve,
    run_main,
    sqlite_url,
    with_peak,
)

DEFAULT_INSTRUMENTS = advance.DEFAULT_INSTRUMENTS
QUICK_INSTRUMENTS = advance.QUICK_INSTRUMENTS
DEFAULT_REPEATS = 10
QUICK_REPEATS = 3
#: ``doc show`` / the floor: issue 6's start-up target.
TARGET_SHOW = 1.3
FLOOR_CODE = "import sqlmodel"


@dataclass(slots=True)
class Command:
    """One command line, its timings and what it printed."""

    name: str
    argv: list[str]
    #: None if the output is right, else what is wrong with it
    check: Callable[[bytes], str | None]
    wall_ns: list[int] = field(default_factory=list)
    cpu_ns: list[int] = field(default_factory=list)
    peak_bytes: int | None = None
    digest: str = ""
    out_bytes: int = 0


def run_once(command: Command, out: Path, cwd: Path, env: dict[str, str]) -> tuple[int, int]:
    """Run ``command`` once, stdout to ``out``; its wall time and CPU time (user + system of
    the child), ns."""
    errors = out.with_name(out.name + ".err")
    with out.open("wb") as sink, errors.open("wb") as err:
        started = time.perf_counter_ns()
        child = subprocess.Popen(command.argv, stdout=sink, stderr=err, env=env, cwd=cwd)
        # os.wait4, not Popen.wait: it also gives the child's resource usage.
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter_ns() - started
        child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        stderr = errors.read_text(encoding="utf-8", errors="replace").strip()
        raise BenchError(f"{command.name} exited with {child.returncode}: {stderr[-2000:]}")
    return wall, int((usage.ru_utime + usage.ru_stime) * 1e9)


def _digest(path: Path) -> tuple[str, int]:
    raw = path.read_bytes()
    return hashlib.sha256(raw).hexdigest(), len(raw)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise BenchError(f"not JSON: {exc}: {raw[:200]!r}") from None


def commands(url: str, slugs: Sequence[str], show: str) -> list[Command]:
    doctrack = [sys.executable, "-m", "doctrack", "--db", url, "--now", advance.NOW.isoformat()]

    def listed(raw: bytes) -> str | None:
        data = _json(raw)
        got = [item.get("slug") for item in data] if isinstance(data, list) else None
        if got != list(slugs):
            return f"expected {len(slugs)} instruments in slug order, got {str(got)[:200]}"
        return None

    def shown(raw: bytes) -> str | None:
        data = _json(raw)
        if not isinstance(data, dict) or data.get("slug") != show:
            return f"expected instrument {show}, got {str(data)[:200]}"
        if len(data.get("positions") or {}) != len(advance.PARTIES):
            return f"expected {len(advance.PARTIES)} positions, got {data.get('positions')}"
        return None

    def nothing(raw: bytes) -> str | None:
        return None if not raw else f"expected no output, got {raw[:200]!r}"

    return [
        Command(f'python -c "{FLOOR_CODE}"', [sys.executable, "-c", FLOOR_CODE], nothing),
        Command("doc list --json", [*doctrack, "doc", "list", "--json"], listed),
        Command("doc show SLUG --json", [*doctrack, "doc", "show", show, "--json"], shown),
    ]


def measure(
    planned: list[Command], folder: Path, repeats: int, *, memory: bool = True
) -> list[Command]:
    cwd, env = Path.cwd(), child_env()
    out = folder / "out.txt"
    for command in planned:  # untimed: warm caches, and the output every run must give
        run_once(command, out, cwd, env)
        problem = command.check(out.read_bytes())
        if problem is not None:
            raise BenchError(f"{command.name}: {problem}")
        command.digest, command.out_bytes = _digest(out)
    for repeat in range(repeats):
        k = repeat % len(planned)
        for command in planned[k:] + planned[:k]:
            wall, cpu = run_once(command, out, cwd, env)
            if _digest(out)[0] != command.digest:
                raise BenchError(f"{command.name}: a different output from the first run's")
            command.wall_ns.append(wall)
            command.cpu_ns.append(cpu)
    if memory:
        peak_file = folder / "peak.txt"
        for command in planned:
            peak_file.unlink(missing_ok=True)
            peaked = Command(command.name, with_peak(command.argv, peak_file), command.check)
            run_once(peaked, out, cwd, env)
            command.peak_bytes = read_peak(peak_file)
    return planned


# -- main ---------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = parser(
        "python -m bench.processes",
        "doc list --json and doc show --json as whole processes, beside python -c "
        f"'{FLOOR_CODE}' in the same run.",
        repeats=DEFAULT_REPEATS,
        quick_repeats=QUICK_REPEATS,
        quick=f"{QUICK_INSTRUMENTS} instruments",
    )
    count_option(
        p,
        "instruments",
        default=DEFAULT_INSTRUMENTS,
        quick=QUICK_INSTRUMENTS,
        minimum=1,
        help="instruments in the database",
    )
    p.add_argument(
        "--no-memory", action="store_true", help="skip the extra untimed runs for peak RSS"
    )
    return resolve(p, p.parse_args(argv))


def main(argv: Sequence[str] | None = None) -> int:
    return run_main("processes", rows, parse_args(argv))


def rows(args: argparse.Namespace) -> list[Row]:
    slugs = advance.slugs_for(args.instruments)
    show = slugs[len(slugs) // 2]
    with tempfile.TemporaryDirectory(prefix="doctrack-bench-") as tmp:
        folder = Path(tmp)
        db = folder / "world.db"
        started = time.perf_counter()
        advance.build_sqlite(db, slugs)
        setup_s = time.perf_counter() - started
        print(compile_doctrack())
        floor, listing, showing = measure(
            commands(sqlite_url(db), slugs, show), folder, args.repeats, memory=not args.no_memory
        )

    print(
        f"setup (untimed, public API): bench.advance's world, {len(slugs):,} "
        f"{advance.WORKFLOW} instruments with a revision and {len(advance.PARTIES)} approvals "
        f"each, SQLite, {setup_s:.1f} s"
    )
    print(
        f"{args.repeats} repeat(s) of each process, the order rotated every repeat, after an "
        f"untimed run of each; outputs: doc list {listing.out_bytes:,} bytes "
        f"({len(slugs):,} instruments), doc show {show} {showing.out_bytes:,} bytes; every "
        "run printed the same bytes as the first"
    )
    print(f"commands (working directory {Path.cwd()}, no DOCTRACK_* variables):")
    for command in (floor, listing, showing):
        print(f"  {' '.join(command.argv[1:])}")

    def side(command: Command, what: str) -> Side:
        return Side(what, command.wall_ns, cpu_ns=command.cpu_ns)

    floor_side = side(floor, f"python -c '{FLOOR_CODE}'")
    floor_peak = [] if floor.peak_bytes is None else [f"floor RSS {mib(floor.peak_bytes)}"]
    made = [
        Row(
            workload="doc list --json (process)",
            size=f"{len(slugs):,} instruments listed",
            doctrack=side(listing, "doctrack"),
            floor=floor_side,
            peak_bytes=listing.peak_bytes,
            peak_kind="RSS",
            notes=floor_peak,
            details={"argv": listing.argv, "out_bytes": listing.out_bytes},
        ),
        Row(
            workload="doc show --json (process)",
            size=f"1 of {len(slugs):,} instruments",
            doctrack=side(showing, "doctrack"),
            floor=floor_side,
            peak_bytes=showing.peak_bytes,
            peak_kind="RSS",
            target=TARGET_SHOW,
            notes=floor_peak,
            details={"argv": showing.argv, "out_bytes": showing.out_bytes},
        ),
    ]
    ratio = made[1].ratio
    if ratio is not None:
        print(
            f"doc show --json / python -c '{FLOOR_CODE}' = {ratio:.2f}x (issue 6's start-up "
            f"target: at most {TARGET_SHOW:g}x: {'met' if ratio <= TARGET_SHOW else 'NOT met'}); "
            f"the same with CPU time {made[1].cpu_ratio or float('nan'):.2f}x"
        )
    return made


if __name__ == "__main__":
    sys.exit(main())
