"""Kept for the modules that still import it (``bench.growth``): everything now lives in
``bench._suite``, the suite's shared pieces (the row, the table, the environment header, the
common options). New code imports ``bench._suite``."""

from __future__ import annotations

from bench._suite import (
    BenchError,
    cpu_model,
    environment_lines,
    machine_lines,
    mib,
    render_table,
)

__all__ = ["BenchError", "cpu_model", "environment_lines", "machine_lines", "mib", "render_table"]
