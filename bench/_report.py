"""Shared by the benchmarks: repeated timings, the machine line, a plain-text table."""

from __future__ import annotations

import os
import platform
import sqlite3
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


@dataclass(slots=True)
class Samples:
    """Wall times (ns) of repeated runs of ``ops`` operations each."""

    ops: int
    ns: list[int] = field(default_factory=list)

    def us_per_op(self, ns: float) -> float:
        return ns / self.ops / 1_000

    @property
    def median_ns(self) -> float:
        return float(statistics.median(self.ns))

    @property
    def median_us(self) -> float:
        return self.us_per_op(self.median_ns)

    @property
    def median_rate(self) -> float:
        """Operations per second at the median time."""
        return self.ops / (self.median_ns / 1e9)

    @property
    def spread_us(self) -> tuple[float, float]:
        return self.us_per_op(min(self.ns)), self.us_per_op(max(self.ns))


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _dist_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


class BenchError(RuntimeError):
    """The benchmark could not make doctrack and the floor do the same work."""


def machine_lines() -> list[str]:
    """When and where: date, platform, CPU, Python, SQLite and the key libraries."""
    now = datetime.now().astimezone().isoformat(timespec="seconds")
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "unknown"
    return [
        f"date: {now}",
        (
            f"platform: {platform.platform()}; CPU: {cpu_model()} x {os.cpu_count()} "
            f"({platform.machine()}); load average {load}"
        ),
        (
            f"python: {platform.python_implementation()} {platform.python_version()}; "
            f"SQLite {sqlite3.sqlite_version}; SQLAlchemy {_dist_version('SQLAlchemy')}; "
            f"transitions {_dist_version('transitions')}; sqlmodel {_dist_version('sqlmodel')}"
        ),
    ]


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table; the first column left-aligned, the others right-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        out = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def mib(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:.2f} MiB"
