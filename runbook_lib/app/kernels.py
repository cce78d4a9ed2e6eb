"""Kernels started ahead and shut down behind, so a stage does not wait for either.

Each stage of `runbook run` still runs in a fresh kernel of its own. While one stage runs, the
kernel of the next one starts (in the run's private runtime folder, IPC sockets) and imports
the modules that stage's notebook imports, silently (no output, no execution count: the
notebook reads exactly as if the kernel had just started); a finished stage's kernel shuts
down in the background. Everything kernel-related runs on one event loop in its own thread,
where the kernel managers' sockets live. A kernel that fails to start ahead is simply not
used: papermill then starts one as before.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
from concurrent.futures import Future
from pathlib import Path

from . import run_folder

STARTUP_TIMEOUT = 60
IMPORTS = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import\b|import\s+([\w.]+))", re.M)
ALWAYS = ("runbook_lib.core.display",)  # what load_settings imports in every stage


def warm_modules(book: Path) -> list[str]:
    """The modules a notebook's code cells import (plus those every stage imports)."""
    import json

    cells = json.loads(book.read_text(encoding="utf-8")).get("cells", [])
    found = list(ALWAYS)
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell.get("source", []))
        for a, b in IMPORTS.findall(source):
            name = a or b
            if name not in found and re.fullmatch(r"[A-Za-z_][\w.]*", name):
                found.append(name)
    return found


class Kernels:
    """Start a stage's kernel ahead (`prepare`), hand it over (`take`), retire it (`retire`).

    `env`: variables the kernels get on top of this process's environment (the run's batch
    mode, set before the runner changes its own environment). `close` kills the kernels started
    ahead and never taken (they ran nothing of a stage), at once, even while they start.
    """

    def __init__(self, runtime: Path, env: dict[str, str] | None = None) -> None:
        self.runtime = runtime
        self.env = dict(env or {})
        self.manager = run_folder.kernel_manager(runtime)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="kernels",
                                       daemon=True)
        self.thread.start()
        self.ahead: dict[str, Future] = {}
        self.starting: dict[str, asyncio.Task] = {}  # the loop's tasks behind `ahead`
        self.stopping: list[Future] = []

    def _submit(self, coro) -> Future:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def prepare(self, book: Path) -> None:
        """Start the kernel for `book` now, in the background."""
        if str(book) not in self.ahead:
            self.ahead[str(book)] = self._submit(self._start(book))

    async def _start(self, book: Path):
        self.starting[str(book)] = asyncio.current_task()
        km = self.manager(kernel_name="python3")
        try:
            await km.start_kernel(cwd=str(book.parent), env={**os.environ, **self.env})
            kc = km.client()
            kc.start_channels()
            try:
                await kc.wait_for_ready(timeout=STARTUP_TIMEOUT)
                for name in warm_modules(book):  # one request each: a failing import is skipped
                    kc.execute(f"__import__({name!r})", silent=True, store_history=False)
                await kc.execute("pass", silent=True, store_history=False, reply=True,
                                 timeout=STARTUP_TIMEOUT)
            finally:
                kc.stop_channels()
        except BaseException:  # failed or cancelled (`close`): no kernel left behind
            await self._kill(km)
            raise
        return km

    @staticmethod
    async def _kill(km) -> None:
        try:
            if km.has_kernel:
                await km.shutdown_kernel(now=True)
        finally:
            await km.cleanup_resources()

    def take(self, book: Path):
        """The kernel started for `book`, ready; None if it was not started or failed."""
        future = self.ahead.pop(str(book), None)
        if future is None:
            return None
        try:
            km = future.result(timeout=STARTUP_TIMEOUT + 10)
        except Exception:  # noqa: BLE001 - papermill starts its own kernel instead
            return None
        finally:
            self.starting.pop(str(book), None)
        return km

    def retire(self, km) -> None:
        """Shut a stage's kernel down in the background."""
        if km is not None:
            self.stopping.append(self._submit(self._stop(km)))

    @staticmethod
    async def _stop(km) -> None:
        try:
            if await km.is_alive():
                await km.shutdown_kernel()
        finally:
            await km.cleanup_resources()

    async def _abort(self, key: str) -> None:
        """Cancel a kernel still starting (its `_start` kills it) or kill one never taken."""
        await asyncio.sleep(0)  # a `_start` submitted just before has registered its task
        task = self.starting.pop(key, None)
        if task is None:
            return
        task.cancel()
        try:
            km = await task
        except BaseException:  # noqa: BLE001 - cancelled or failed: `_start` cleaned up
            return
        await self._kill(km)

    def close(self) -> None:
        """Kill the kernels started ahead and not taken, wait for the retired ones to shut
        down, stop the loop."""
        for key in list(self.ahead):
            self.ahead.pop(key)
            self.stopping.append(self._submit(self._abort(key)))
        for future in self.stopping:
            try:
                future.result(timeout=STARTUP_TIMEOUT)
            except Exception:  # noqa: BLE001,S110 - a kernel that is gone already
                pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


__all__ = ["Kernels", "warm_modules"]
