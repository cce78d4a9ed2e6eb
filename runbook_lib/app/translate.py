"""Korean notebooks generated from the English ones plus a translation catalogue.

The English notebooks in `notebooks/` are the source of truth. `translations/<stem>.ko.yaml`
holds one entry per markdown cell, keyed by a hash of the English text and storing that text
beside its Korean (so a reviewer reads both, and an edited English cell shows up as a new,
untranslated entry instead of silently keeping an outdated translation). `generate` writes
`notebooks/ko/<stem>.ipynb`: the same cells and cell ids, the code cells identical, the
parameters cell with `language = 'ko'` and Korean comments, every markdown cell in Korean.

`python -m runbook_lib.app.notebook_tools sync` rewrites the catalogues (new cells get an empty
`ko:`, entries of deleted cells are dropped, an edited cell keeps its former text as `was_en`
/ `was_ko` for the translator) and regenerates `notebooks/ko/`; it fails listing every cell
that still has no Korean. Tests hold the committed files to exactly what this produces.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

from ..core import paths

LANGUAGE = "ko"
SYNC = "python -m runbook_lib.app.notebook_tools sync"


def cell_key(source: str) -> str:
    """The catalogue key of a markdown cell: 12 hex digits of the SHA-256 of its English text."""
    return hashlib.sha256(source.strip().encode("utf-8")).hexdigest()[:12]


def english_notebooks(root: Path | None = None) -> list[Path]:
    return sorted(((root or paths.project_root()) / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def catalogue_path(book: Path) -> Path:
    """The catalogue of an English notebook: `translations/` beside `notebooks/` (only
    notebooks live in `notebooks/`)."""
    return book.parent.parent / "translations" / f"{book.stem}.{LANGUAGE}.yaml"


def translated_path(book: Path) -> Path:
    return book.parent / LANGUAGE / book.name


@dataclass
class Missing:
    """A markdown cell of an English notebook without its Korean."""

    notebook: str
    cell_id: str
    key: str
    first_line: str

    def __str__(self) -> str:
        return (f"{self.notebook} cell {self.cell_id} ({self.first_line!r}) has no Korean: "
                f"fill `ko:` of entry {self.key} in translations/"
                f"{Path(self.notebook).stem}.{LANGUAGE}.yaml, then run `{SYNC}`")


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks, so a catalogue reads like the cells."""


def _literal(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _literal)

HEADER = (f"# Korean for each markdown cell of notebooks/{{name}}, keyed by a hash of its "
          f"English text.\n# Fill every empty `ko:`, then run `{SYNC}` to regenerate "
          f"notebooks/{LANGUAGE}/.\n")


def read_catalogue(path: Path) -> dict[str, dict]:
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(k): v for k, v in data.items() if isinstance(v, dict)}


def updated_catalogue(nb: nbformat.NotebookNode, old: dict[str, dict]) -> dict[str, dict]:
    """The entries of this notebook's markdown cells, in order: kept, added or carried over."""
    by_cell = {e.get("cell"): e for e in old.values() if e.get("cell")}
    out: dict[str, dict] = {}
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        text = cell.source.strip()
        key = cell_key(text)
        entry = dict(old.get(key) or {"en": text, "ko": ""})
        entry["cell"] = cell.get("id", "")
        entry["en"] = text
        if not entry.get("ko") and not entry.get("was_en"):
            before = by_cell.get(entry["cell"])
            if before and before.get("ko") and before.get("en") != text:
                entry["was_en"], entry["was_ko"] = before["en"], before["ko"]
        if entry.get("ko"):
            entry.pop("was_en", None)
            entry.pop("was_ko", None)
        out[key] = {k: entry[k] for k in ("cell", "en", "ko", "was_en", "was_ko") if k in entry}
    return out


def dump_catalogue(name: str, entries: dict[str, dict]) -> str:
    body = yaml.dump(entries, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
    return HEADER.format(name=name) + body


def missing(book: Path, entries: dict[str, dict] | None = None) -> list[Missing]:
    nb = nbformat.read(str(book), as_version=4)
    entries = read_catalogue(catalogue_path(book)) if entries is None else entries
    out = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        key = cell_key(cell.source)
        if not (entries.get(key) or {}).get("ko", "").strip():
            first = next((line for line in cell.source.splitlines() if line.strip()), "")
            out.append(Missing(book.name, cell.get("id", "?"), key, first[:60]))
    return out


def translated(book: Path, entries: dict[str, dict], parameters: str) -> nbformat.NotebookNode:
    """The Korean notebook: markdown from the catalogue, `parameters` (the Korean parameters
    cell's source) for the parameters cell, the rest (code, ids, metadata) as in the English
    one. Raises KeyError on a missing translation."""
    nb = nbformat.read(str(book), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            ko = (entries.get(cell_key(cell.source)) or {}).get("ko", "").strip()
            if not ko:
                raise KeyError(cell.get("id"))
            cell.source = ko
        elif "parameters" in cell.metadata.get("tags", []):
            cell.source = parameters
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def sync(parameters: str, save: Callable, root: Path | None = None
         ) -> tuple[list[Path], list[Missing]]:
    """Rewrite the catalogues and regenerate every Korean notebook that is complete
    (`parameters`: the Korean parameters cell; `save`: `notebook_tools.save`)."""
    written, gaps = [], []
    for book in english_notebooks(root):
        nb = nbformat.read(str(book), as_version=4)
        path = catalogue_path(book)
        entries = updated_catalogue(nb, read_catalogue(path))
        path.parent.mkdir(exist_ok=True)
        path.write_text(dump_catalogue(book.name, entries), encoding="utf-8")
        book_gaps = missing(book, entries)
        gaps += book_gaps
        if book_gaps:
            continue
        target = translated_path(book)
        target.parent.mkdir(exist_ok=True)
        save(translated(book, entries, parameters), target)
        written.append(target)
    return written, gaps


__all__ = ["cell_key", "english_notebooks", "catalogue_path", "translated_path", "Missing",
           "read_catalogue", "updated_catalogue", "dump_catalogue", "missing", "translated",
           "sync", "SYNC"]
