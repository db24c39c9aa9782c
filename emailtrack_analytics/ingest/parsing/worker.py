"""What a parser process runs: parse messages and compress their bytes.

Worker processes are started with ``spawn`` and import only what the functions they are handed
live in. This module imports the parsing modules and the standard library, not DuckDB, Arrow or
pandas: a worker starts in about 0.12 s and 23 MB instead of 0.36 s and 80 MB.
"""

from __future__ import annotations

import os
import threading
import time
import zlib

from .message import Unparseable, parse_message


def compress(raw: bytes) -> bytes:
    return zlib.compress(raw, 1)


def decompress(blob: bytes) -> bytes:
    return zlib.decompress(blob)


def parse_item(item: tuple):
    """Parse one message: (record, compressed bytes), or (reason, detail).

    ``item`` is (bytes, mbox From line), and the content key when the reader has computed it."""
    data, from_line, *key = item
    try:
        return parse_message(data, from_line=from_line, key=key[0] if key else None), compress(data)
    except Unparseable as exc:
        return (exc.reason, exc.detail)
    except RecursionError:
        return ("parse_error", "message structure nested too deeply")


def parse_many(parse, items) -> list:
    return [parse(item) for item in items]


def watch_parent(parent: int) -> None:
    """Exit when the process that started this worker is gone (killed with ``kill -9``, or by
    the out-of-memory killer), instead of waiting for work forever."""
    def watch():
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)
    threading.Thread(target=watch, daemon=True, name="watch-parent").start()
