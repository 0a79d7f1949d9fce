# ruff: noqa: T201 - a CI script: printing is its output
"""Audit the locked dependencies (constraints.txt) for known vulnerabilities.

Runs pip-audit from the project's venv on constraints.txt as it is (every pin exact, so
``--no-deps --disable-pip``: nothing is resolved or installed, no venv is made), against
PyPI's own vulnerability data (``--vulnerability-service pypi``: OSV is not reachable
from CI). One request per pin; a few seconds.

Outcome, one line each, then the exit code:
- a vulnerability whose ID (or an alias) is not in .ci/pip-audit-allow.txt: listed, exit 1;
- PyPI unreachable (pip-audit ends without a report): with CI=true exit 1, "NOT AUDITED";
  elsewhere a warning and exit 0, so that working offline is possible;
- pins PyPI has no release data for ("not found on PyPI", which is every pin where a
  mirror serves no per-release JSON): listed as NOT AUDITED; exit 1 when
  DOCTRACK_AUDIT_NO_DATA=fail, a loud warning otherwise (the default);
- an allow-list entry without a reason is an error (exit 2); one that matched nothing is
  reported as stale.

Usage: .venv/bin/python .ci/audit.py [--report FILE]   (FILE: pip-audit's JSON, for tests)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ALLOW = ROOT / ".ci" / "pip-audit-allow.txt"
LOCK = ROOT / "constraints.txt"


@dataclass
class Verdict:
    """What the report says, and the exit code it earns."""

    lines: list[str] = field(default_factory=list)
    code: int = 0

    def say(self, line: str, code: int = 0) -> None:
        self.lines.append(f"pip-audit: {line}")
        self.code = max(self.code, code)


def read_allow(text: str) -> dict[str, str]:
    """ID -> reason, from lines ``ID  reason``; ``#`` starts a comment."""
    allowed: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        vuln_id, _, reason = line.partition(" ")
        if not reason.strip():
            raise ValueError(f"{ALLOW.name}:{number}: {vuln_id} needs a reason after the ID")
        allowed[vuln_id] = reason.strip()
    return allowed


def judge(
    report: dict[str, Any] | None, allowed: dict[str, str], *, ci: bool, no_data: str
) -> Verdict:
    """The verdict on pip-audit's JSON report (``None``: it produced none)."""
    v = Verdict()
    if report is None:
        v.say(
            "NOT AUDITED: pip-audit produced no report (PyPI unreachable?)",
            1 if ci else 0,
        )
        return v
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    audited = [d for d in deps if not d.get("skip_reason")]
    used: set[str] = set()
    findings = 0
    for dep in audited:
        for vuln in dep.get("vulns", []):
            ids = {vuln["id"], *vuln.get("aliases", [])}
            hit = sorted(ids & allowed.keys())
            fixes = ", ".join(vuln.get("fix_versions", [])) or "none yet"
            where = f"{dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixes})"
            if hit:
                used.update(hit)
                v.say(f"allowed {where}: {allowed[hit[0]]}")
            else:
                findings += 1
                v.say(f"FOUND {where}", 1)
    for stale in sorted(allowed.keys() - used):
        v.say(f"allow-list entry {stale} matched nothing: remove it if it is fixed")
    if skipped:
        names = ", ".join(f"{d['name']}" for d in skipped[:8])
        more = f" and {len(skipped) - 8} more" if len(skipped) > 8 else ""
        v.say(
            f"NOT AUDITED: {len(skipped)} of {len(deps)} pins, PyPI has no release data for "
            f"them ({names}{more})",
            1 if no_data == "fail" else 0,
        )
    v.say(
        f"{len(deps)} pins: {len(audited)} audited, {len(skipped)} not audited, "
        f"{findings} findings, {len(used)} allowed"
    )
    return v


def run_pip_audit() -> dict[str, Any] | None:
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "--requirement",
        str(LOCK),
        "--no-deps",
        "--disable-pip",
        "--vulnerability-service",
        "pypi",
        "--format",
        "json",
        "--progress-spinner",
        "off",
        "--timeout",
        "20",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"pip-audit: exit {done.returncode}: {last[:300]}", file=sys.stderr)
        return None
    return report if isinstance(report, dict) else None


def main(argv: list[str]) -> int:
    try:
        allowed = read_allow(ALLOW.read_text("utf-8") if ALLOW.is_file() else "")
    except ValueError as exc:
        print(f"pip-audit: {exc}", file=sys.stderr)
        return 2
    if argv[:1] == ["--report"] and len(argv) == 2:
        report = json.loads(Path(argv[1]).read_text("utf-8"))
    else:
        report = run_pip_audit()
    ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
    no_data = os.environ.get("DOCTRACK_AUDIT_NO_DATA", "warn")
    verdict = judge(report, allowed, ci=ci, no_data=no_data)
    for line in verdict.lines:
        print(line)
    return verdict.code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
