"""Worker pools that die with the build, and SIGTERM handled like Ctrl-C.

A build's workers are forked children. Without care they outlive a killed
parent: nothing tells them it is gone, they hold 50 MB (1 GB+ for scancode)
each, and they keep the caller's stdout/stderr pipes open, so whatever reads the
build's output never sees EOF. So every worker (1) asks the kernel for SIGKILL
when its parent dies (Linux ``PR_SET_PDEATHSIG``) and (2) points its fds 1 and 2
at /dev/null: workers never print, and their errors travel back through the futures.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.context import BaseContext
from typing import Any

_PR_SET_PDEATHSIG = 1


def _set_parent_death_signal() -> None:
    """Have the kernel SIGKILL this process when its parent dies (Linux only; a no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes  # here, not at module level: the scan path imports this module's importers

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # no libc symbol (static or odd builds): best effort
        pass


def _detach_stdio() -> None:
    """Point fds 1 and 2 at /dev/null, so a dead build's pipe reader sees EOF.

    No flush first: a forked worker's stdio buffers hold the parent's unwritten
    output, which must not be written twice."""
    fd = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
    finally:
        os.close(fd)


def _worker_init(parent: int, tie: bool, inner: Callable[..., None] | None, args: tuple[Any, ...]) -> None:
    """Pool initializer: tie the worker to ``parent``, drop inherited stdio, then run ``inner``."""
    if tie:
        _set_parent_death_signal()
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)
    _detach_stdio()
    # The parent's SIGTERM handler (sigterm_as_interrupt) is not the worker's business.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if inner is not None:
        inner(*args)


def make_pool(workers: int, *, mp_context: BaseContext | None = None,
              initializer: Callable[..., None] | None = None,
              initargs: tuple[Any, ...] = ()) -> ProcessPoolExecutor:
    """A ProcessPoolExecutor whose workers die with this process and hold none of its stdio.

    The parent-death signal fires when the *thread* that forked a worker exits, so it
    is only set for pools created on the main thread: a pool made (and kept, like the
    scancode pool) by a short-lived thread would otherwise lose its workers early."""
    tie = threading.current_thread() is threading.main_thread()
    return ProcessPoolExecutor(workers, mp_context=mp_context, initializer=_worker_init,
                               initargs=(os.getpid(), tie, initializer, initargs))


def kill_pool(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: drop queued work and terminate its workers (no waiting for running tasks)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        with contextlib.suppress(Exception):
            p.terminate()
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(5)


@contextlib.contextmanager
def worker_pool(workers: int, **kw: Any) -> Iterator[ProcessPoolExecutor]:
    """``make_pool`` as a context: a normal exit waits for the workers; any exception
    (Ctrl-C, SIGTERM, a closed generator) kills them instead of finishing queued work."""
    pool = make_pool(workers, **kw)
    try:
        yield pool
    except BaseException:
        kill_pool(pool)
        raise
    pool.shutdown(wait=True)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so the same cleanup (finally, context exits) runs."""


_HANDLER_PID = 0
"""The process that installed the SIGTERM handler; forked workers inherit the handler."""


def _on_sigterm(signum: int, frame: Any) -> None:
    if os.getpid() != _HANDLER_PID:
        # A forked worker (kill_pool terminates them): die as SIGTERM means to. Raising
        # here would run the worker's exit path, which can block on its queues' feeder threads.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        return
    raise Terminated("terminated")


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` (a KeyboardInterrupt) in the main
    thread, so temp files and workers are cleaned up as for Ctrl-C. Elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    global _HANDLER_PID
    _HANDLER_PID = os.getpid()
    old = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
