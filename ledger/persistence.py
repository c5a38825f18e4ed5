"""Storage wiring: the pydantic mapper, the hash-chain recorder, and the choice of backend.

Every event row the library writes gets, in the same transaction:
- a hash-chain entry with its own gapless sequence number (see ``chain_hash``);
- its import key (idempotency), unique across the ledger;
- for a grant with a certificate number, a claim on that number (unique; a retraction frees it).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Sequence
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent, Transcoder, Transcoding
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore
from eventsourcing.utils import get_topic, resolve_topic

GENESIS_HASH = bytes(32)


class PydanticMapper(Mapper):
    """Stores each event as its pydantic model's JSON; rebuilds it with full validation.

    Older stored versions are upcast with the library's ``class_version`` /
    ``upcast_vN_vM`` convention before validation.
    """

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        cls = type(domain_event)
        class_version = getattr(cls, "class_version", 1)
        if class_version > 1:
            state = domain_event.model_dump(mode="json")
            state["class_version"] = class_version
            payload = json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode()
        else:
            payload = domain_event.model_dump_json().encode()
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=get_topic(cls),
            state=payload,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        cls = resolve_topic(stored_event.topic)
        class_version = getattr(cls, "class_version", 1)
        if class_version == 1:
            return cls.model_validate_json(stored_event.state)
        state = json.loads(stored_event.state)
        from_version = state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        return cls.model_validate(state)


class PlainJSONTranscoder(Transcoder):
    """Unused by the pydantic mapper, present because the library's factory expects one."""

    def encode(self, obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()

    def decode(self, data: bytes) -> Any:
        return json.loads(data)

    def register(self, transcoding: Transcoding) -> None:  # pragma: no cover - pydantic does the typing
        raise NotImplementedError("events are pydantic models; no transcodings are needed")


def format_instant(moment: datetime) -> str:
    """A UTC instant as fixed-width ISO-8601 text (sorts like the instant itself)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def chain_hash(seq: int, originator_id: UUID | str, version: int, topic: str, state: bytes,
               previous: bytes) -> bytes:
    """entry_hash = SHA-256(0x00 || canonical || previous entry_hash).

    canonical = UTF-8 of "<seq>\\n<originator id, 36-char lower-case UUID>\\n<version>\\n<topic>\\n<len(state)>\\n"
    followed by the stored state bytes exactly as stored. The first entry's previous hash is 32 zero bytes.
    """
    oid = str(originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id)))
    header = f"{seq}\n{oid}\n{version}\n{topic}\n{len(state)}\n".encode()
    return hashlib.sha256(b"\x00" + header + bytes(state) + previous).digest()


@dataclass(frozen=True)
class EventExtras:
    """What the ledger writes beside one event row, in the same transaction."""

    key: str
    recorded_at: str
    certificate_claim: str | None = None
    certificate_release: str | None = None


class ExtrasForForeignEvents:
    """Lets a ledger recorder store events saved without ledger extras (the library's recorder tests do).

    The ledger always passes extras. Any other caller's rows still get a chain entry, a unique key
    (derived from the event's id and version) and the instant of saving, so the recorder stays a
    correct library recorder and its chain stays verifiable.
    """

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        extras: dict[tuple[UUID, int], EventExtras] = dict(kwargs.get("extras") or {})
        now = format_instant(datetime.now(timezone.utc))
        for stored in stored_events:
            event_id = (UUID(str(stored.originator_id)), stored.originator_version)
            if event_id not in extras:
                extras[event_id] = EventExtras(key=f"event:{event_id[0]}:{event_id[1]}", recorded_at=now)
        return super().insert_events(stored_events, **{**kwargs, "extras": extras})  # type: ignore[misc]


@dataclass(frozen=True)
class StoredRow:
    """An event row with its ledger position (the notification id)."""

    position: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes


@dataclass(frozen=True)
class ChainEntry:
    """One row of ``ledger_chain``."""

    seq: int
    notification_id: int
    originator_id: UUID
    originator_version: int
    recorded_at: str
    entry_hash: bytes


@dataclass(frozen=True)
class CertificateChange:
    """A claim on a certificate number (``holder`` set) or its release (``holder`` None)."""

    certificate: str
    holder: tuple[UUID, int] | None


@dataclass(frozen=True)
class LedgerRows:
    """Everything written beside a batch of event rows: the same for every backend."""

    chain: list[ChainEntry]
    keys: list[tuple[str, int]]
    certificates: list[CertificateChange]


def ledger_rows(ids: Sequence[int], stored_events: Sequence[StoredEvent],
                extras: dict[tuple[UUID, int], EventExtras], last: ChainEntry | None, *,
                copied: bool = False) -> LedgerRows:
    """The chain, key and certificate rows for events just inserted at positions ``ids``.

    Called while the backend holds its write lock, after the insert, so ``last`` is the true
    chain head. recorded_at never goes backwards along the chain: an event stamped earlier than
    the one committed just before it (another writer was faster) takes that one's instant, so a
    ``--known-at`` instant always resolves to a prefix of the ledger. ``copied`` rows keep the
    recorded_at of the ledger they come from, exactly.
    """
    seq, previous, floor = (last.seq, last.entry_hash, last.recorded_at) if last else (0, GENESIS_HASH, "")
    rows = LedgerRows([], [], [])
    for notification_id, stored in zip(ids, stored_events, strict=True):
        originator_id = stored.originator_id if isinstance(stored.originator_id, UUID) else UUID(
            str(stored.originator_id))
        extra = extras.get((originator_id, stored.originator_version))
        if extra is None:
            raise ValueError("every ledger event needs its key and recorded_at")
        seq += 1
        previous = chain_hash(seq, originator_id, stored.originator_version, stored.topic, stored.state, previous)
        floor = extra.recorded_at if copied else max(floor, extra.recorded_at)
        rows.chain.append(ChainEntry(seq, notification_id, originator_id, stored.originator_version, floor,
                                     previous))
        rows.keys.append((extra.key, notification_id))
        if extra.certificate_release:
            rows.certificates.append(CertificateChange(extra.certificate_release, None))
        if extra.certificate_claim:
            rows.certificates.append(CertificateChange(extra.certificate_claim,
                                                       (originator_id, stored.originator_version)))
    return rows


class SQLiteLedgerRecorder(ExtrasForForeignEvents, SQLiteApplicationRecorder):
    """The library's SQLite application recorder plus chain, keys and certificate claims."""

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name)

    def construct_create_table_statements(self) -> list[str]:
        statements = super().construct_create_table_statements()
        statements += [
            "CREATE TABLE IF NOT EXISTS ledger_chain ("
            "seq INTEGER PRIMARY KEY, notification_id INTEGER NOT NULL UNIQUE, "
            "originator_id TEXT NOT NULL, originator_version INTEGER NOT NULL, "
            "recorded_at TEXT NOT NULL, entry_hash BLOB NOT NULL)",
            "CREATE INDEX IF NOT EXISTS ledger_chain_recorded_at ON ledger_chain (recorded_at)",
            "CREATE TABLE IF NOT EXISTS ledger_keys (key TEXT PRIMARY KEY, notification_id INTEGER NOT NULL)",
            "CREATE TABLE IF NOT EXISTS ledger_certificates ("
            "certificate TEXT PRIMARY KEY, originator_id TEXT NOT NULL, originator_version INTEGER NOT NULL)",
        ]
        return statements

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
                       ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        assert ids is not None
        self._write_ledger_rows(c, ids, stored_events, kwargs.get("extras") or {})
        return ids

    def insert_copied(self, rows: Sequence[StoredRow], extras: dict[tuple[UUID, int], EventExtras]) -> None:
        """Insert rows copied from another ledger at their original positions (``copy``)."""
        stored = [stored_event_of(row) for row in rows]
        with self.datastore.transaction(commit=True) as c:
            c.executemany(f"INSERT INTO {self.events_table_name} "
                          "(rowid, originator_id, originator_version, topic, state) VALUES (?,?,?,?,?)",
                          [(r.position, r.originator_id.hex, r.originator_version, r.topic, r.state) for r in rows])
            self._write_ledger_rows(c, [r.position for r in rows], stored, extras, copied=True)

    def _write_ledger_rows(self, c: SQLiteCursor, ids: Sequence[int], stored_events: Sequence[StoredEvent],
                           extras: dict[tuple[UUID, int], EventExtras], *, copied: bool = False) -> None:
        rows = ledger_rows(ids, stored_events, extras, self._chain_head(c), copied=copied)
        for change in rows.certificates:
            if change.holder is None:
                c.execute("DELETE FROM ledger_certificates WHERE certificate=?", (change.certificate,))
            else:
                c.execute("INSERT INTO ledger_certificates VALUES (?,?,?)",
                          (change.certificate, change.holder[0].hex, change.holder[1]))
        c.executemany("INSERT INTO ledger_chain VALUES (?,?,?,?,?,?)",
                      [(e.seq, e.notification_id, e.originator_id.hex, e.originator_version, e.recorded_at,
                        e.entry_hash) for e in rows.chain])
        c.executemany("INSERT INTO ledger_keys VALUES (?,?)", rows.keys)

    @staticmethod
    def _chain_head(c: SQLiteCursor) -> ChainEntry | None:
        c.execute("SELECT seq, notification_id, originator_id, originator_version, recorded_at, entry_hash "
                  "FROM ledger_chain ORDER BY seq DESC LIMIT 1")
        row = c.fetchone()
        return ChainEntry(row[0], row[1], UUID(row[2]), row[3], row[4], bytes(row[5])) if row else None

    def chain_head(self) -> ChainEntry | None:
        """The last chain entry (None for an empty ledger)."""
        with self.datastore.transaction(commit=False) as c:
            return self._chain_head(c)

    # Queries the ledger needs beyond the library's recorder interface.

    def select_org_rows(self, originator_id: UUID, upto_position: int | None = None, *, after_version: int = 0
                        ) -> list[StoredRow]:
        statement = (f"SELECT rowid, originator_version, topic, state FROM {self.events_table_name} "
                     "WHERE originator_id=?")
        params: list[Any] = [originator_id.hex]
        if after_version:
            statement += " AND originator_version>?"
            params.append(after_version)
        if upto_position is not None:
            statement += " AND rowid<=?"
            params.append(upto_position)
        statement += " ORDER BY originator_version"
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            return [StoredRow(r[0], originator_id, r[1], r[2], r[3]) for r in c.fetchall()]

    def select_orgs_rows(self, originator_ids: Sequence[UUID], upto_position: int | None = None) -> list[StoredRow]:
        """The rows of several organizations at once, each organization's in version order."""
        marks = ",".join("?" * len(originator_ids))
        statement = (f"SELECT rowid, originator_id, originator_version, topic, state FROM {self.events_table_name} "
                     f"WHERE originator_id IN ({marks})")
        params: list[Any] = [oid.hex for oid in originator_ids]
        if upto_position is not None:
            statement += " AND rowid<=?"
            params.append(upto_position)
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement + " ORDER BY originator_id, originator_version", params)
            rows = c.fetchall()
        uuids = {oid.hex: oid for oid in originator_ids}
        return [StoredRow(r[0], uuids[r[1]], r[2], r[3], r[4]) for r in rows]

    def select_rows(self, after: int, limit: int, upto: int | None = None) -> list[StoredRow]:
        statement = (f"SELECT rowid, originator_id, originator_version, topic, state FROM {self.events_table_name} "
                     "WHERE rowid>?")
        params: list[Any] = [after]
        if upto is not None:
            statement += " AND rowid<=?"
            params.append(upto)
        statement += " ORDER BY rowid LIMIT ?"
        params.append(limit)
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            rows = c.fetchall()
        uuids: dict[str, UUID] = {}  # one UUID object per organization, not per row
        return [StoredRow(r[0], uuids.get(r[1]) or uuids.setdefault(r[1], UUID(r[1])), r[2], r[3], r[4])
                for r in rows]

    def recorded_at(self, positions: Sequence[int]) -> dict[int, str]:
        if not positions:
            return {}
        marks = ",".join("?" * len(positions))
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT notification_id, recorded_at FROM ledger_chain WHERE notification_id IN ({marks})",
                      list(positions))
            return {r[0]: r[1] for r in c.fetchall()}

    def position_at(self, instant: str) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT MAX(notification_id) FROM ledger_chain WHERE recorded_at<=?", (instant,))
            row = c.fetchone()
            return row[0] or 0

    def max_position(self) -> int:
        return self.max_notification_id() or 0

    # Integrity queries: ledger/integrity.py reads the chain only through these three methods, so a
    # backend whose recorder has them (same row shapes) can be verified. Originator ids may come in
    # any form ``UUID(str(x))`` accepts; state as bytes.

    def select_chain_and_events(self, after_seq: int, limit: int) -> list[Sequence[Any]]:
        """Chain entries with seq > ``after_seq``, in seq order, at most ``limit``, each with its event row.

        Row: (seq, notification_id, originator_id, originator_version, recorded_at, entry_hash, same_event,
        topic, state), the first six from the chain entry; ``same_event`` is 1 when an event row has that
        notification id and the entry's originator id and version, 0 when that row is another event, None
        when there is no such row; topic and state are the event row's (None without one).
        """
        with self.datastore.transaction(commit=False) as c:
            c.sqlite_cursor.row_factory = None  # plain tuples: `verify` reads every row of the ledger
            c.execute("SELECT c.seq, c.notification_id, c.originator_id, c.originator_version, c.recorded_at, "
                      "c.entry_hash, CASE WHEN e.rowid IS NULL THEN NULL WHEN e.originator_id = c.originator_id "
                      "AND e.originator_version = c.originator_version THEN 1 ELSE 0 END, e.topic, e.state "
                      f"FROM ledger_chain c LEFT JOIN {self.events_table_name} e ON e.rowid = c.notification_id "
                      "WHERE c.seq > ? ORDER BY c.seq LIMIT ?", (after_seq, limit))
            return c.fetchall()

    def select_unchained_events(self, limit: int) -> list[Sequence[Any]]:
        """Event rows no chain entry points at, by position: (notification_id, originator_id, originator_version)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT e.rowid, e.originator_id, e.originator_version FROM {self.events_table_name} e "
                      "WHERE NOT EXISTS (SELECT 1 FROM ledger_chain c WHERE c.notification_id = e.rowid) "
                      "ORDER BY e.rowid LIMIT ?", (limit,))
            return c.fetchall()

    def chain_seq_before(self, position: int) -> int:
        """The largest seq whose entry points below ``position`` (0 if none): where an unchained row sits."""
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT MAX(seq) FROM ledger_chain WHERE notification_id < ?", (position,))
            row = c.fetchone()
            return row[0] or 0

    def existing_keys(self, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        with self.datastore.transaction(commit=False) as c:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start:start + 500])
                marks = ",".join("?" * len(chunk))
                c.execute(f"SELECT key FROM ledger_keys WHERE key IN ({marks})", chunk)
                found.update(r[0] for r in c.fetchall())
        return found

    def certificate_holder(self, certificate: str) -> tuple[UUID, int] | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT originator_id, originator_version FROM ledger_certificates WHERE certificate=?",
                      (certificate,))
            row = c.fetchone()
            return (UUID(row[0]), row[1]) if row else None

    def registration_ids(self) -> list[UUID]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT originator_id FROM {self.events_table_name} WHERE originator_version=1")
            return [UUID(r[0]) for r in c.fetchall()]


def stored_event_of(row: StoredRow) -> StoredEvent:
    return StoredEvent(originator_id=row.originator_id, originator_version=row.originator_version,
                       topic=row.topic, state=row.state)
