"""Import: a file of recording commands, through the one write pipeline, as the lines of one submission.

JSON Lines or CSV are read line by line and recorded inside ONE write transaction: a bad line
anywhere rolls back the whole file, and ``check`` decides every line without writing anything,
listing every bad one. Memory stays bounded whatever the file size (the pipeline keeps a bounded
working set of organizations). A line whose import key is already stored is skipped, so importing
a file twice, or an export into the ledger it came from, records nothing new. See
docs/import-export.md.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Callable, Iterable, Iterator

from ledger.application.recording import BATCH_SIZE, MAX_CACHED_EVENTS, Options, Outcome
from ledger.errors import InvalidInput
from ledger.transfer.line_files import named_format, read_lines

if TYPE_CHECKING:
    from ledger.application.ledger import CertificationLedger


@dataclass(frozen=True)
class ImportSummary:
    source: str
    recorded: int
    skipped: int
    seconds: float
    first_position: int | None
    last_position: int | None
    errors: tuple[str, ...] = ()
    error_count: int = 0
    checked: bool = False

    def describe(self) -> str:
        if self.checked:
            if not self.error_count:
                return (f"Checked {self.source}: every line can be recorded ({self.recorded} new, "
                        f"{self.skipped} already present); nothing was written")
            more = f" (the first {len(self.errors)} are listed)" if self.error_count > len(self.errors) else ""
            return f"Checked {self.source}: {self.error_count} bad lines{more}; nothing was written"
        return (f"Imported {self.recorded} events ({self.skipped} skipped as already present) "
                f"from {self.source} in {self.seconds:.1f} s")

    def as_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {"source": self.source, "recorded": self.recorded, "skipped": self.skipped,
                                  "seconds": round(self.seconds, 3), "first_position": self.first_position,
                                  "last_position": self.last_position}
        if self.checked:
            result.update(checked=True, errors=list(self.errors), error_count=self.error_count)
        return result


def import_file(ledger: CertificationLedger, path: str, *, fmt: str | None = None, by: str | None = None,
                progress: Callable[[int], None] | None = None, check: bool = False,
                on_wait: Callable[[], None] | None = None) -> ImportSummary:
    """Import a JSON Lines or CSV file (``-``: standard input) atomically, or only ``check`` it."""
    fmt = named_format(path, fmt)  # None: read_lines decides by the first line
    started = time.perf_counter()
    with _open_source(path) as stream:
        reader, lines = read_lines(stream, fmt)
        report = (lambda: progress(reader.bytes_read)) if progress is not None else None
        options = Options(lines=True, check=check, keep_entries=False, on_batch=report, on_wait=on_wait)
        outcome = ledger.record_lines(lines, by=by, options=options)
    return summary_of("stdin" if path == "-" else path, outcome, time.perf_counter() - started, check)


def import_lines(ledger: CertificationLedger, lines: Iterable[Any], *, by: str | None = None,
                 batch_size: int | None = None, max_cached_events: int | None = None,
                 check: bool = False) -> ImportSummary:
    """Import commands already read (mappings in the import format, or Commands), numbered from 1."""
    started = time.perf_counter()
    options = Options(lines=True, check=check, keep_entries=False, batch_size=batch_size or BATCH_SIZE,
                      max_cached_events=max_cached_events or MAX_CACHED_EVENTS)
    outcome = ledger.record_lines(enumerate(lines, start=1), by=by, options=options)
    return summary_of("lines", outcome, time.perf_counter() - started, check)


def summary_of(source: str, outcome: Outcome, seconds: float, check: bool) -> ImportSummary:
    return ImportSummary(source, outcome.recorded, outcome.skipped, seconds, outcome.first_position,
                         outcome.last_position, tuple(outcome.errors), outcome.error_count, check)


@contextmanager
def _open_source(path: str) -> Iterator[IO[bytes]]:
    if path == "-":
        yield sys.stdin.buffer
        return
    try:
        stream = open(path, "rb")
    except OSError as error:
        raise InvalidInput(f"cannot read {path}: {error.strerror}") from None
    with stream:
        yield stream
