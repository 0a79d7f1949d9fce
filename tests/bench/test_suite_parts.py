"""The benchmarks' shared options (bench._suite.count_option) and bench.growth's rows for the
suite's table, on made-up measures: no process runs, no timing is asserted.

No ``__init__.py`` in this folder: see test_generate.py.
"""

from __future__ import annotations

import sys

import pytest

from helpers import ROOT

if str(ROOT) not in sys.path:  # the benchmarks live beside the package, in the checkout
    sys.path.insert(0, str(ROOT))

from bench import _suite, growth
from bench import advance as advance_bench
from bench import mail as mail_bench
from bench import report as report_bench


def test_count_options_default_by_quick_and_check_their_minimum(
    capsys: pytest.CaptureFixture[str],
) -> None:
    p = _suite.parser("prog", "test", repeats=5)
    _suite.count_option(p, "instruments", default=2000, quick=200, minimum=2, help="how many")
    _suite.count_option(p, "clients", default=8, quick=2, minimum=1, help="threads")
    full = _suite.resolve(p, p.parse_args([]))
    quick = _suite.resolve(p, p.parse_args(["--quick"]))
    given = _suite.resolve(p, p.parse_args(["--quick", "--instruments", "7"]))
    assert (full.instruments, full.clients, full.repeats) == (2000, 8, 5)
    assert (quick.instruments, quick.clients, quick.repeats) == (200, 2, 1)
    assert (given.instruments, given.clients) == (7, 2)
    assert "how many (default 2,000, --quick 200)" in " ".join(p.format_help().split())
    with pytest.raises(SystemExit) as exc:
        _suite.resolve(p, p.parse_args(["--instruments", "1"]))
    assert exc.value.code == 2
    assert "--instruments must be at least 2" in capsys.readouterr().err


def test_each_benchmark_keeps_its_counts() -> None:
    assert advance_bench.parse_args([]).instruments == advance_bench.DEFAULT_INSTRUMENTS
    assert advance_bench.parse_args(["--quick"]).instruments == advance_bench.QUICK_INSTRUMENTS
    assert mail_bench.parse_args(["--quick"]).reminders == mail_bench.QUICK_REMINDERS
    assert report_bench.parse_args(["--quick"]).instruments == report_bench.QUICK_INSTRUMENTS
    with pytest.raises(SystemExit):
        report_bench.parse_args(["--instruments", "9"])


def test_growth_options() -> None:
    quick = growth.parse_args(["--quick"])
    assert (quick.sizes, quick.repeats, quick.inner) == ([1000], 1, growth.QUICK_INNER)
    full = growth.parse_args(["--sizes", "10000,1000", "--postgres-url", "postgresql://x/y"])
    assert (full.sizes, full.repeats, full.inner) == ([1000, 10_000], 5, growth.DEFAULT_INNER)
    assert full.postgres == "postgresql://x/y"
    assert growth.parse_args([]).sizes == [1000, 10_000, 100_000]
    assert growth.parse_args(["--quick", "--sizes", "1000,2000"]).sizes == [1000, 2000]
    with pytest.raises(SystemExit):
        growth.parse_args(["--sizes", "100"])


def _measure(name: str, size: int, ms: float, own: float, rows: int = 50) -> growth.Measure:
    return growth.Measure(
        name,
        size,
        rows,
        process_ms=[ms, ms + 10],
        process_cpu_ms=[ms / 2, ms / 2],
        inner_ms=[own],
        peak_rss_kib=60 * 1024,
    )


def test_growth_rows_one_per_operation_and_size_with_the_floor_and_the_verdicts() -> None:
    ops = [op for op, _ in growth.OPERATIONS]
    floor_op = growth.Operation(growth.FLOORS[0], "floor")
    baseline_op = growth.Operation(growth.FLOORS[1], "floor")
    own = {1000: 10.0, 10_000: 40.0}  # every operation's own time: x4 for x10 instruments
    results = {
        size: [
            (floor_op, _measure(floor_op.name, size, 500.0, float("nan"))),
            (baseline_op, _measure(baseline_op.name, size, 800.0, 5.0, rows=6)),
            *((op, _measure(op.name, size, 800.0 + own[size], own[size])) for op in ops),
        ]
        for size in (1000, 10_000)
    }
    rows = growth.suite_rows("sqlite", results)

    assert [r.workload for r in rows[::2]] == growth.workloads("sqlite")
    assert [r.size for r in rows[:2]] == ["1,000 instruments", "10,000 instruments"]
    for row in rows:
        assert row.floor is not None and row.floor.what == "python -c 'import sqlmodel'"
        assert row.ratio is not None and row.ratio > 1
        assert row.peak_bytes == 60 * 2**20 and row.peak_kind == "RSS"
    # The first size: no ratio yet; the next: the process ratio, own time, the verdict.
    show = growth.workload("sqlite", "doc show SLUG")
    first, second = (r for r in rows if r.workload == show)
    assert not any(note.startswith("x") for note in first.notes)
    assert "own 10.0 ms (expected flat)" in first.notes
    assert second.notes[0] == "x1.04 vs 1,000 instruments"
    assert "own 40.0 ms x4.00: linear (expected flat: NOT as expected)" in second.notes
    offset = growth.workload("sqlite", "doc list --limit 50 --offset N/2")
    assert "own 40.0 ms x4.00: linear" in [r for r in rows if r.workload == offset][1].notes
    baseline = [r for r in rows if r.workload == growth.workload("sqlite", growth.BASELINE)]
    assert "own 5.0 ms x1.00: flat" in baseline[1].notes
    assert "6 rows" in baseline[1].notes
    assert baseline[1].details["verdict"] == "flat"
