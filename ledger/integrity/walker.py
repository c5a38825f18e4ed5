"""Verification of the hash chain: does every stored event still match what the ledger recorded?

The chain format is specified in docs/integrity.md and defined by ``ledger.storage.chain``, which the
writer uses too.
The verifier streams chain entries joined with their event rows in seq order, in batches, and
recomputes each entry's hash from the stored event and the *stored* hash of the entry before it,
so that each damaged entry is found where it is, not only the first. It then looks for event rows
that no chain entry points at, and (optionally) checks that the chain still extends a head.

Because each entry is checked against the stored hash of the one before it, not a recomputed one, the
walk splits: a long chain's second half is walked in a forked process while this one walks the first
(``SecondHalf``), which on two processors takes about half the time, and finds exactly what one walk does.

It reads the database only through the storage boundary's three integrity queries
(``select_chain_and_events`` and its two siblings).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence
from uuid import UUID

from ledger.errors import IntegrityFailure
from ledger.storage import LedgerStorage, database_errors
from ledger.storage.chain import ENTRY_FORMAT, GENESIS_HASH, TIMESTAMP_WITHIN, canonical_id, expected_recorded_at

BATCH_SIZE = 10_000
BEFORE_ANY_SEQ = -(2**63)  # seqs start at 1, but a forged entry may have any seq: read them all
KEPT_PROBLEMS = 100
# Entries: from this long a chain, its second half is walked in a forked process while this one walks the first
# (a fork costs milliseconds; below this, it would save about what it costs).
SPLIT_FROM = 50_000

# A problem's rank among problems found at the same seq: the most telling first.
ORPHAN, GAP, ENTRY = 0, 1, 2


@dataclass(frozen=True)
class Head:
    """A point of the chain that somebody may have published: the entry with this seq had this hash."""

    seq: int
    entry_hash: bytes
    recorded_at: str | None


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the stored ledger, located as precisely as the evidence allows."""

    seq: int
    what: str
    rank: int = ENTRY
    position: int | None = None
    originator_id: str | None = None
    version: int | None = None

    def located(self, org: str | None) -> str:
        place = [f"org {org}"] if org else []
        if self.version is not None:
            place.append(f"version {self.version}")
        if self.position is not None:
            place.append(f"position {self.position}")
        where = f"seq {self.seq} ({', '.join(place)})" if place else f"seq {self.seq}"
        return f"{where}: {self.what}"


@dataclass
class ChainReport:
    """The outcome of one pass over the chain."""

    events_checked: int = 0
    head: Head = field(default_factory=lambda: Head(0, GENESIS_HASH, None))
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    seconds: float = 0.0

    @property
    def intact(self) -> bool:
        return self.problem_count == 0


def verify_chain(recorder: LedgerStorage, *, head: Head | None = None, batch_size: int = BATCH_SIZE,
                 database: str = "the database", progress: Callable[[int, int], None] | None = None,
                 reopen: Callable[[], LedgerStorage] | None = None) -> ChainReport:
    """Recompute the whole chain from the stored events; report what does not match.

    With ``head``, also prove that the chain still extends it: the entry at ``head.seq`` exists and
    has exactly ``head.entry_hash``. ``database`` names the database in a storage failure.
    ``progress(seq, last seq)`` is called after each batch. ``reopen`` opens the same database anew: given it,
    a long chain's second half is walked in a forked process (``SecondHalf``), on a connection of its own.
    """
    started = time.perf_counter()
    try:
        report = _verify(recorder, head, batch_size, progress, reopen)
    except database_errors() as error:
        raise IntegrityFailure(f"cannot read the hash chain of {database}: {error}") from None
    report.seconds = time.perf_counter() - started
    return report


def _verify(recorder: Any, head: Head | None, batch_size: int,
            progress: Callable[[int, int], None] | None = None,
            reopen: Callable[[], LedgerStorage] | None = None) -> ChainReport:
    walker = ChainWalker(head.seq if head else None, lambda position: _event_at(recorder, position))
    newest = recorder.chain_head() if progress is not None or reopen is not None else None
    last = newest.seq if newest is not None else 0
    middle = last // 2 if reopen is not None and last >= SPLIT_FROM and may_fork() else None
    second = SecondHalf(reopen, middle, batch_size, walker.head_seq) if reopen is not None and middle else None
    try:
        walk_range(recorder, walker, BEFORE_ANY_SEQ, middle, batch_size, progress, last)
        if second is not None:
            second.join(walker)
            if progress is not None:
                progress(last, last)
    finally:
        if second is not None:
            second.stop()
    report = walker.report()
    for position, originator_id, version in recorder.select_unchained_events(KEPT_PROBLEMS):
        report.problem_count += 1
        report.problems.append(Problem(
            recorder.chain_seq_before(position) + 1, "event row has no chain entry (a forged event, or its chain "
            "entry was deleted)", ORPHAN, position, canonical_id(originator_id), version))
    if head is not None:
        _check_head(report, head, walker)
    report.problems.sort(key=lambda p: (p.seq, p.rank, p.position or 0))
    del report.problems[KEPT_PROBLEMS:]
    return report


def walk_range(recorder: Any, walker: ChainWalker, after: int, upto: int | None, batch_size: int,
               progress: Callable[[int, int], None] | None = None, last: int = 0) -> None:
    """Walk the entries with seq > ``after`` (and <= ``upto``, if given) through ``walker``, a batch at a time."""
    while True:
        # Near ``upto``, no more than the entries up to it (seqs run 1, 2, 3, ... unless the chain was damaged).
        limit = batch_size if upto is None or after < 0 else max(1, min(batch_size, upto - after))
        rows = recorder.select_chain_and_events(after, limit)
        ended = len(rows) < limit
        if upto is not None and rows and rows[-1][0] > upto:
            rows, ended = [row for row in rows if row[0] <= upto], True
        if rows:
            walker.walk(rows)
            after = rows[-1][0]
            if progress is not None:
                progress(min(after, last), last)
        if ended:
            break


def may_fork() -> bool:
    """Whether this process may fork a walker: a process with other threads may hold a lock the child would need."""
    return hasattr(os, "fork") and threading.active_count() == 1


class SecondHalf:
    """The entries after ``after``, walked in a forked process on a database connection of its own.

    The child walks from its first entry on as if that entry were accepted; this process then walks that first
    entry itself, after its own half, so that every check that looks back (the seq, the position, the previous
    hash, recorded_at) runs exactly as in one walk, and takes the rest of the child's findings as they are. The
    child sends them through a pipe and leaves with ``os._exit``: nothing of this process's (its connections
    included) is closed or flushed by it.
    """

    def __init__(self, reopen: Callable[[], LedgerStorage], after: int, batch_size: int, head_seq: int | None):
        read, write = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            try:  # the child never returns from here: whatever fails, it leaves, and only through os._exit
                os.close(read)
                try:
                    payload: tuple[str, Any] = ("walked", _walk_second_half(reopen(), after, batch_size, head_seq))
                except BaseException as error:  # noqa: BLE001 - whatever happens, the parent must hear of it
                    payload = ("failed", error if isinstance(error, Exception) and _picklable(error)
                               else RuntimeError(f"{type(error).__name__}: {error}"))
                with os.fdopen(write, "wb") as out:
                    pickle.dump(payload, out)
            finally:
                os._exit(0)
        os.close(write)
        self.pipe = os.fdopen(read, "rb")
        self.answered = False

    def join(self, walker: ChainWalker) -> None:
        try:
            kind, value = pickle.load(self.pipe)
        except EOFError:
            raise RuntimeError("the process walking the second half of the chain ended without an answer") from None
        self.answered = True
        if kind == "failed":
            raise value
        first, half = value
        if first is not None:
            walker.walk([first])
            walker.take(half)

    def stop(self) -> None:
        """Reap the child: it leaves once it has answered; one not heard from (this process failed first) is killed."""
        self.pipe.close()
        try:
            if not self.answered:
                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ChildProcessError, ProcessLookupError):
            pass


def _walk_second_half(storage: Any, after: int, batch_size: int, head_seq: int | None
                      ) -> tuple[Sequence[Any] | None, ChainWalker | None]:
    first = storage.select_chain_and_events(after, 1)
    if not first:
        return None, None
    seq, position, _, _, recorded_at, stored_hash = first[0][:6]
    half = ChainWalker(head_seq, lambda at: _event_at(storage, at))
    half.cursor = (seq + 1, stored_hash, position, recorded_at)
    walk_range(storage, half, seq, None, batch_size)
    # What crosses the pipe is the findings and where the walk ended: not this process's storage, nor its caches.
    half.event_at, half._ids, half._topics = _no_event, {}, {}
    return tuple(first[0]), half


def _no_event(position: int) -> str | None:
    return None


def _picklable(error: Exception) -> bool:
    try:
        pickle.dumps(error)
        return True
    except Exception:  # noqa: BLE001 - any failure to pickle means: send it as text
        return False


def _event_at(recorder: Any, position: int) -> str | None:
    """Which event a position holds, for a report: "<originator id> version <n>"."""
    found = recorder.select_notifications(start=position, limit=1)
    if not found or found[0].id != position:
        return None
    originator_id = canonical_id(found[0].originator_id)
    org = org_names(recorder, [originator_id]).get(originator_id, originator_id)
    return f"org {org} version {found[0].originator_version}"


def _check_head(report: ChainReport, head: Head, walker: ChainWalker) -> None:
    if head.seq == 0:
        return
    if walker.hash_at_head is None:
        report.problem_count += 1
        report.problems.append(Problem(head.seq, f"the head names seq {head.seq}, but the chain ends at seq "
                                                 f"{report.head.seq} (entries were deleted: truncation)"))
    elif walker.hash_at_head != head.entry_hash:
        report.problem_count += 1
        report.problems.append(Problem(
            head.seq, f"entry hash {walker.hash_at_head.hex()} is not the head's {head.entry_hash.hex()} "
                      "(the chain was rewritten since the head was written)"))


class ChainWalker:
    """Consumes chain rows in seq order; keeps only what the next row needs."""

    def __init__(self, head_seq: int | None = None, event_at: Callable[[int], str | None] | None = None):
        # Where the walk stands between batches: the seq expected next, and the previous entry's hash,
        # position and recorded_at, which the next entry must follow on from.
        self.cursor: tuple[int, Any, int, Any] = (1, GENESIS_HASH, 0, "")
        self.checked = 0
        self.head_seq = head_seq
        self.hash_at_head: bytes | None = None
        self.problems: list[Problem] = []
        self.problem_count = 0
        self._ids: dict[Any, bytes] = {}
        self._topics: dict[Any, bytes] = {}
        self.event_at: Callable[[int], str | None] = event_at or (lambda position: None)

    def walk(self, rows: Sequence[Sequence[Any]]) -> None:
        # The hot loop of `verify`: local names, cached encodings, one condition for the usual entry;
        # anything unusual (including a value of the wrong type) goes to _check_entry for a diagnosis.
        sha256 = hashlib.sha256
        ids = self._ids
        topics = self._topics
        expected, previous, last_position, last_recorded_at = self.cursor
        head_seq = self.head_seq
        for seq, position, originator_id, version, recorded_at, stored_hash, same_event, topic, state in rows:
            canonical = ids.get(originator_id) or self._canonical(originator_id)
            if seq != expected or position <= last_position:
                if not self._check_sequence(seq, expected, position, last_position, canonical.decode(), version):
                    continue
            try:
                usual = (same_event == 1
                         and sha256(ENTRY_FORMAT % (
                             seq, canonical, version, topics.get(topic) or self._encode_topic(topic), len(state),
                             state, previous)).digest() == stored_hash
                         and recorded_at >= last_recorded_at
                         and state.find(b'"timestamp":"%b"' % recorded_at.encode(), 0, TIMESTAMP_WITHIN) >= 0)
            except TypeError:
                usual = False
            if not usual:
                self._check_entry(seq, position, canonical, version, recorded_at, stored_hash, same_event, topic,
                                  state, previous, last_recorded_at)
            if seq == head_seq:
                self.hash_at_head = _as_bytes(stored_hash)
            previous = stored_hash
            last_position = position
            last_recorded_at = recorded_at
            expected = seq + 1
        self.checked += len(rows)
        self.cursor = (expected, previous, last_position, last_recorded_at)

    def _check_sequence(self, seq: int, expected: int, position: int, last_position: int, canonical: str,
                        version: int) -> bool:
        """Report a seq gap or a position out of order; False for an entry to leave out of the chain."""
        if seq < expected:
            self._problem(Problem(seq, "a chain entry with an impossible seq (seqs run 1, 2, 3, ...): a forged "
                                       "entry", ENTRY, position, canonical, version))
            return False
        if seq > expected:
            self._problem(Problem(expected, f"chain entry missing: the chain jumps from seq {expected - 1} to seq "
                                            f"{seq}", GAP))
        if position <= last_position:
            self._problem(Problem(seq, f"entries out of order: position {position} does not follow position "
                                       f"{last_position} of seq {expected - 1}", ENTRY, position, canonical, version))
        return True

    def _check_entry(self, seq: int, position: int, canonical_id: bytes, version: int, recorded_at: Any,
                     stored_hash: Any, same_event: Any, topic: Any, state: Any, previous: Any,
                     last_recorded_at: Any) -> None:
        """The careful check of one entry that failed the fast one: say exactly what is wrong, if anything."""
        canonical = canonical_id.decode()
        if same_event is None:
            self._problem(Problem(seq, "the event row is missing (deleted)", ENTRY, position, canonical, version))
            return
        if same_event != 1:
            found = self.event_at(position)
            what = (f"position {position} holds {found} instead (event rows moved or swapped)" if found
                    else f"position {position} holds another event (event rows moved or swapped)")
            self._problem(Problem(seq, what, ENTRY, position, canonical, version))
            return
        state = _as_bytes(state)
        recomputed = hashlib.sha256(ENTRY_FORMAT % (
            seq, canonical_id, version, self._encode_topic(topic), len(state), state, _as_bytes(previous))).digest()
        if recomputed != _as_bytes(stored_hash):
            self._problem(Problem(seq, "the stored event does not match its chain entry (the event's state or topic "
                                       "was changed, or the chain at or before this entry)", ENTRY, position,
                                  canonical, version))
            return
        self._check_recorded_at(seq, position, canonical, version, recorded_at,
                                last_recorded_at if isinstance(last_recorded_at, str) else "", state)

    def _check_recorded_at(self, seq: int, position: int, canonical: str, version: int, recorded_at: Any,
                           last_recorded_at: str, state: bytes) -> None:
        # recorded_at is not hashed, but it is bound: the later of the event's own (hashed) timestamp
        # and the previous entry's recorded_at. `--known-at` reads it, so it must not drift.
        expected, stamp = expected_recorded_at(state, last_recorded_at, str(recorded_at))
        if recorded_at == expected:
            return
        because = (f"the later of the event's own timestamp {stamp} and the previous entry's "
                   f"{last_recorded_at or '(none)'}" if stamp is not None else "recorded_at never goes backwards")
        self._problem(Problem(seq, f"recorded_at {recorded_at} should be {expected} ({because}): recorded_at was "
                                   "changed", ENTRY, position, canonical, version))

    def _canonical(self, raw: Any) -> bytes:
        text = canonical_id(raw).encode()
        self._ids[raw] = text
        return text

    def _encode_topic(self, topic: Any) -> bytes:
        encoded = str(topic).encode() if topic is not None else b"None"
        self._topics[topic] = encoded
        return encoded

    def _problem(self, problem: Problem) -> None:
        self.problem_count += 1
        if len(self.problems) < KEPT_PROBLEMS:
            self.problems.append(problem)

    def take(self, later: ChainWalker | None) -> None:
        """Go on from where ``later`` (a walk of the entries after the last one walked here) ended."""
        if later is None:
            return
        self.checked += later.checked
        self.problem_count += later.problem_count
        self.problems += later.problems
        self.hash_at_head = self.hash_at_head if later.hash_at_head is None else later.hash_at_head
        self.cursor = later.cursor

    def report(self) -> ChainReport:
        expected, previous, _, last_recorded_at = self.cursor
        recorded_at = last_recorded_at if isinstance(last_recorded_at, str) else None
        head = Head(expected - 1, _as_bytes(previous), recorded_at or None)
        return ChainReport(self.checked, head, list(self.problems), self.problem_count)


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return b"" if value is None else str(value).encode()


def org_names(recorder: Any, originator_ids: Iterable[str | None]) -> dict[str, str]:
    """Organization slugs for originator ids, read from their registration events where still readable."""
    names: dict[str, str] = {}
    for originator_id in {i for i in originator_ids if i}:
        try:
            rows = recorder.select_org_rows(UUID(originator_id))
            registration = next((r for r in rows if r.originator_version == 1), None)
            if registration is not None:
                names[originator_id] = str(json.loads(registration.state)["org"])
        except Exception:  # noqa: BLE001 - a damaged registration leaves the id unnamed, not the report unwritten
            continue
    return names


def describe_problems(recorder: Any, problems: Sequence[Problem]) -> list[str]:
    names = org_names(recorder, (p.originator_id for p in problems))
    return [p.located(names.get(p.originator_id or "", p.originator_id)) for p in problems]


def current_head(storage: LedgerStorage, database: str = "the database",
                 reopen: Callable[[], LedgerStorage] | None = None) -> Head:
    """The chain's last entry, once the chain up to it has verified: a head must never bless tampering."""
    chain = verify_chain(storage, database=database, reopen=reopen)
    if not chain.intact:
        first = describe_problems(storage, chain.problems[:1])[0]
        raise IntegrityFailure(f"refusing to write a head: the chain is broken at {first} (run certledger verify)")
    return chain.head
