"""``python -m bench --quick``, the benchmarks' CI smoke run: every benchmark runs, its checks
pass (doctrack and each floor did the same work), and the final table has one row per workload.

Timings are never asserted: numbers from a shared 2-core machine are noise, and a slow run is
information, not a failure. (No ``__init__.py`` in this folder: see test_generate.py.)
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from helpers import ROOT

if str(ROOT) not in sys.path:  # the benchmarks live beside the package, in the checkout
    sys.path.insert(0, str(ROOT))

from bench import growth

PG_ENV = "DOCTRACK_TEST_POSTGRES_URL"

#: benchmark -> the workloads of its rows (bench.web and bench.growth: per backend, below)
EXPECTED = {
    "advance": ["advance (convention, Python API)"],
    "mail": ["reminder dispatch (SMTP)"],
    "report": ["status report (html)"],
    "processes": ["doc list --json (process)", "doc show --json (process)"],
}


def backends() -> tuple[list[str], list[str]]:
    """bench.web's and bench.growth's options and backends: PostgreSQL too where the tests
    have one (CI)."""
    base = os.environ.get(PG_ENV)
    if not base:
        return [
            *("--args", "web=--backend sqlite"),
            *("--args", "growth=--backend sqlite"),
        ], ["sqlite"]
    admin = make_url(base).set(database="postgres").render_as_string(hide_password=False)
    url = shlex.quote(admin)
    return [
        *("--args", f"web=--backend both --postgres-url {url}"),
        *("--args", f"growth=--backend both --postgres-url {url}"),
    ], ["sqlite", "postgres"]


@pytest.mark.slow
def test_quick_suite_runs_every_benchmark_into_one_table(tmp_path: Path) -> None:
    extra_args, names = backends()
    expected = {
        **EXPECTED,
        "web": [f"REST advance ({backend}, 8 clients)" for backend in names],
        # one row per operation at the one --quick size
        "growth": [w for backend in names for w in growth.workloads(backend)],
    }
    out = tmp_path / "rows.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCTRACK_")}
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH")])
    )
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", *extra_args, "--json", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"

    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["benchmarks"] == dict.fromkeys(expected, "ok")
    got: dict[str, list[str]] = {}
    for row in data["rows"]:
        got.setdefault(row["benchmark"], []).append(row["workload"])
        # Every row ran both sides (no timing asserted, only that there is one).
        assert row["floor"] is not None, row["workload"]
        assert row["doctrack"]["wall_ns"] and row["floor"]["wall_ns"], row["workload"]
        assert row["ratio"] is not None and row["ratio"] > 0, row["workload"]
    assert got == expected

    # The output ends with one table: a line per row, each workload once, in that order.
    summary = done.stdout.rsplit("== all benchmarks", 1)[1]
    lines = summary.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("workload "))
    assert lines[header + 1].startswith("-----")
    body = lines[header + 2 : header + 2 + len(data["rows"])]
    workloads = [w for names in expected.values() for w in names]
    assert [line[: len(w)] for line, w in zip(body, workloads, strict=True)] == workloads
    assert not lines[header + 2 + len(data["rows"])].strip()  # the table ends there
    assert "FAILED" not in summary
