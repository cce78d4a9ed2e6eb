"""Authoring helpers for the stage notebooks: the shared parameters cell, clean saving.

`python -m runbook_lib.app.notebook_tools sync` rewrites every notebook's parameters cell from
`config.PARAMETERS`, clears outputs, then updates the translation catalogues and regenerates
the Korean notebooks (`app.translate`), so the notebooks never drift from the profiles or
from each other.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

from ..core import paths
from ..core.config import MEANINGS, PARAMETERS
from ..core.i18n import t


def parameters_source(language: str = "en") -> str:
    """The literal-only parameters cell, one trailing comment per parameter (in `language`;
    the Korean notebooks default to `language = 'ko'`)."""
    lines = []
    for name, (default, _kind, _meaning) in PARAMETERS.items():
        value = language if name == "language" else default
        lines.append(f"{name} = {value!r}  # {t(MEANINGS[name], language)}")
    return "\n".join(lines)


def parameters_cell(language: str = "en") -> nbformat.NotebookNode:
    """The parameters cell, folded in JupyterLab (the settings cell below summarises it)."""
    cell = nbformat.v4.new_code_cell(parameters_source(language))
    cell.metadata["tags"] = ["parameters"]
    cell.metadata["jupyter"] = {"source_hidden": True}
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
    """Rewrite the English notebooks' parameters cells (outputs cleared)."""
    changed = []
    for path in sorted((folder or paths.project_root() / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        for cell in nb.cells:
            if "parameters" in cell.metadata.get("tags", []):
                cell.source = parameters_source()
                cell.metadata["jupyter"] = {"source_hidden": True}
        save(nb, path)
        changed.append(path)
    return changed


__all__ = ["parameters_source", "parameters_cell", "clean", "build", "save", "sync"]


def main(argv: list[str]) -> int:
    from . import translate

    if argv != ["sync"]:
        print("usage: python -m runbook_lib.app.notebook_tools sync", file=sys.stderr)
        return 2
    for p in sync():
        print("synced", p)
    written, gaps = translate.sync(parameters_source(translate.LANGUAGE), save)
    for p in written:
        print("translated", p)
    for gap in gaps:
        print(gap, file=sys.stderr)
    if gaps:
        print(f"{len(gaps)} markdown cell(s) have no Korean yet; their notebooks in "
              f"notebooks/{translate.LANGUAGE}/ were not regenerated.", file=sys.stderr)
    return 1 if gaps else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
