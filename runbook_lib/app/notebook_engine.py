"""The papermill engine `runbook run` uses: papermill's nbclient engine, with these changes.

- It runs the notebook in a kernel started ahead (`app.kernels`) when one is given (`km`),
  connects to it without `wait_for_ready`'s 0.2 s IOPub drain (`kernels.connected`), and
  closes its own connection to that kernel afterwards (the kernel is shut down by its
  owner, in the background).
- `first_cell`: a function called once, when the first cell starts (the runner loads
  nbconvert then, so that work does not delay the first cell).
- While cells run, the executed notebook is written at most every SAVE_EVERY seconds instead
  of twice per cell (each write validates and serialises the whole notebook: ~5 ms, 0.4 s per
  stage); it is always written when the stage starts and when it ends, failed or not.
"""

from __future__ import annotations

import time

from . import kernels

NAME = "runbook"
SAVE_EVERY = 1.0
_registered: list[str] = []


def register() -> str:
    """Register the engine with papermill (once); its name for `execute_notebook`."""
    if _registered:
        return NAME
    from nbclient.util import run_hook, run_sync
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines
    from papermill.log import logger
    from papermill.utils import merge_kwargs, remove_args

    class Manager(NotebookExecutionManager):
        first_cell = None  # called once, when the first cell starts

        def cell_start(self, cell, cell_index=None, **kwargs):
            super().cell_start(cell, cell_index, **kwargs)
            if self.first_cell is not None:
                hook, self.first_cell = self.first_cell, None
                hook()

        def save(self, **kwargs):
            last = getattr(self, "_runbook_saved", None)
            final = self.end_time is not None
            if final or last is None or time.monotonic() - last >= SAVE_EVERY:
                super().save(**kwargs)
                self._runbook_saved = time.monotonic()

    class Client(PapermillNotebookClient):
        async def async_start_new_kernel_client(self):
            if self.owns_km:  # a kernel papermill started: its usual checks
                return await super().async_start_new_kernel_client()
            self.kc = self.km.client()
            self.kc.start_channels()
            try:
                await kernels.connected(self.km, self.kc, self.startup_timeout)
            except BaseException:
                self.kc.stop_channels()
                raise
            self.kc.allow_stdin = False
            await run_hook(self.on_notebook_start, notebook=self.nb)
            return self.kc

        # papermill calls the synchronous name, bound to nbclient's own coroutine
        start_new_kernel_client = run_sync(async_start_new_kernel_client)

    class Engine(NBClientEngine):
        @classmethod
        def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True,
                             log_output=False, autosave_cell_every=30, first_cell=None,
                             **kwargs):
            nb_man = Manager(nb, output_path=output_path, progress_bar=progress_bar,
                             log_output=log_output, autosave_cell_every=autosave_cell_every)
            nb_man.first_cell = first_cell
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output,
                                             **kwargs)
            finally:
                nb_man.cleanup_pbar()
                nb_man.notebook_complete()
            return nb_man.nb

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False,
                                     stdout_file=None, stderr_file=None, start_timeout=60,
                                     execution_timeout=None, **kwargs):
            kwargs = remove_args(["input_path"], **kwargs)
            safe = remove_args(["timeout", "startup_timeout"], **kwargs)
            final = merge_kwargs(safe, timeout=execution_timeout or kwargs.get("timeout"),
                                 startup_timeout=start_timeout, kernel_name=kernel_name,
                                 log=logger, log_output=log_output, stdout_file=stdout_file,
                                 stderr_file=stderr_file)
            client = Client(nb_man, **final)
            try:
                return client.execute()
            finally:
                if not client.owns_km and getattr(client, "kc", None) is not None:
                    client.kc.stop_channels()

    papermill_engines.register(NAME, Engine)
    _registered.append(NAME)
    return NAME


__all__ = ["NAME", "SAVE_EVERY", "register"]
