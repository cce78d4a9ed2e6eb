"""Kernels started ahead (app.kernels) and the papermill engine that runs a notebook in one."""

from __future__ import annotations

import os
import time

import nbformat
import psutil
import pytest

from runbook_lib.app import run_folder, runner
from runbook_lib.app.kernels import ALWAYS, KernelDied, Kernels, connected, warm_modules
from runbook_lib.core.errors import RunbookError


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


# -- issue 17: the first kernel starts before the run is checked; every kernel ends -------------
def _kernel_children() -> list[psutil.Process]:
    """This process's kernels (ipykernel_launcher children), zombies included."""
    out = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "ipykernel_launcher" in " ".join(child.cmdline()):
                out.append(child)
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return out


def _recording(spawned: list[int]):
    """Kernels whose manager notes the pid of every kernel process it starts."""
    class Recording(Kernels):
        def __init__(self, runtime, env=None):
            super().__init__(runtime, env)
            base = self.manager

            class Noting(base):
                async def start_kernel(self, **kw):
                    await super().start_kernel(**kw)
                    spawned.append(self.provisioner.process.pid)

            self.manager = Noting
    return Recording


def _gone(pid: int) -> bool:
    return not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_a_run_stopped_by_its_checks_leaves_no_kernel(tmp_path, monkeypatch):
    """The first stage's kernel starts before the sqlite_path check; the check fails, and the
    kernel (started, or still starting) is killed and its runtime folder removed."""
    monkeypatch.setenv("RUNBOOK_HOME", str(runner.paths.project_root()))
    spawned: list[int] = []
    prepared: list[str] = []
    recording = _recording(spawned)

    class Watching(recording):
        def prepare(self, book):
            prepared.append((book.name, self.runtime))
            super().prepare(book)

    monkeypatch.setattr(runner, "Kernels", Watching)
    profile = tmp_path / "p.yaml"
    profile.write_text(f"sqlite_path: {tmp_path / 'no-such.sqlite3'}\n")
    with pytest.raises(RunbookError):
        runner.run(str(profile), only="03", run_dir=str(tmp_path / "run"))
    [(name, runtime)] = prepared
    assert name == "03_migrate.ipynb"  # started before the check that failed
    assert all(_gone(pid) for pid in spawned)
    assert _kernel_children() == []
    assert runtime.name.startswith(run_folder.RUNTIME_PREFIX) and not runtime.exists()
    assert not (tmp_path / "run").exists()  # and the run wrote nothing


def test_a_kernel_closed_while_it_starts_or_once_started_is_killed(tmp_path):
    book = _book(tmp_path / "b.ipynb", nbformat.v4.new_code_cell("1"))
    for wait_for_process in (False, True):
        spawned: list[int] = []
        with run_folder.kernel_runtime() as runtime:
            kernels = _recording(spawned)(runtime)
            kernels.prepare(book)
            if wait_for_process:  # closed after the process exists, before it is ready
                deadline = time.monotonic() + 60
                while not spawned and time.monotonic() < deadline:
                    time.sleep(0.01)
                assert spawned
            kernels.close()
        assert all(_gone(pid) for pid in spawned)
        assert _kernel_children() == []


def test_the_kernel_started_ahead_is_private_in_batch_mode_and_keeps_no_history(tmp_path):
    """runner._kernels: umask 077 and RUNBOOK_BATCH for the kernel started before the run
    folder exists; IPython's history stays in memory (not written to IPYTHONDIR)."""
    ipython = tmp_path / "ipython"
    book = _book(tmp_path / "b.ipynb", nbformat.v4.new_code_cell(
        "import os\nm = os.umask(0)\nos.umask(m)\n"
        "print(oct(m), os.environ.get('RUNBOOK_BATCH'), os.environ.get('RUNBOOK_HOME'))"))
    out = tmp_path / "out.ipynb"
    old = os.umask(0o022)
    try:
        os.environ["IPYTHONDIR"] = str(ipython)
        with runner._kernels([book]) as kernels:
            km = kernels.take(book)
            assert km is not None
            runner._execute(book, out, {}, kernels.runtime, km)
            kernels.retire(km)
    finally:
        os.umask(old)
        del os.environ["IPYTHONDIR"]
    umask, batch, home = nbformat.read(out, as_version=4).cells[0].outputs[0]["text"].split()
    assert int(umask, 8) & 0o077 == 0o077
    assert (batch, home) == ("1", str(runner.paths.project_root()))
    assert not list(ipython.rglob("history.sqlite"))
    assert _kernel_children() == []


def test_a_kernel_that_died_is_reported_in_the_runs_language(tmp_path):
    import asyncio

    book = _book(tmp_path / "b.ipynb", nbformat.v4.new_code_cell("1"))
    with run_folder.kernel_runtime() as runtime:
        kernels = Kernels(runtime)
        try:
            kernels.prepare(book)
            km = kernels.take(book)
            km.provisioner.process.kill()
            km.provisioner.process.wait()
            kc = km.client()
            kc.start_channels()
            future = asyncio.run_coroutine_threadsafe(connected(km, kc, timeout=30),
                                                      kernels.loop)
            with pytest.raises(KernelDied) as err:
                future.result(timeout=60)
            kc.stop_channels()
            assert "ipykernel" in err.value.hint_in("en")
            assert "커널" in err.value.message_in("ko") and "--resume" in err.value.hint_in("ko")
            kernels.retire(km)
        finally:
            kernels.close()
