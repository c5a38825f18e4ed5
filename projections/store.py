"""View tables kept in the ledger's own database, written together with the tracked position.

Both stores build on the library's tracking recorders: the view rows of a batch and the
position it reaches are committed in one transaction. Writers of the views take turns
(``writing``: SQLite's write lock, a PostgreSQL advisory lock), and a batch is applied only onto
the position it was computed from; a batch another process overtook is refused whole and
computed again. That gives exactly-once, however many processes catch up at the same time.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ContextManager, Iterable, Iterator, Sequence

from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder

from ledger.storage.dialect import Dialect
from ledger.storage.sqlite import immediate_transaction
from projections import tables

if TYPE_CHECKING:
    from projections.rows import Version

APPLICATION_NAME = "projections"


class ViewsMovedOn(IntegrityError):
    """Another process applied events to the views after this batch was computed: compute it again."""
WRITE_SLICE = 5000  # rows written per round of inserts


class ViewStore:
    """What the runner and the queries need from a view store, whatever the database."""

    dialect: Dialect
    datastore: Any
    tracking_table: str

    def tracked_position(self) -> int:
        return self.max_tracking_id(APPLICATION_NAME) or 0  # type: ignore[attr-defined]

    def apply_batch(self, closes: Sequence[tuple[str, tuple[Any, ...], int]], versions: Sequence[Version],
                    position: int, previous: int) -> None:
        """Close rows that stopped being the answer, insert the new ones, and move the tracked position from
        ``previous`` to ``position``, in one transaction.

        The batch was computed from the views at ``previous``: if another process moved them on meanwhile,
        nothing is written and the library's IntegrityError says so (the caller computes again from there).
        Writers of the views take turns (``writing``), so the check and the writes see the same views.
        """
        if position <= previous:
            raise IntegrityError(f"position {position} is not after position {previous}: already applied")
        with self.writing() as c:
            if self.tracked_in(c) != previous:
                raise ViewsMovedOn(f"the views moved on from position {previous} meanwhile")
            self.track_in(c, position)
            self.write_in(c, closes, versions)

    def write_in(self, c: Any, closes: Sequence[tuple[str, tuple[Any, ...], int]], versions: Iterable[Version]
                 ) -> None:
        """Close the rows that stopped being the answer, then insert the new ones (closing first: a new row may
        share its key with the row it replaces)."""
        tables.close_rows(c, self.dialect, closes)
        tables.insert_versions(c, self.dialect, versions)

    def track_in(self, c: Any, position: int) -> None:
        self._insert_tracking(c, Tracking(APPLICATION_NAME, position))  # type: ignore[attr-defined]

    def join(self, c: Any) -> int | None:
        """Take the views' writers' turn inside a write transaction of the ledger, open on cursor ``c`` (rows as
        tuples), and return the tracked position as that transaction sees it; None if another writer of the
        views has the turn (a catch-up or a replay under way)."""
        if not self.take_turn_in(c):
            return None
        return self.tracked_in(c)

    def take_turn_in(self, c: Any) -> bool:
        """SQLite: the ledger's write transaction holds the database's one write lock, which is the turn."""
        return True

    def may_write(self) -> bool:
        """Whether this connection may write the views (SQLite: whoever may write the file may write them)."""
        return True

    def replace_all(self, parts: Iterable[tables.TableRows], position: int) -> None:
        """Drop the view tables and the tracked position, then write the rows of ``parts`` as of ``position``: one
        transaction. ``parts`` (a replay's, an organization at a time) may be a generator: it is written as it
        comes, a slice at a time.

        Dropping (not just emptying) the tables lets a rebuild pick up a changed table layout. The
        secondary indexes are built after the rows are in: one sort each, instead of an index update per row.
        """
        with self.writing() as c:
            self.keep_open_while_working(c)
            c.execute(self.dialect.sql(f"DELETE FROM {self.tracking_table} WHERE application_name = ?"),
                      (APPLICATION_NAME,))
            for statement in tables.drop_statements(self.dialect) + tables.table_statements(self.dialect):
                c.execute(statement)
            self.write_all(c, parts)
            for statement in tables.index_statements(self.dialect):
                c.execute(statement)
            if position:
                self._insert_tracking(c, Tracking(APPLICATION_NAME, position))  # type: ignore[attr-defined]
            c.execute(self.dialect.sql(f"DELETE FROM {self.tracking_table} WHERE application_name = ?"),
                      (tables.LAYOUT_MARKER,))
            c.execute(self.dialect.sql(f"INSERT INTO {self.tracking_table} (application_name, notification_id) "
                                       "VALUES (?, ?)"), (tables.LAYOUT_MARKER, tables.LAYOUT))

    def write_all(self, c: Any, parts: Iterable[tables.TableRows]) -> None:
        """Write a replay's rows into the (new, empty) view tables, a slice at a time."""
        for rows in tables.row_slices(parts, WRITE_SLICE):
            self.write_slice(c, rows)

    def write_slice(self, c: Any, rows: tables.TableRows) -> None:
        tables.insert_rows(c, self.dialect, rows)

    def layout(self) -> int | None:
        """The layout the views were written under (None: views from before layouts were marked)."""
        with self.reading() as c:
            c.execute(self.dialect.sql(f"SELECT MAX(notification_id) AS layout FROM {self.tracking_table} "
                                       "WHERE application_name = ?"), (tables.LAYOUT_MARKER,))
            row = c.fetchone()
        return row["layout"] if row is not None else None

    def ensure_layout(self) -> None:
        """Views written under another layout (an earlier release's) are dropped, to be replayed by the next
        catch-up: their tables lack columns, or their rows mean what they meant then."""
        if self.layout() != tables.LAYOUT:
            self.replace_all((), 0)

    def writing(self) -> ContextManager[Any]:
        """A transaction that writes the views, taking their writers' turn at its start."""
        raise NotImplementedError

    def keep_open_while_working(self, c: Any) -> None:
        """Let this transaction wait between writes while the replay reads and folds the next organizations."""

    @contextmanager
    def reading(self) -> Iterator[Any]:
        with self.datastore.transaction(commit=False) as c:
            yield c

    def tracked_in(self, c: Any) -> int:
        """The tracked position as seen by the transaction of cursor ``c`` (the views' own cursors give rows by
        column name as dicts on PostgreSQL, the ledger's write cursor gives tuples: the one value is read either
        way)."""
        c.execute(self.dialect.sql(f"SELECT MAX(notification_id) AS position FROM {self.tracking_table} "
                                   "WHERE application_name = ?"), (APPLICATION_NAME,))
        row = c.fetchone()
        if row is None:
            return 0
        return (row["position"] if isinstance(row, dict) else row[0]) or 0

    def snapshot(self) -> tuple[int, dict[str, list[tuple[Any, ...]]]]:
        """The tracked position and every view table's rows, read in one transaction."""
        with self.reading() as c:
            position = self.tracked_in(c)
            contents = {t.name: tables.table_contents(c, self.dialect, t) for t in tables.TABLES}
        return position, contents


class SQLiteViewStore(ViewStore, SQLiteTrackingRecorder):
    def __init__(self, datastore: SQLiteDatastore, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.dialect = tables.SQLITE
        self.tracking_table = "tracking"

    def construct_create_table_statements(self) -> list[str]:
        return super().construct_create_table_statements() + tables.create_statements(tables.SQLITE)

    def write_all(self, c: Any, parts: Iterable[tables.TableRows]) -> None:
        """A replay makes its rows organization by organization, but the tables are clustered on their start
        date: inserted as they come, each row lands somewhere else in a B-tree larger than the page cache.
        Appended to key-less temporary tables first, then copied in key order (one sort, which SQLite
        spills to temporary files past its cache), every row is appended instead: about twice as fast."""
        for statement in tables.staging_statements(self.dialect):
            c.execute(statement)
        for rows in tables.row_slices(parts, WRITE_SLICE):
            tables.insert_rows(c, self.dialect, rows, staged=True)
        for statement in tables.unstaging_statements(self.dialect):
            c.execute(statement)

    def writing(self) -> ContextManager[Any]:
        # SQLite's one write lock, taken before the tracked position is read.
        return immediate_transaction(self.datastore)
