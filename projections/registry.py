"""Who has which status on a date: queries on the valid-time status segments.

The registry looks each organization up once: from its first segment (one per organization)
to the last segment that starts by the date, which covers the date because an organization's
segments follow one another without gaps. That costs the same however long the histories grow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Sequence

from ledger.domain.values import SEARCH_SEPARATOR
from ledger.garbage import fewer_collections
from projections.jsontext import from_json
from projections.tables import Cursor, Dialect, alive



@dataclass(frozen=True)
class Filters:
    """The registry's filters, already checked and folded; they combine (all must hold)."""

    statuses: Sequence[str] = ()
    country: str | None = None  # upper case
    standard: str | None = None
    region: str | None = None  # folded: letter case and accents aside
    q: str | None = None  # folded: letter case and accents aside
    expiring_by: date | None = None  # certified, no renewal decided, valid_until on or before this day
    org: str | None = None  # this organization only (its id exactly)

    def narrow(self) -> bool:
        """Whether any filter is given (without one, every organization registered by the date is in)."""
        return bool(self.statuses) or any(value is not None for value in (
            self.country, self.standard, self.region, self.q, self.expiring_by, self.org))


def registry(c: Cursor, d: Dialect, as_of: date, known: int, statuses: Sequence[str] = (),
             country: str | None = None, standard: str | None = None, filters: Filters | None = None
             ) -> list[dict[str, Any]]:
    """The status record of every organization registered by ``as_of``, as known at position ``known``, by
    organization id; filters combine."""
    filters = filters or Filters(statuses, country, standard)
    c.execute(*registry_query(d, as_of, known, filters=filters))
    return decode_records(sorted(c.fetchall(), key=lambda row: row["org"]))


def registry_page(c: Cursor, d: Dialect, as_of: date, known: int, filters: Filters, limit: int, offset: int
                  ) -> tuple[list[dict[str, Any]], int]:
    """One page of ``registry`` (``limit`` records from ``offset``, by organization id) and the whole answer's
    count. Only the page's records are read: without a filter, the page is that page of the openings (every
    organization registered by the date is in the answer); with one, the query stops after the page."""
    c.execute(*registry_query(d, as_of, known, filters=filters, page=(limit, offset)))
    records = decode_records(c.fetchall())
    if len(records) < limit and (records or not offset):
        return records, offset + len(records)  # the last page: no need to count
    if filters.narrow():
        statement, params = registry_query(d, as_of, known, filters=filters)
        c.execute(f"SELECT COUNT(*) AS n FROM ({statement}) AS matched", params)
    else:
        o_alive, o_params = alive("o", known)
        c.execute(d.sql(f"SELECT COUNT(*) AS n FROM {{status_segments}} AS o "
                        f"WHERE o.opening = 1 AND o.start_day <= ? AND {o_alive}"), [as_of.isoformat(), *o_params])
    return records, int(c.fetchone()["n"])


def by_id(d: Dialect, column: str) -> str:
    """``column`` (an organization id) ordered as Python orders it: ids are ASCII, so by their bytes."""
    return f'{column} COLLATE "C"' if d.name == "postgresql" else column


def like_pattern(text: str) -> str:
    """``text`` anywhere, as a LIKE pattern (with ``\\`` as the escape character)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def registry_query(d: Dialect, as_of: date, known: int, statuses: Sequence[str] = (), country: str | None = None,
                   standard: str | None = None, filters: Filters | None = None,
                   page: tuple[int, int] | None = None) -> tuple[str, list[Any]]:
    """The statement and parameters: one index search per organization, filters as conditions; with ``page``
    (limit, offset), that page of the answer in organization id order (ids are ASCII: byte order is Python's).

    Each organization's opening segment (one per organization alive at ``known``) leads to the last
    segment that starts by the date, which covers it because an organization's segments follow one
    another without gaps.
    """
    filters = filters or Filters(statuses, country, standard)
    day = as_of.isoformat()
    first_alive, first_params = alive("first", known)
    t_alive, t_params = alive("t", known)
    s_alive, s_params = alive("s", known)
    where = ["first.opening = 1", "first.start_day <= ?", first_alive, s_alive]
    params: list[Any] = [*t_params, day, day, *first_params, *s_params]
    if filters.org is not None:
        where.append("first.org = ?")
        params.append(filters.org)
    if filters.statuses:
        where.append(f"s.status IN ({', '.join('?' * len(filters.statuses))})")
        params += list(filters.statuses)
    if filters.country is not None:
        where.append("s.country = ?")
        params.append(filters.country)
    if filters.standard is not None:
        where.append("s.standard = ?")
        params.append(filters.standard)
    if filters.region is not None:
        where.append("s.region LIKE ? ESCAPE '\\'")
        params.append(like_pattern(SEARCH_SEPARATOR + filters.region + SEARCH_SEPARATOR))
    if filters.q is not None:
        where.append("s.search LIKE ? ESCAPE '\\'")
        params.append(like_pattern(filters.q))
    if filters.expiring_by is not None:
        where.append("s.expiring_on IS NOT NULL AND s.expiring_on <= ?")
        params.append(filters.expiring_by.isoformat())
    openings, paging = "{status_segments} AS first", ""
    if page is not None and not filters.narrow():
        # That page of the openings first (an index range in id order), then one search per organization.
        o_alive, o_params = alive("o", known)
        openings = ("(SELECT o.org AS org, o.opening AS opening, o.start_day AS start_day, "
                    "o.known_from AS known_from, o.known_until AS known_until FROM {status_segments} AS o "
                    f"WHERE o.opening = 1 AND o.start_day <= ? AND {o_alive} "
                    f"ORDER BY {by_id(d, 'o.org')} LIMIT ? OFFSET ?) AS first")
        params[:0] = [day, *o_params, *page]
        paging = f" ORDER BY {by_id(d, 'first.org')}"
    elif page is not None:
        paging = f" ORDER BY {by_id(d, 'first.org')} LIMIT ? OFFSET ?"
        params += list(page)
    return d.sql(f"SELECT s.org AS org, s.record AS record FROM {openings} "
                 "JOIN {status_segments} AS s ON s.org = first.org AND s.start_day = ("
                 "SELECT MAX(t.start_day) FROM {status_segments} AS t WHERE t.org = first.org AND "
                 f"{t_alive} AND t.start_day <= ?) "
                 f"WHERE {' AND '.join(where)}{paging}"), params


def streaks(c: Cursor, d: Dialect, as_of: date, known: int) -> list[dict[str, Any]]:
    """Organizations with consecutive_years > 0 on ``as_of``, longest first (ties: certified_since, then org)."""
    covered = [record for record in registry(c, d, as_of, known) if record["consecutive_years"] > 0]
    return sorted(covered, key=lambda r: (-r["consecutive_years"], r["certified_since"], r["org"]))


def covered(c: Cursor, d: Dialect, as_of: date, known: int) -> list[str]:
    """Organizations whose certificate covers ``as_of`` (certified or suspended), from the periods table."""
    day = as_of.isoformat()
    p_alive, p_params = alive("p", known)
    c.execute(d.sql("SELECT p.org AS org FROM {certification_periods} AS p "
                    f"WHERE p.valid_from <= ? AND p.valid_until >= ? AND (p.ended_on IS NULL OR p.ended_on > ?) "
                    f"AND {p_alive}"), [day, day, day, *p_params])
    return sorted({row["org"] for row in c.fetchall()})


def first_holder(c: Cursor, d: Dialect, number_key: str, known: int) -> str | None:
    """The organization whose period first carried the number (by the position of its decision), as known at
    ``known``: one search of the number's index."""
    p_alive, p_params = alive("p", known)
    c.execute(d.sql("SELECT p.org AS org, p.position AS position FROM {certification_periods} AS p "
                    f"WHERE p.certificate_key = ? AND {p_alive} ORDER BY p.position LIMIT 1"), [number_key, *p_params])
    row = c.fetchone()
    return row["org"] if row is not None else None


def decode_records(rows: Sequence[Any]) -> list[dict[str, Any]]:
    # One decode of a JSON array is much cheaper than one per record over thousands of organizations.
    with fewer_collections(100_000):
        return from_json("[" + ",".join(row["record"] for row in rows) + "]")
