"""A pool of parser processes, supervised through public ``multiprocessing`` APIs only.

``concurrent.futures.ProcessPoolExecutor`` shares one result pipe between its workers: a worker
killed while it wrote a result left half a message in it, and the executor then waited for the
rest forever (an ingest hung for hours); unblocking it took its private attributes. Here each
worker has a pipe of its own, read by a thread of its own in this process: a worker that dies,
mid-result or not, is an end of file on its pipe, which breaks the pool at once.

The pool fails as the executor does: once a worker is dead, every task not done yet raises
``BrokenProcessPool`` and the caller starts a new pool (see ``pipeline._Parser.recover``).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

from .parsing.worker import serve

T = TypeVar("T")


@dataclass
class _Task:
    function: Callable[..., Any]
    args: tuple[Any, ...]
    future: Future[Any]


class WorkerPool:
    """``workers`` spawned processes running ``parsing.worker.serve``; ``submit`` returns a
    ``Future``. The workers exit when this process dies (``watch_parent``), or at ``shutdown``."""

    def __init__(self, workers: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._tasks: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self.broken = False
        self.processes: list[BaseProcess] = []
        self._threads: list[threading.Thread] = []
        for _ in range(max(1, workers)):
            ours, theirs = context.Pipe()
            process = context.Process(target=serve, args=(theirs, os.getpid()), daemon=True,
                                      name="emailtrack-parser")
            process.start()
            theirs.close()  # the worker's end is the worker's alone: its death is our end of file
            thread = threading.Thread(target=self._feed, args=(ours,), daemon=True,
                                      name="emailtrack-parser-feed")
            thread.start()
            self.processes.append(process)
            self._threads.append(thread)

    def submit(self, function: Callable[..., T], *args: Any) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            if self.broken:
                raise BrokenProcessPool("a parser process died")
            self._tasks.put(_Task(function, args, future))
        return future

    def lost_a_worker(self) -> bool:
        """Whether a worker has exited. One that died while idle is otherwise found only when
        its feeding thread hands it a task, and the others may take every task first."""
        return any(process.exitcode is not None for process in self.processes)

    def _feed(self, conn: Connection) -> None:
        """Hand tasks to one worker, one at a time, and set their results."""
        try:
            while (task := self._tasks.get()) is not None:
                if not task.future.set_running_or_notify_cancel():
                    continue
                try:
                    conn.send((task.function, task.args))
                    done, value = conn.recv()
                except (EOFError, OSError):
                    # the worker died (killed, out of memory, or a message that kills it)
                    task.future.set_exception(BrokenProcessPool("a parser process died"))
                    self._break()
                    return
                if done:
                    task.future.set_result(value)
                else:
                    task.future.set_exception(value)
            conn.send(None)  # shutdown: the worker exits
        except (EOFError, OSError):
            pass
        finally:
            conn.close()

    def _break(self) -> None:
        """Fail every task not started, stop every worker and let every feeding thread end."""
        with self._lock:
            if self.broken:
                return
            self.broken = True
            while True:
                try:
                    task = self._tasks.get_nowait()
                except queue.Empty:
                    break
                if task is not None and task.future.set_running_or_notify_cancel():
                    task.future.set_exception(BrokenProcessPool("a parser process died"))
            for _ in self._threads:
                self._tasks.put(None)
        for process in self.processes:
            process.kill()  # a thread still waiting on a live worker gets its end of file

    def shutdown(self) -> None:
        """Let the workers finish the tasks handed to them, then stop them (at once when broken)."""
        with self._lock:
            if not self.broken:
                for _ in self._threads:
                    self._tasks.put(None)
        for thread in self._threads:
            thread.join()
        for process in self.processes:
            process.join()
