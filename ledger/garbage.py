"""Fewer runs of the cyclic garbage collector while a step makes many objects that live on.

At the default thresholds the collector runs every 700 new container objects and, each time the
young generations are promoted, rescans everything still alive: recording many commands, or decoding
the status records of a whole registry, then spends a fifth or more of its time there. The objects
these steps make hold no reference cycles, so collecting less often holds no memory longer.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def fewer_collections(young: int = 10_000) -> Iterator[None]:
    previous = gc.get_threshold()
    gc.set_threshold(young, 10, 10)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
