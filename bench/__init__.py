"""doctrack benchmarks: ``python -m bench`` runs them all and prints one table.

Each module ``bench.<name>`` measures doctrack beside a floor (the least work the same job can
take) in the same run, prints its own details, and returns rows for the suite's table through
``rows(args)``; ``python -m bench.<name>`` runs it alone (see ``bench/_suite.py``).
Benchmarks never assert timings: a slow run is information, not a failure; they fail only
when doctrack and the floor could not be made to do the same work.
"""

from __future__ import annotations

#: Benchmark modules (``bench.<name>``) in the order ``python -m bench`` runs them.
BENCHMARKS: tuple[str, ...] = ("advance", "mail", "report", "processes", "web", "growth")
