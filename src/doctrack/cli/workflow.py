"""Workflow definitions: list, check, show."""

from __future__ import annotations

from pathlib import Path

import click

from doctrack.cli._context import app, echo_json, echo_table
from doctrack.cli._params import PathParam


@click.group()
def workflow() -> None:
    """Workflow definitions (workflows/*.yaml)."""


@workflow.command("list")
def workflow_list() -> None:
    """List the workflows in use."""
    wfs = app().workflows
    rows = []
    for name in wfs.names():
        wf = wfs.get(name)
        rows.append((name, len(wf.states), len(wf.transitions), wf.title, wf.source))
    echo_table(["name", "states", "transitions", "title", "file"], rows)


@workflow.command("check")
@click.argument("files", nargs=-1, type=PathParam(path_type=Path))
def workflow_check(files: tuple[Path, ...]) -> None:
    """Validate workflow files (default: every file in the workflows folder)."""
    from doctrack.engine.loader import load_workflow
    from doctrack.engine.registry import workflow_files, workflows_folder
    from doctrack.errors import UsageError, WorkflowDefinitionError

    paths = list(files) or workflow_files(workflows_folder(app().settings.workflows))
    if not paths:
        raise UsageError("no workflow files to check")
    failed = 0
    seen: dict[str, Path] = {}
    for path in paths:
        try:
            wf = load_workflow(path)
            if wf.name in seen:  # as loading the folder would refuse it
                also = f"workflow {wf.name!r} is also defined in {seen[wf.name]}"
                raise WorkflowDefinitionError(str(path), wf.name_line, "name", also)
        except WorkflowDefinitionError as exc:
            failed += 1
            click.echo(f"doctrack: {exc}", err=True)
            continue
        seen[wf.name] = path
        click.echo(
            f"ok {path}: {wf.name}, {len(wf.states)} states, {len(wf.transitions)} transitions"
        )
    if failed:
        raise UsageError(f"{failed} of {len(paths)} workflow files have errors")


@workflow.command("show")
@click.argument("name")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "mermaid"]),
    default="text",
    show_default=True,
)
def workflow_show(name: str, fmt: str) -> None:
    """Show a workflow as text, JSON or a Mermaid state diagram."""
    wf = app().workflows.get(name)
    if fmt == "mermaid":
        from doctrack.engine.machine import mermaid

        click.echo(mermaid(wf))
        return
    data = {
        "name": wf.name,
        "title": wf.title,
        "initial": wf.initial,
        "file": wf.source,
        "states": [
            {
                "name": s.name,
                "label": s.label,
                "due": None
                if s.due is None
                else (
                    "end_of_summit"
                    if s.due.end_of_summit
                    else {"before_summit": str(s.due.before_summit)}
                ),
                "adopted": s.adopted,
                "final": s.final,
            }
            for s in wf.states.values()
        ],
        "transitions": [
            {
                "trigger": t.trigger,
                "source": list(t.sources),
                "dest": t.dest,
                "roles": list(t.roles),
                "when": list(t.when),
            }
            for t in wf.transitions
        ],
        "reminders": {
            "before": [str(d) for d in wf.reminders.before],
            "to": list(wf.reminders.to),
        },
    }
    if fmt == "json":
        echo_json(data)
        return
    click.echo(f"{wf.name}: {wf.title} (initial {wf.initial})")
    for s in wf.states.values():
        marks = [m for m, on in (("adopted", s.adopted), ("final", s.final)) if on]
        due = f", due {s.due}" if s.due else ""
        click.echo(f"  {s.name:<16}{s.label}{due}{' [' + ', '.join(marks) + ']' if marks else ''}")
    for t in wf.transitions:
        guards = f" when {', '.join(t.when)}" if t.when else ""
        click.echo(
            f"  {t.trigger}: {'|'.join(t.sources)} -> {t.dest} by {', '.join(t.roles)}{guards}"
        )
