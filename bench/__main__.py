"""Run every benchmark: ``python -m bench [--quick]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import import_module

from bench import BENCHMARKS


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=f"Run every doctrack benchmark ({', '.join(BENCHMARKS)}).",
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes and one repeat (CI smoke run)"
    )
    args = parser.parse_args(argv)
    passed = ["--quick"] if args.quick else []
    status = 0
    for index, name in enumerate(BENCHMARKS):
        if index:
            print()
        print(f"== bench.{name}")
        module = import_module(f"bench.{name}")
        status = max(status, int(module.main(passed)))
    return status


if __name__ == "__main__":
    sys.exit(main())
