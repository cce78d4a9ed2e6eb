"""Kernels started ahead (app.kernels) and the papermill engine that runs a notebook in one."""

from __future__ import annotations

import os

import nbformat
import psutil

from runbook_lib.app import run_folder, runner
from runbook_lib.app.kernels import ALWAYS, Kernels, warm_modules


def _book(path, *cells):
    nb = nbformat.v4.new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path


def test_warm_modules_are_the_code_cells_imports(tmp_path):
    book = _book(tmp_path / "b.ipynb",
                 nbformat.v4.new_markdown_cell("import not_code"),
                 nbformat.v4.new_code_cell("import json\nfrom os import path\n"
                                           "  from collections.abc import Mapping\nx = 1"),
                 nbformat.v4.new_code_cell("import json  # again\nprint('import nothing')"))
    assert warm_modules(book) == [*ALWAYS, "json", "os", "collections.abc"]


def test_a_kernel_started_ahead_runs_the_notebook_as_if_fresh(tmp_path):
    """The warm-up leaves no trace (execution counts start at 1, no outputs), the modules are
    imported before the first cell, and the kernel is shut down when the run closes."""
    book = _book(tmp_path / "b.ipynb",  # wave: a module no kernel imports by itself
                 nbformat.v4.new_code_cell("import sys\nprint('wave' in sys.modules)\n"
                                           "import wave"),
                 nbformat.v4.new_code_cell("print(__import__('os').getpid())"))
    out = tmp_path / "out.ipynb"
    with run_folder.kernel_runtime() as runtime:
        kernels = Kernels(runtime)
        try:
            kernels.prepare(book)
            km = kernels.take(book)
            assert km is not None
            assert kernels.take(book) is None  # handed over once
            runner._execute(book, out, {}, runtime, km)
            kernels.retire(km)
        finally:
            kernels.close()
    nb = nbformat.read(out, as_version=4)
    assert [c.execution_count for c in nb.cells] == [1, 2]
    assert [o["text"] for o in nb.cells[0].outputs] == ["True\n"]  # imported ahead, silently
    kernel_pid = int(nb.cells[1].outputs[0]["text"])
    assert kernel_pid != os.getpid()
    assert not psutil.pid_exists(kernel_pid) or \
        psutil.Process(kernel_pid).status() == psutil.STATUS_ZOMBIE  # shut down by close()


def test_a_kernel_that_failed_to_start_ahead_is_replaced(tmp_path):
    book = _book(tmp_path / "b.ipynb", nbformat.v4.new_code_cell("print(6 * 7)"))
    out = tmp_path / "out.ipynb"
    with run_folder.kernel_runtime() as runtime:
        kernels = Kernels(runtime)
        try:
            kernels.prepare(tmp_path / "missing.ipynb")  # cannot read its imports: fails
            assert kernels.take(tmp_path / "missing.ipynb") is None
            runner._execute(book, out, {}, runtime, None)  # papermill starts its own
        finally:
            kernels.close()
    assert nbformat.read(out, as_version=4).cells[0].outputs[0]["text"] == "42\n"


def test_papermill_imported_without_the_iri_grammar_leaves_it_importable():
    """The runner imports papermill with rfc3987_syntax blocked (its Lark grammar costs ~1 s);
    afterwards the module imports as usual and notebooks are still validated."""
    import subprocess
    import sys

    script = ("import sys\nfrom runbook_lib.app import runner\nrunner._papermill()\n"
              "assert 'rfc3987_syntax' not in sys.modules\n"
              "import nbformat\nnb = nbformat.v4.new_notebook()\nnb.cells.append({'x': 1})\n"
              "try:\n    nbformat.validate(nb)\nexcept nbformat.ValidationError:\n"
              "    print('validated')\n"
              "try:\n    import rfc3987_syntax\nexcept ImportError:\n    print('absent')\n"
              "else:\n    print('importable')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() in (["validated", "importable"], ["validated", "absent"])
