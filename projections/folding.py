"""Every organization's rows from its events, for a whole replay: here, or in worker processes.

A rebuild, the replay that fills a new ledger's views and verify's comparison all fold every
organization's events into its rows. Each organization's rows depend on its events alone, and the
folding is Python work that one processor does at a time: on a machine with more than one, a long
replay hands batches of organizations to worker processes, each of which reads, decodes and folds
its batch from its own connection (the stored events never change, so every process reads the same
ones up to the position asked for) and sends the rows back. The batches come back in the order of
the organizations' registration, whoever folded them, so what a replay writes or compares is the
same either way; only a few batches are under way at once, so memory stays bounded.

``CERTLEDGER_WORKERS`` sets how many worker processes fold a replay: 1 folds in the process that
asks, whatever the length; unset, a replay of ``PARALLEL_FROM`` events or more uses one per usable
processor (below that, starting them would cost more than they save).
"""

from __future__ import annotations

import os
import sys
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Generator, Iterator, Sequence, TypeVar
from uuid import UUID

from ledger.application.log import EventLog
from ledger.errors import InvalidInput, StorageError
from projections.tables import TableRows, stored_rows

if TYPE_CHECKING:
    from concurrent.futures import Future

REPLAY_ORGANIZATIONS = 100  # organizations read, decoded and folded together during a replay
PARALLEL_FROM = 20_000  # events: a shorter replay is over before worker processes would have started
WORKERS_VARIABLE = "CERTLEDGER_WORKERS"
MAX_WORKERS = 256  # more processes than that would only share the same processors
IN_FLIGHT_PER_WORKER = 2  # batches handed out ahead of the one being consumed, per worker
PARENT_CHECK_SECONDS = 0.5  # how often a worker looks whether the process that started it is still there
ReplayProgress = Callable[[int, int], None]  # (organizations done, organizations in all)
R = TypeVar("R")


@dataclass(frozen=True)
class Folded:
    """One organization's replay: how many events it has, and every row they made, as the tables store them
    (plain tuples: a worker sends them back for a third of what Version objects cost to send and to receive)."""

    org: str
    events: int
    rows: TableRows


def workers_for(events: int) -> int:
    """How many worker processes fold a replay of ``events`` events (0: the asking process folds it)."""
    setting = os.environ.get(WORKERS_VARIABLE, "").strip()
    if setting:
        # Digits 0-9 only, and few of them: int() of thousands of digits is itself an error.
        if not (setting.isascii() and setting.isdigit() and len(setting) <= 3) or not 1 <= int(setting) <= MAX_WORKERS:
            raise InvalidInput(f"{WORKERS_VARIABLE} must be a whole number of processes, 1 to {MAX_WORKERS} "
                               f"(1: no worker processes), not {setting!r}")
        workers = int(setting)
        return 0 if workers == 1 else workers
    if events < PARALLEL_FROM:
        return 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return usable if usable > 1 else 0


def folded_batches(log: EventLog, upto: int, organizations: int = REPLAY_ORGANIZATIONS,
                   progress: ReplayProgress | None = None, *, workers: int | None = None
                   ) -> Iterator[list[Folded]]:
    """Every organization's rows up to position ``upto``, a batch of organizations at a time, in registration
    order. ``progress(done, total)`` is told after each batch; ``workers`` defaults to ``workers_for(upto)``."""
    for batch in by_organizations(log, fold, (upto,), events=upto, organizations=organizations, progress=progress,
                                  workers=workers):
        if batch:
            yield batch


def fold(log: EventLog, originators: Sequence[UUID], upto: int) -> list[Folded]:
    """The rows of a few organizations, read with one query."""
    from projections.rows import versions

    return [Folded(entries[0].event.org, len(entries), stored_rows(versions(entries)))
            for entries in log.entries(originators, upto)]


def by_organizations(log: EventLog, task: Callable[..., R], args: tuple[Any, ...], *, events: int,
                     organizations: int = REPLAY_ORGANIZATIONS, progress: ReplayProgress | None = None,
                     workers: int | None = None) -> Iterator[R]:
    """``task(log, originators, *args)`` for every batch of ``organizations`` organizations, in registration order:
    here, or in worker processes (``workers``, by default ``workers_for(events)``), each with its own connection
    to the ledger. ``task`` is a module-level function, which a worker finds by name."""
    originators = log.organization_ids()
    chunks = [originators[start:start + organizations] for start in range(0, len(originators), organizations)]
    workers = workers_for(events) if workers is None else workers
    results: Generator[R, None, None] = (in_workers(log.db, task, args, chunks, workers)
                                         if workers and len(chunks) > 1
                                         else (task(log, chunk, *args) for chunk in chunks))
    done = 0
    try:
        for index, result in enumerate(results):
            done += len(chunks[index])
            yield result
            if progress is not None:
                progress(done, len(originators))
    finally:
        results.close()  # a consumer that stops early: no worker left working for nobody


def in_workers(db: str, task: Callable[..., R], args: tuple[Any, ...], chunks: Sequence[list[UUID]],
               workers: int) -> Generator[R, None, None]:
    """``task`` of each chunk in worker processes, the results in the chunks' order.

    The workers are started fresh ("spawn"), not forked: a fork would share the asking process's open
    database connections (a PostgreSQL connection closed in a child is closed for its parent too).
    Imported here: a command that replays nothing long never loads the process machinery.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start_worker, initargs=(db, os.getpid()))
    pending: deque[Future[R]] = deque()
    waiting = iter(chunks)
    try:
        with main_program_left_out():  # the pool starts its workers with the first tasks
            for chunk in waiting:
                pending.append(pool.submit(_in_worker, task, chunk, args))
                if len(pending) >= workers * IN_FLIGHT_PER_WORKER:
                    break
        while pending:
            result = pending.popleft().result()
            for chunk in waiting:
                pending.append(pool.submit(_in_worker, task, chunk, args))
                break
            yield result
    except BrokenProcessPool:
        raise StorageError("a worker process ended unexpectedly (out of memory?); "
                           f"set {WORKERS_VARIABLE}=1 to do the work in one process") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def main_program_left_out() -> Iterator[None]:
    """Start workers that do not run the asking program again.

    A started ("spawned") worker first runs the asking program's main module again, so that functions defined
    there can be found by name; a script without the ``if __name__ == "__main__":`` guard would then do all it
    does (record, rebuild...) once more in every worker. The workers need nothing of it (their tasks live in
    this package), so while they start, the main module names no file and no module, as when Python runs
    ``-c``: then multiprocessing leaves it alone (``multiprocessing.spawn.get_preparation_data``).
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved = {name: main.__dict__[name] for name in ("__file__", "__spec__") if name in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__spec__ = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


_worker_log: EventLog | None = None  # each worker's own connection to the ledger, opened once


def _start_worker(db: str, asker: int) -> None:
    global _worker_log
    import threading

    from ledger.application.ledger import CertificationLedger

    threading.Thread(target=_end_with, args=(asker,), daemon=True, name="end-with-asker").start()
    _worker_log = CertificationLedger(db, must_exist=True).log


def _end_with(asker: int) -> None:
    """End this worker when the process that asked for the work is gone (killed, say): the pool's queues
    would keep it waiting for tasks forever, holding a connection to the ledger."""
    import time

    while os.getppid() == asker:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)


def _in_worker(task: Callable[..., R], originators: list[UUID], args: tuple[Any, ...]) -> R:
    assert _worker_log is not None, "the worker's initializer opens the ledger"
    return task(_worker_log, originators, *args)
