"""The map step on a Dask cluster: ``emailtrack ingest --scheduler tcp://HOST:8786 PATH...``.

Each shard becomes one Dask task running ``shards.map_shard`` on a worker; its batch (Arrow IPC
bytes) comes back here, where the reduce appends it to the workspace's database, in shard order,
as a local ingest does: the stored result is the same. The workers read the input files
themselves, so the paths given must name the same files on every worker (a shared filesystem:
NFS, a cluster's scratch space, a bind mount in the same place), or be URLs of an object store
(``s3://bucket/exports/``), which every worker opens itself (``sources/remote.py``).

A worker that dies while it maps a shard (killed, out of memory) loses nothing: the scheduler
runs the task again on another worker; after ``distributed.scheduler.allowed-failures`` deaths
(a shard holding a message that kills its parser every time), the shard is read and parsed here,
one message per task, and that message alone is quarantined ``parser_crashed``, as in a local
ingest. Dask is an optional dependency: ``pip install 'emailtrack-analytics[dask]'``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .parsing.worker import Item, ParseResult, parse_item
from .shards import Batch, Shard, map_shard, shard_keys

CONNECT_TIMEOUT = "20s"


class InputNotShared(Exception):
    """A Dask worker cannot see an input file where this machine sees it."""


def _check_shared(shard: Shard) -> None:
    """A reader would quarantine a missing file as unreadable, while it is there, on another
    machine: a worker that does not see a file refuses the shard instead. An object of a store
    is where its URL says for every worker: one that cannot be read is quarantined there."""
    for item in shard.files:
        if isinstance(item.path, Path) and not os.path.lexists(item.path):
            raise InputNotShared(f"{item.path} does not exist on Dask worker {os.uname().nodename}")


def map_on_worker(shard: Shard, parse: Callable[[Item], ParseResult] = parse_item,
                  only: frozenset[str] | None = None) -> Batch:
    """``map_shard`` on a worker that sees the shard's files."""
    _check_shared(shard)
    return map_shard(shard, parse, only)


def keys_on_worker(shard: Shard) -> bytes:
    """``shard_keys`` on a worker that sees the shard's files."""
    _check_shared(shard)
    return shard_keys(shard)


def connect(scheduler: str) -> Any:
    """A client of the Dask scheduler at ``scheduler`` (``tcp://HOST:8786``), or UsageError."""
    try:
        from distributed import Client
    except ImportError:
        raise UsageError("--scheduler needs Dask: pip install 'emailtrack-analytics[dask]'") from None
    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None


class _DaskTask:
    def __init__(self, mapper: DaskMapper, shard: Shard, future: Any) -> None:
        self.mapper, self.shard, self.future = mapper, shard, future

    def get(self) -> Batch:
        from distributed import KilledWorker
        try:
            batch: Batch = self.future.result()
            return batch
        except KilledWorker:
            # the shard killed a worker every time it ran: find the message here, one at a time
            self.mapper.recovered += 1
            return self.mapper.recover(self.shard)
        except InputNotShared as exc:
            raise _not_shared(exc) from None
        finally:
            self.future.release()


def _not_shared(exc: InputNotShared) -> UsageError:
    return UsageError(f"{exc}: the paths given to --scheduler must name the same files on every worker "
                      "(a shared filesystem)")


class DaskMapper:
    """Hands shards to a Dask cluster, each parsed with ``parse``; ``recover`` maps here a shard
    whose task killed its workers (``pipeline.recover_shard``: one message per task)."""

    def __init__(self, scheduler: str, parse: Callable[[Item], ParseResult], recover: Callable[[Shard], Batch],
                 client: Any | None = None) -> None:
        self.client = client if client is not None else connect(scheduler)
        self.owned = client is None
        self.parse, self.recover = parse, recover
        self.recovered = 0     # shards mapped here after they killed their workers

    @property
    def slots(self) -> int:
        """Tasks the cluster runs at once (its workers' threads)."""
        return max(1, sum(self.client.nthreads().values()))

    def submit(self, shard: Shard, only: frozenset[str] | None = None) -> _DaskTask:
        return _DaskTask(self, shard, self.client.submit(map_on_worker, shard, self.parse, only, pure=False))

    def keys(self, shard: Shard) -> bytes:
        future = self.client.submit(keys_on_worker, shard, pure=False)
        try:
            keys: bytes = future.result()
            return keys
        except InputNotShared as exc:
            raise _not_shared(exc) from None
        finally:
            future.release()

    def close(self) -> None:
        if self.owned:
            self.client.close()
