"""Find English prose a Korean reader would meet: in executed notebooks and in report.html.

Text is cut into segments (a table cell, a heading, a list item, a paragraph line) and code is
left out: `<code>`/`<pre>` elements, Markdown code spans and fences, tracebacks and stream
output (programs' own messages). A segment without Hangul is English prose when, after dropping
identifiers, paths, numbers, SQL keywords, ids and product names, two or more English words
remain (one for a table header). Proper names and quoted server messages are allowed by
`ALLOWED`.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat

HANGUL = re.compile("[\uac00-\ud7a3]")
WORD = re.compile(r"(?<![\w./\\$%@:-])[A-Za-z][a-z]+(?:'[a-z]+)?(?![\w./\\$%@(-])")
# Names, not prose: products, tools, formats and the parameters' own words.
ALLOWED = {
    "postgresql", "sqlite", "django", "python", "psycopg", "libpq", "pandas", "jupyterlab",
    "papermill", "arrow", "adbc", "debian", "ubuntu", "fedora", "macos", "windows", "homebrew",
    "docker", "channels", "spc", "embedded", "server", "django", "copy", "loaddata", "pgloader",
    "replace", "truncate", "fail", "full", "sample", "counts", "quarantine", "null", "true",
    "false", "none", "binary", "text", "ok", "identity", "bigint", "integer", "boolean",
    "varchar", "timestamp", "numeric", "double", "precision", "smallint", "jsonb", "bytea",
    "uuid", "date", "time", "real", "with", "zone", "without", "rowid", "key", "json",
    "interactive", "postgres", "localhost", "scram", "sha", "trust", "peer", "md", "ident",
    "dev", "config", "settings", "demo", "main", "runbook", "public", "default", "wal",
    "delete", "memory", "admin", "api", "ms", "utc", "mvcc", "id", "ids", "bench", "spc_db",
}


class _Segments(HTMLParser):
    """Text segments of an HTML fragment, code elements left out."""

    BREAKS = {"td", "th", "p", "li", "div", "h1", "h2", "h3", "h4", "h5", "br", "tr",
              "summary", "caption", "title", "figcaption", "span", "b", "a"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skip = 0
        self.head = 0
        self.parts: list[tuple[str, bool]] = []
        self.current: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("code", "pre", "style", "script", "kbd", "samp"):
            self.skip += 1
        if tag in self.BREAKS:
            self.flush()
        if tag == "th":
            self.head += 1

    def handle_endtag(self, tag):
        if tag in ("code", "pre", "style", "script", "kbd", "samp"):
            self.skip = max(0, self.skip - 1)
        if tag in self.BREAKS:
            self.flush()
        if tag == "th":
            self.head = max(0, self.head - 1)

    def handle_data(self, data):
        if not self.skip:
            self.current.append(data)

    def flush(self):
        text = " ".join("".join(self.current).split())
        if text:
            self.parts.append((text, bool(self.head)))
        self.current = []


def html_segments(fragment: str) -> list[tuple[str, bool]]:
    parser = _Segments()
    parser.feed(fragment)
    parser.flush()
    return parser.parts


def markdown_segments(text: str) -> list[tuple[str, bool]]:
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"<[^>]+>", " ", text)
    out = []
    for line in text.splitlines():
        cells = [c for c in line.split("|")] if "|" in line else [line]
        out += [(c.strip(" #*-_>"), False) for c in cells if c.strip(" #*-_>:")]
    return out


def english_words(segment: str) -> list[str]:
    """The English words of a segment once names, identifiers and code are dropped."""
    segment = re.sub(r"https?://\S+|\S+@\S+", " ", segment)
    return [w for w in WORD.findall(segment) if w.lower() not in ALLOWED]


def is_english(segment: str, header: bool = False) -> bool:
    if HANGUL.search(segment):
        return False
    return len(english_words(segment)) >= (1 if header else 2)


def _output_segments(output: dict) -> list[tuple[str, bool]]:
    data = output.get("data", {})
    if "text/html" in data:
        return html_segments(data["text/html"])
    if "text/markdown" in data:
        return markdown_segments(data["text/markdown"])
    if "image/png" in data:
        return []
    if "text/plain" in data:  # a repr: prose only if it is not code-looking
        text = data["text/plain"]
        return [] if re.match(r"^\s*[\[({'\"<]|^\s*\w+\(", text) else \
            [(line, False) for line in text.splitlines()]
    return []  # streams and errors: programs' own output


def notebook_findings(path: Path) -> list[str]:
    """'notebook [cell index] kind: segment' for every English segment."""
    nb = nbformat.read(str(path), as_version=4)
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            segments = markdown_segments(cell.source)
        elif cell.cell_type == "code" and "parameters" not in cell.metadata.get("tags", []) \
                and "injected-parameters" not in cell.metadata.get("tags", []):
            segments = [s for o in cell.get("outputs", []) for s in _output_segments(o)]
        else:
            continue
        found += [f"{path.name} [{index}] {cell.cell_type}: {text[:160]}"
                  for text, head in segments if is_english(text, head)]
    return found


def html_findings(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [f"{path.name}: {seg[:160]}" for seg, head in html_segments(text)
            if is_english(seg, head)]


__all__ = ["is_english", "english_words", "html_segments", "markdown_segments",
           "notebook_findings", "html_findings"]
