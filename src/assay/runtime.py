"""Process-wide helpers of the running server, shared by its layers."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_gc_lock = threading.Lock()
_gc_pausers = 0


@contextmanager
def gc_paused() -> Iterator[None]:
    """No automatic cyclic garbage collection meanwhile (process-wide; nested and concurrent
    uses are counted, collection resumes when the last one ends).

    Bulk work (a 10k-task import, a chunk of scores) builds millions of small dicts and lists,
    none of them in cycles, that all stay alive until the work ends; every automatic
    collection walks all of them again, which costs more than the work itself. Reference
    counting still frees everything as usual; cycles made meanwhile are collected later.
    """
    global _gc_pausers
    with _gc_lock:
        _gc_pausers += 1
        if _gc_pausers == 1:
            gc.disable()
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0:
                gc.enable()
