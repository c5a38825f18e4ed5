"""A new ledger appears with its first committed event, never before.

A refused command writes nothing at all, so it must not leave a new, empty ledger behind
(SPEC section 8), and a query where no ledger exists says so instead of answering from an
empty one. Opening a ledger creates its tables, so a write to a ledger that does not exist
yet goes through ``first_write``:

**SQLite.** The write runs on a new ledger in a scratch file beside the target
(``.NAME.new-PID-RANDOM``, in the same directory, so on the same file system). If it commits
nothing (refused, only checked, or nothing to record), the scratch file is removed and no
ledger exists. Otherwise its write-ahead log is checkpointed into the file, every connection
is closed, and the file is *hard-linked* to the target name. ``os.link`` never replaces an
existing file, so concurrent first writers cannot lose each other's events: the one that links
first creates the ledger; any other finds the name taken, drops its scratch file and runs its
write again on the existing ledger, where it is decided afresh against what the winner
recorded (its events are recorded there, or it is refused there like any other command).
Readers never see a half-made ledger: the name appears only on a complete file. A write that
cannot be run twice (an import from standard input) is refused in that race, naming it, with
nothing written. On a file system without hard links the ledger is created in place, after
the write succeeded on the scratch file (SQLite itself serialises concurrent creators there).

**PostgreSQL.** Table creation is transactional: the ledger's schema and tables are created
inside the first write transaction (``ledger.storage.postgres``), so a refused command rolls
them back with everything else.

A process killed between the link and the removal of the scratch name leaves a second name
for the new ledger (``.NAME.new-...``); it is safe to delete.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from pathlib import Path
from typing import Callable, TypeVar

from ledger.application.ledger import CertificationLedger
from ledger.errors import ConcurrencyConflict, LedgerError, StorageError
from ledger.storage import is_postgres_url
from ledger.storage.backends import sqlite_environment, without_tables

T = TypeVar("T")
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def exists(db: str, *, repeatable: bool = True) -> bool:
    """Whether a write to ``db`` may open it as it is (a PostgreSQL ledger creates its tables on its first write).

    An SQLite file that holds no tables yet (empty, or an empty database) is no ledger: a write to it goes
    through ``first_write`` too, so that a refusal leaves it as it was; one that commits is then run on it in
    place. A write that cannot run twice (an import from standard input) is run on it in place at once.
    """
    if is_postgres_url(db) or not os.path.lexists(db):
        return is_postgres_url(db)
    return not repeatable or not without_tables(db)


def first_write(db: str, write: Callable[[CertificationLedger], T], wrote: Callable[[T], bool], *,
                repeatable: bool = True) -> tuple[T, CertificationLedger | None]:
    """Run ``write`` on a new SQLite ledger at ``db``; the file appears only if ``write`` committed.

    Returns the result and the ledger now at ``db`` (None when nothing was written and no ledger
    exists there). ``wrote(result)`` says whether anything was committed. ``repeatable``: whether
    ``write`` may run a second time, on a ledger that another writer created meanwhile.
    """
    sqlite_environment(db)  # the target's own checks first: its directory, a directory in its place...
    target = Path(db)
    scratch_path = target.with_name(f".{target.name}.new-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        scratch = CertificationLedger(str(scratch_path))
    except LedgerError as error:
        _remove(scratch_path)
        raise _naming(error, scratch_path, db) from None
    try:
        try:
            result = write(scratch)
        except LedgerError as error:
            raise _naming(error, scratch_path, db) from None
        if not wrote(result):
            return result, None
        scratch.close()  # the last connection to close checkpoints the write-ahead log into the file
        if not _checkpointed(scratch_path):
            raise StorageError(f"cannot create {db}: the new ledger's write-ahead log could not be checkpointed")
        try:
            os.link(scratch_path, target)
        except FileExistsError:
            linked = False
        except OSError:
            linked = None  # no hard links on this file system: create the ledger in place
        else:
            linked = True
            _sync_directory(target.parent)
    finally:
        scratch.close()
        _remove(scratch_path)
    if linked:
        return result, CertificationLedger(db)
    if linked is False and not repeatable:
        raise ConcurrencyConflict(f"another writer created {db} meanwhile; nothing was recorded: run the command again")
    ledger = CertificationLedger(db)
    try:
        return write(ledger), ledger
    except BaseException:
        ledger.close()
        raise


def _naming(error: LedgerError, scratch_path: Path, db: str) -> LedgerError:
    """The same refusal, naming the target rather than the scratch file."""
    message = str(error).replace(os.path.abspath(scratch_path), db).replace(str(scratch_path), db)
    try:
        return type(error)(message)
    except TypeError:  # pragma: no cover - every LedgerError takes a message
        return LedgerError(message)


def _checkpointed(path: Path) -> bool:
    """Every page is in the file itself: no write-ahead log holds any (a hard link would leave it behind)."""
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        try:
            conn = sqlite3.connect(path.absolute().as_uri(), uri=True)
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.close()
        except sqlite3.Error:
            return False
    return not wal.exists() or wal.stat().st_size == 0


def _remove(path: Path) -> None:
    for suffix in ("", *SQLITE_COMPANIONS):
        try:
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        except OSError:
            pass


def _sync_directory(directory: Path) -> None:
    """Make the new name durable, as the ledger's commits are."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
