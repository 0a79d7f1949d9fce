"""doctrack benchmarks: each module has ``main(argv) -> int``; ``python -m bench`` runs them all.

Benchmarks print their numbers beside a floor measured in the same run and never assert
timings: a slow run is information, not a failure.
"""

from __future__ import annotations

#: Benchmark modules (``bench.<name>``) in the order ``python -m bench`` runs them.
BENCHMARKS: tuple[str, ...] = ("advance", "mail", "report", "web")
