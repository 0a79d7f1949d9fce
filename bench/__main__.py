"""Run every benchmark and print one table: ``python -m bench [--quick] [--only NAME,...]``."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
import traceback
from collections.abc import Sequence
from importlib import import_module
from pathlib import Path

from bench import BENCHMARKS
from bench._suite import (
    BenchError,
    Row,
    environment_lines,
    print_rows,
    run_rows,
    write_json,
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=f"Run the doctrack benchmarks ({', '.join(BENCHMARKS)}) and print one "
        "table of all their rows.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes and few repeats (the CI smoke run)"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        metavar="R",
        help="timed runs of each side in every benchmark (default: each benchmark's own)",
    )
    parser.add_argument(
        "--only",
        metavar="NAME,...",
        help=f"run only these benchmarks (of {', '.join(BENCHMARKS)})",
    )
    parser.add_argument(
        "--args",
        action="append",
        default=[],
        metavar="NAME=ARGS",
        help="more options for one benchmark, e.g. --args 'web=--backend sqlite' (repeatable)",
    )
    parser.add_argument(
        "--json", type=Path, metavar="FILE", help="also write every row (every timing) here"
    )
    args = parser.parse_args(argv)
    names = list(BENCHMARKS)
    if args.only:
        names = [name.strip() for name in args.only.split(",") if name.strip()]
        unknown = [name for name in names if name not in BENCHMARKS]
        if unknown or not names:
            parser.error(f"--only: unknown benchmark(s) {unknown}; known: {', '.join(BENCHMARKS)}")
    args.names = names
    args.extra = {}
    for item in args.args:
        name, sep, rest = item.partition("=")
        if not sep or name not in BENCHMARKS:
            parser.error(f"--args: expected NAME=ARGS with NAME one of {BENCHMARKS}: {item!r}")
        args.extra.setdefault(name, []).extend(shlex.split(rest))
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def run_one(name: str, argv: list[str]) -> tuple[list[Row], str | None]:
    """One benchmark's rows, or why it failed. A module without ``rows`` (not yet on the
    suite's interface) runs through its ``main`` and adds no row."""
    module = import_module(f"bench.{name}")
    if not hasattr(module, "rows"):
        status = int(module.main(argv))
        return [], None if status == 0 else f"exit status {status}"
    try:
        args = module.parse_args(argv)
    except SystemExit as exc:  # argparse has printed why
        return [], f"bad options {argv}: exit status {exc.code}"
    try:
        return run_rows(name, module.rows, args), None
    except BenchError as exc:
        print(f"bench.{name}: {exc}", file=sys.stderr)
        return [], str(exc)
    except Exception as exc:  # noqa: BLE001 - reported; the other benchmarks still run
        traceback.print_exc()
        return [], f"{type(exc).__name__}: {exc}"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    common = (["--quick"] if args.quick else []) + (
        ["--repeats", str(args.repeats)] if args.repeats is not None else []
    )
    print(f"doctrack benchmarks: {', '.join(args.names)}{' (--quick)' if args.quick else ''}")
    for line in environment_lines():
        print(line)
    rows: list[Row] = []
    failed: dict[str, str] = {}
    took: dict[str, float] = {}
    for name in args.names:
        argv_one = common + args.extra.get(name, [])
        print()
        print(f"== bench.{name} {' '.join(argv_one)}".rstrip(), flush=True)
        started = time.perf_counter()
        made, failure = run_one(name, argv_one)
        took[name] = time.perf_counter() - started
        rows += made
        if failure is not None:
            failed[name] = failure
        sys.stdout.flush()

    print()
    print("== all benchmarks")
    for line in environment_lines():
        print(line)
    print("took: " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in took.items()))
    print()
    print_rows(rows)
    if failed:
        print()
        for name, why in failed.items():
            print(f"FAILED: bench.{name}: {why.splitlines()[0] if why else '?'}")
    if args.json is not None:
        write_json(
            args.json,
            rows,
            quick=args.quick,
            benchmarks={name: failed.get(name, "ok") for name in args.names},
            seconds=took,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
