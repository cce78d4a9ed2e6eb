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
import time
from concurrent.futures import Future
from pathlib import Path

from ..core.errors import RunbookError
from . import run_folder

STARTUP_TIMEOUT = 60
IMPORTS = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import\b|import\s+([\w.]+))", re.M)
ALWAYS = ("runbook_lib.core.display", "pandas")  # what load_settings imports in every stage
# as nbclient starts its kernels: the cells' history in memory, not in ~/.ipython
KERNEL_ARGS = ["--HistoryManager.hist_file=:memory:"]


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


class KernelDied(RunbookError):
    """A stage's kernel exited before it answered."""


ERRORS = {
    "died": {"en": "The stage's Python kernel exited before it answered.",
             "ko": "단계의 파이썬 커널이 응답하기 전에 종료되었습니다."},
    "died_fix": {"en": "Continue the run (runbook run --resume). If it happens again, check that "
                       "the kernel starts: .venv/bin/python -m ipykernel --version; reinstall "
                       "with make .venv/.installed.",
                 "ko": "실행을 이어서 하세요(runbook run --resume). 다시 일어나면 커널이 시작되는지 "
                       "확인하세요: .venv/bin/python -m ipykernel --version. 다시 설치하려면 "
                       "make .venv/.installed."},
}


async def connected(km, kc, timeout: float = STARTUP_TIMEOUT) -> None:
    """Wait until the kernel answers on its shell channel and its IOPub channel reaches `kc`
    (what `wait_for_ready` checks, without its 0.2 s of draining IOPub afterwards, paid twice
    per stage: the notebook client ignores messages of requests it did not send)."""
    from queue import Empty

    deadline = time.monotonic() + timeout
    while True:
        msg_id = kc.kernel_info()
        try:
            while True:
                reply = await kc.shell_channel.get_msg(timeout=1)
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
            await kc.iopub_channel.get_msg(timeout=0.2)  # this request's busy/idle status
            return
        except Empty:
            pass
        if not await km.is_alive():
            raise KernelDied(ERRORS["died"], ERRORS["died_fix"])
        if time.monotonic() > deadline:
            raise TimeoutError


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
            await km.start_kernel(cwd=str(book.parent), env={**os.environ, **self.env},
                                  extra_arguments=KERNEL_ARGS)
            kc = km.client()
            kc.start_channels()
            try:
                await connected(km, kc)
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
        """A shutdown request, then the process waited for (killed if it does not end). Not
        `shutdown_kernel`: it first interrupts the kernel with SIGINT, which a stage's kernel,
        idle by now, does not need and which can land in its shutdown (then it stays up
        until `shutdown_wait_time` runs out: 2.5 s more, and a KeyboardInterrupt printed)."""
        try:
            if await km.is_alive():
                await km.request_shutdown()
                await km.finish_shutdown(pollinterval=0.02)
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


__all__ = ["Kernels", "KernelDied", "connected", "warm_modules"]
