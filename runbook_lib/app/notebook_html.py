"""An executed stage notebook as HTML beside it (`render`), quickly.

nbconvert's HTMLExporter renders the notebook through its templates, then parses the whole
page again with BeautifulSoup only to add `tabindex="0"` to the template's input and output
areas and an `alt` text to images that have none (about 40% of a render of stage 03's
notebook). `Exporter` makes the same three changes to the template's own tags as text.
`exporter()` is built once per process, its templates compiled (a first render costs ~1 s
more), so the runner can load it while cells run.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..core import files
from ..core.secrets import scrub

NO_ALT = "No description has been provided for this image"  # nbconvert's own words
# The tags nbconvert's lab template writes for a cell's input and for an output area.
_INPUT = re.compile(r'<div class="jp-Cell-inputWrapper"(?=>)')
_OUTPUT = re.compile(r'(<div (?:id="[^"<>]*" )?class="(?:[^"<>]*\s)?jp-OutputArea-output(?:\s[^"<>]*)?"'
                     r'(?: data-mime-type="[^"<>]*")?)(?=>)')
_IMG = re.compile(r"<img(?![^<>]*\balt=)(?=[\s>/])")
_EXPORTER: list = []


def _exporter_class():
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class Exporter(HTMLExporter):
        """HTMLExporter, its accessibility changes made without re-parsing the page."""

        def from_notebook_node(self, nb, resources=None, **kw):
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            highlight = self.filters.get("highlight_code",
                                         Highlight2HTML(pygments_lexer=lexer, parent=self))
            resources = self._init_resources(resources)
            self.register_filter("highlight_code", highlight)
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            return accessible(html), resources

    return Exporter


def accessible(html: str) -> str:
    """What nbconvert's BeautifulSoup pass adds: tabindex on input and output areas, an alt
    text on images without one."""
    html = _INPUT.sub(r'\g<0> tabindex="0"', html)
    html = _OUTPUT.sub(r'\1 tabindex="0"', html)
    return _IMG.sub(f'<img alt="{NO_ALT}"', html)


def exporter():
    """The process's exporter, its templates compiled."""
    if not _EXPORTER:
        import nbformat

        built = _exporter_class()()
        built.from_notebook_node(nbformat.v4.new_notebook(cells=[
            nbformat.v4.new_markdown_cell("#"), nbformat.v4.new_code_cell("1")]))
        _EXPORTER.append(built)
    return _EXPORTER[0]


def render(executed: Path, nb=None) -> str:
    """Write `executed` (or `nb`, the same notebook in memory, which this changes) as HTML
    beside it, secrets masked, the parameters cells' source hidden (the settings cell shows
    them once); the HTML file's name."""
    import nbformat

    nb = nbformat.read(executed, as_version=4) if nb is None else nb
    for cell in nb.cells:
        if {"parameters", "injected-parameters"} & set(cell.metadata.get("tags", [])):
            cell.metadata["transient"] = {"remove_source": True}
    body, _ = exporter().from_notebook_node(nb)
    target = executed.with_suffix(".html")
    files.write_private(target, scrub(body))
    return target.name


__all__ = ["NO_ALT", "accessible", "exporter", "render"]
