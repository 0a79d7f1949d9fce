"""The set of workflows in use, each with its machine built once."""

from __future__ import annotations

from pathlib import Path

from doctrack.engine.definition import WorkflowDef
from doctrack.engine.loader import load_workflows
from doctrack.engine.machine import WorkflowMachine
from doctrack.errors import NotFoundError, UsageError
from doctrack.resources import data_dir


def workflows_folder(configured: str | None) -> Path:
    """The configured folder, else ``./workflows`` if it exists, else the packaged one."""
    if configured:
        folder = Path(configured)
        if not folder.is_dir():
            raise UsageError(f"workflows folder not found: {folder}")
        return folder
    local = Path("workflows")
    return local if local.is_dir() else data_dir("workflows")


def workflow_files(folder: Path) -> list[Path]:
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


class Workflows:
    """Definitions by name; machines are built on first use and kept."""

    def __init__(self, definitions: dict[str, WorkflowDef]) -> None:
        self._defs = definitions
        self._machines: dict[str, WorkflowMachine] = {}

    @classmethod
    def from_folder(cls, folder: Path) -> Workflows:
        files = workflow_files(folder)
        if not files:
            raise UsageError(f"no workflow files (*.yaml) in {folder}")
        return cls(load_workflows(files))

    def names(self) -> list[str]:
        return sorted(self._defs)

    def get(self, name: str) -> WorkflowDef:
        try:
            return self._defs[name]
        except KeyError:
            raise NotFoundError("workflow", name, known=self.names()) from None

    def machine(self, name: str) -> WorkflowMachine:
        machine = self._machines.get(name)
        if machine is None:
            machine = self._machines[name] = WorkflowMachine(self.get(name))
        return machine

    def __contains__(self, name: object) -> bool:
        return name in self._defs
