"""Authoring helpers for the stage notebooks: the shared parameters cell, clean saving.

`python -m runbook_lib.app.notebook_tools sync` rewrites every notebook's parameters cell from
`config.PARAMETERS` and clears outputs, so the notebooks never drift from the profiles.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

from ..core import paths
from ..core.config import PARAMETERS


def parameters_source() -> str:
    """The literal-only parameters cell, one trailing comment per parameter."""
    lines = []
    for name, (default, _kind, meaning) in PARAMETERS.items():
        lines.append(f"{name} = {default!r}  # {meaning}")
    return "\n".join(lines)


def parameters_cell() -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(parameters_source())
    cell.metadata["tags"] = ["parameters"]
    return cell


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Outputs cleared, execution metadata dropped; cell ids kept (stable diffs), missing ones
    numbered by position."""
    for index, cell in enumerate(nb.cells):
        cell.setdefault("id", f"cell-{index:03d}")
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    nb.metadata.pop("papermill", None)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def build(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """A notebook from (kind, source) pairs; kind 'md', 'code' or 'parameters'."""
    nb = nbformat.v4.new_notebook()
    for kind, source in cells:
        if kind == "parameters":
            nb.cells.append(parameters_cell())
        elif kind == "md":
            nb.cells.append(nbformat.v4.new_markdown_cell(source.strip("\n")))
        else:
            nb.cells.append(nbformat.v4.new_code_cell(source.strip("\n")))
    return clean(nb)


def save(nb: nbformat.NotebookNode, path: Path) -> None:
    nb = clean(nb)
    nbformat.validate(nb)
    nbformat.write(nb, str(path))


def sync(folder: Path | None = None) -> list[Path]:
    changed = []
    for path in sorted((folder or paths.project_root() / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        for cell in nb.cells:
            if "parameters" in cell.metadata.get("tags", []):
                cell.source = parameters_source()
        save(nb, path)
        changed.append(path)
    return changed


__all__ = ["parameters_source", "parameters_cell", "clean", "build", "save", "sync"]


if __name__ == "__main__":
    if sys.argv[1:] != ["sync"]:
        sys.exit("usage: python -m runbook_lib.app.notebook_tools sync")
    for p in sync():
        print("synced", p)
