"""The hash chain's format, in one place: what each entry hashes, the genesis, and how recorded_at moves.

Specified in docs/integrity.md. The writer (``ledger.storage.queries``) and the verifier
(``ledger.integrity.walker``) both build entries from this module, so the two can never disagree.

    entry_hash(n) = SHA-256( ENTRY_FORMAT % (seq, originator id, version, topic, len(state), state, entry_hash(n-1)) )
    entry_hash(0) = GENESIS_HASH
    recorded_at(n) = max(recorded_at(n-1), the event's own timestamp)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable
from uuid import UUID

GENESIS_HASH = bytes(32)
# 0x00, then five header lines (seq, 36-character originator id, version, topic, length of the state),
# then the state exactly as stored, then the previous entry's hash.
ENTRY_FORMAT = b"\x00%d\n%b\n%d\n%b\n%d\n%b%b"
TIMESTAMP_KEY = b'"timestamp":"'
# The event's own timestamp is among the first fields of its stored JSON.
TIMESTAMP_WITHIN = 256


def entry_hash(seq: int, originator_id: UUID | str, version: int, topic: str, state: bytes, previous: bytes) -> bytes:
    """The hash of chain entry ``seq`` for a stored event, following the entry whose hash is ``previous``."""
    return hashlib.sha256(ENTRY_FORMAT % (seq, canonical_id(originator_id).encode(), version, topic.encode(),
                                          len(state), state, previous)).digest()


def canonical_id(raw: Any) -> str:
    """An originator id as the hash input spells it: 36-character lower-case UUID text, whatever is stored."""
    try:
        return str(raw if isinstance(raw, UUID) else UUID(str(raw)))
    except ValueError:
        return str(raw)


def format_instant(moment: datetime) -> str:
    """A UTC instant as fixed-width ISO-8601 text (sorts like the instant itself): recorded_at's format,
    ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (isoformat is the faster spelling of that strftime)."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def own_timestamp(state: bytes) -> str | None:
    """The ``timestamp`` written inside an event's state, as stored text (None for an event without one)."""
    start = state.find(TIMESTAMP_KEY, 0, TIMESTAMP_WITHIN)
    if start < 0:
        return None
    start += len(TIMESTAMP_KEY)
    return state[start:state.find(b'"', start)].decode(errors="replace")


def normal_instant(stamp: str) -> str:
    """A stored timestamp in recorded_at's fixed-width form (pydantic leaves out zero microseconds)."""
    try:
        return format_instant(datetime.fromisoformat(stamp.replace("Z", "+00:00")))
    except (ValueError, TypeError):
        return stamp


def next_recorded_at(previous: str, own: str) -> str:
    """recorded_at never goes backwards along the chain, so a ``--known-at`` instant always names a prefix.

    Two writers can take their timestamps in one order and commit in the other: the later
    committed event then takes the instant of the one before it.
    """
    return own if own > previous else previous


@dataclass(frozen=True)
class ChainEntry:
    """One row of ``ledger_chain``."""

    seq: int
    notification_id: int
    originator_id: UUID
    originator_version: int
    recorded_at: str
    entry_hash: bytes


def extend(last: ChainEntry | None, rows: Iterable[tuple[int, UUID, int, str, bytes, str]], *,
           copied: bool = False) -> list[ChainEntry]:
    """The entries that follow ``last`` for event rows (position, originator id, version, topic, state, recorded_at).

    ``recorded_at`` is the instant the event was stamped with; ``copied`` rows (from another
    ledger) keep the recorded_at they had there, exactly.
    """
    seq, previous, floor = (last.seq, last.entry_hash, last.recorded_at) if last else (0, GENESIS_HASH, "")
    entries = []
    for position, originator_id, version, topic, state, recorded_at in rows:
        seq += 1
        previous = entry_hash(seq, originator_id, version, topic, bytes(state), previous)
        floor = recorded_at if copied else next_recorded_at(floor, recorded_at)
        entries.append(ChainEntry(seq, position, originator_id, version, floor, previous))
    return entries


def expected_recorded_at(state: bytes, previous: str, stored: str) -> tuple[str, str | None]:
    """The recorded_at an entry must have, and the event's own timestamp it follows from (None without one)."""
    stamp = own_timestamp(state)
    if stamp is None:  # an event the ledger did not make: only the order is checked
        return next_recorded_at(previous, stored), None
    return next_recorded_at(previous, normal_instant(stamp)), stamp

