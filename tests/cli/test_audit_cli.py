"""``doctrack audit verify``: exit 0 with counts and a digest, or exit 1 naming the event."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import Cli

from audit_support import behind_the_back, event_ids


def _history(scenario: Cli, tmp_path: Path) -> None:
    draft = tmp_path / "draft-1.docx"
    draft.write_bytes(b"the first draft")
    scenario.ok("doc", "revise", "convention", "--file", str(draft), "--as", "drafter")
    scenario.ok("doc", "advance", "convention", "submit", "--as", "coord", "--comment", "go")
    scenario.ok("doc", "position", "convention", "KZ", "approve", "--as", "kz")


def test_a_clean_history_exits_0_with_counts_and_a_digest(scenario: Cli, tmp_path: Path) -> None:
    _history(scenario, tmp_path)
    result = scenario.ok("audit", "verify")
    lines = result.stdout.splitlines()
    print(result.stdout)
    assert lines[0].startswith("verified 5 chains (3 instruments, 2 summits), ")
    assert lines[0].endswith(" events, 1 revisions: the history is as it was written")
    assert lines[1].startswith("digest: ") and len(lines[1]) == len("digest: ") + 64
    assert result.stderr == ""
    digest = lines[1].removeprefix("digest: ")
    assert scenario.ok("audit", "verify", "--expect", digest).stdout == result.stdout
    data = json.loads(scenario.ok("audit", "verify", "--json").stdout)
    assert data["ok"] is True and data["problems"] == [] and data["digest"] == digest
    assert (data["chains"], data["revisions"]) == (5, 1)


def test_an_edit_behind_the_back_exits_1_naming_the_event(
    scenario: Cli, tmp_path: Path, db_url: str
) -> None:
    _history(scenario, tmp_path)
    target = event_ids(db_url, slug="convention")[2]
    behind_the_back(db_url, "UPDATE event SET comment = 'stop' WHERE id = :id", {"id": target})
    result = scenario.run("audit", "verify")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        f"instrument convention: event {target} (#3, transition) does not match its hash: "
        "it was changed after it was written"
    )
    assert result.stderr.splitlines() == [
        "doctrack: the history does not verify: 1 problem in 8 events of 5 chains"
    ]
    data = json.loads(scenario.run("audit", "verify", "--json").stdout)
    assert data["ok"] is False
    assert data["problems"] == [
        {
            "what": "hash",
            "subject": "instrument",
            "slug": "convention",
            "event": target,
            "detail": data["problems"][0]["detail"],
        }
    ]


def test_a_different_digest_exits_1(scenario: Cli) -> None:
    result = scenario.run("audit", "verify", "--expect", "0" * 64)
    assert result.exit_code == 1
    assert "expected " + "0" * 64 in result.stdout
    assert len(result.stderr.splitlines()) == 1


def test_audit_is_listed_in_help(cli: Cli) -> None:
    assert "audit" in cli.ok("--help").stdout
    assert "--expect" in cli.ok("audit", "verify", "--help").stdout
