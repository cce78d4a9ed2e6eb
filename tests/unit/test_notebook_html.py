"""A stage's HTML (app.notebook_html): what nbconvert's own exporter marks for accessibility,
marked alike without its BeautifulSoup pass; secrets masked; parameters cells hidden."""

from __future__ import annotations

import nbformat
from bs4 import BeautifulSoup
from nbconvert import HTMLExporter

from runbook_lib.app import notebook_html
from runbook_lib.core.secrets import register


def _notebook():
    out = nbformat.v4.new_output
    cells = [
        nbformat.v4.new_markdown_cell("# Title\n\n![a chart](chart.png) <img src='raw.png'>"),
        nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("print(x)", outputs=[out("stream", name="stdout", text="1\n")]),
        nbformat.v4.new_code_cell("err", outputs=[out("stream", name="stderr", text="warn\n")]),
        nbformat.v4.new_code_cell("show()", outputs=[out("display_data", data={
            "image/png": "iVBORw0KGgo=",
            "text/html": "<img src='a.png'><img alt='kept' src='b.png'>"
                         "<div class=\"jp-OutputArea-output\">user div</div>"
                         "<p>&lt;div class=\"jp-OutputArea-output\"&gt; as text</p>"})]),
        nbformat.v4.new_code_cell("frame", outputs=[out("execute_result", execution_count=5, data={
            "text/plain": "<table>", "text/html": "<table><tr><td>1</td></tr></table>"})]),
        nbformat.v4.new_code_cell("svg", outputs=[out("display_data", data={
            "image/svg+xml": "<svg xmlns='http://www.w3.org/2000/svg'></svg>"})]),
        nbformat.v4.new_code_cell("1/0", outputs=[out("error", ename="ZeroDivisionError",
                                                      evalue="division by zero", traceback=[])]),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    return nb


def _marks(html: str):
    soup = BeautifulSoup(html, features="html.parser")
    return ([(e.name, tuple(e.get("class", []))) for e in soup.find_all(tabindex="0")],
            [(e.get("src"), e.get("alt")) for e in soup.find_all("img")])


def test_the_same_elements_are_marked_as_nbconvert_marks_them():
    """Independent check: nbconvert's HTMLExporter (BeautifulSoup) against the text edits."""
    theirs, _ = HTMLExporter().from_notebook_node(_notebook())
    ours, _ = notebook_html.exporter().from_notebook_node(_notebook())
    focusable, images = _marks(ours)
    assert (focusable, images) == _marks(theirs)
    assert len(focusable) >= 8 and (None, None) not in images
    assert ("a.png", notebook_html.NO_ALT) in images and ("b.png", "kept") in images
    assert "&lt;div class=" in ours  # text that looks like a tag is left as text


def test_render_writes_private_html_beside_the_notebook_without_secrets(tmp_path):
    register("s3cr3t-for-html")
    nb = _notebook()
    nb.cells.append(nbformat.v4.new_code_cell("p", outputs=[nbformat.v4.new_output(
        "stream", name="stdout", text="password s3cr3t-for-html\n")]))
    executed = tmp_path / "03_x.ipynb"
    nbformat.write(nb, executed)
    for given in (None, nbformat.read(executed, as_version=4)):  # from the file, in memory
        assert notebook_html.render(executed, given) == "03_x.html"
        html = (tmp_path / "03_x.html").read_text()
        assert "s3cr3t-for-html" not in html and "password ********" in html
        assert "x = 1" not in html  # the parameters cell's source is hidden
        assert (tmp_path / "03_x.html").stat().st_mode & 0o077 == 0
