"""What .ci/audit.py makes of pip-audit's report: a finding fails, a reviewed one does not,
no report fails in CI, pins without data are said NOT AUDITED (failing on request)."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType
from typing import Any

import pytest

from helpers import ROOT


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ci_audit", ROOT / ".ci" / "audit.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["ci_audit"] = module
    spec.loader.exec_module(module)
    return module


audit = _load()
VULN = {"id": "GHSA-aaaa-bbbb-cccc", "aliases": ["CVE-2026-0001"], "fix_versions": ["2.0"]}


def report(*deps: dict[str, Any]) -> dict[str, Any]:
    return {"dependencies": list(deps), "fixes": []}


def clean(name: str = "jinja2") -> dict[str, Any]:
    return {"name": name, "version": "1.0", "vulns": []}


def vulnerable() -> dict[str, Any]:
    return {"name": "evilpkg", "version": "1.0", "vulns": [VULN]}


def skipped(name: str = "foo") -> dict[str, Any]:
    return {"name": name, "skip_reason": f"Dependency not found on PyPI: {name} (1.0)"}


def test_a_finding_fails_and_names_the_package_and_the_fix() -> None:
    v = audit.judge(report(clean(), vulnerable()), {}, ci=True, no_data="warn")
    assert v.code == 1
    assert any("FOUND evilpkg 1.0: GHSA-aaaa-bbbb-cccc (fixed in 2.0)" in line for line in v.lines)
    assert v.lines[-1] == "pip-audit: 2 pins: 2 audited, 0 not audited, 1 findings, 0 allowed"


@pytest.mark.parametrize("listed", ["GHSA-aaaa-bbbb-cccc", "CVE-2026-0001"])
def test_a_reviewed_finding_passes_with_its_reason(listed: str) -> None:
    v = audit.judge(report(vulnerable()), {listed: "not reachable"}, ci=True, no_data="warn")
    assert v.code == 0
    assert any("allowed evilpkg" in line and "not reachable" in line for line in v.lines)


def test_a_stale_allow_list_entry_is_reported() -> None:
    v = audit.judge(report(clean()), {"GHSA-old": "fixed long ago"}, ci=True, no_data="warn")
    assert v.code == 0 and any("GHSA-old matched nothing" in line for line in v.lines)


def test_no_report_fails_in_ci_and_warns_elsewhere() -> None:
    assert audit.judge(None, {}, ci=True, no_data="warn").code == 1
    local = audit.judge(None, {}, ci=False, no_data="warn")
    assert local.code == 0 and "NOT AUDITED" in local.lines[0]


def test_pins_without_data_are_not_audited_loudly_or_fail_on_request() -> None:
    deps = report(clean(), skipped("a"), skipped("b"))
    warned = audit.judge(deps, {}, ci=True, no_data="warn")
    assert warned.code == 0
    assert any("NOT AUDITED: 2 of 3 pins" in line for line in warned.lines)
    assert audit.judge(deps, {}, ci=True, no_data="fail").code == 1


def test_an_allow_list_entry_needs_a_reason() -> None:
    assert audit.read_allow("# comment\nGHSA-x  reviewed: unused\n\n") == {
        "GHSA-x": "reviewed: unused"
    }
    with pytest.raises(ValueError, match="needs a reason"):
        audit.read_allow("GHSA-x\n")


def test_the_shipped_allow_list_parses() -> None:
    audit.read_allow(audit.ALLOW.read_text("utf-8"))
