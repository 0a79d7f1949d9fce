"""Where the packaged defaults (workflows, templates, config) live."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The packaged copy of a top-level folder: inside the wheel, or the checkout's own."""
    packaged = _PACKAGE / "_data" / name
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parents[1] / name


def template_folders(templates: Path) -> list[Path]:
    """Where templates are looked up, first match wins: ``templates``, then the packaged
    ones, so that a folder of one's own may override some templates only."""
    folders = [Path(templates)]
    packaged = data_dir("templates")
    if packaged.resolve() != folders[0].resolve():
        folders.append(packaged)
    return folders
