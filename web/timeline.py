"""An organization's certification timeline as a picture: periods as bars along the years, and what
happened to them (suspensions, extensions, denials, the withdrawal) marked, from its history.

Only drawing: the picture reads the history entries the page shows (retracted ones left out) and
lays out shapes; the template draws them as an inline SVG, with a text alternative. Every shape
is told apart by its form and a letter, never by colour alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Sequence

ONE_DAY = timedelta(days=1)
WIDTH = 960
LEFT, RIGHT = 16, 16
BAR_Y, BAR_HEIGHT = 34, 34
MARK_Y = 92
MARK_ROW = 18
AXIS_Y = 150
HEIGHT = 178
MARK_GAP = 16  # pixels between two marks' letters in one row
HORIZON = timedelta(days=3 * 366)
YEAR_TICKS = 100  # a tick for every year up to this many years along the axis; past it, the labelled years only
STANDARD_NAMES = {"fairmined": "Fairmined Gold", "ecological": "Fairmined Ecological Gold"}


@dataclass
class Period:
    start: date
    end: date
    granted_until: date
    standard: str
    certificate: str | None
    renewal: bool
    year: int  # its place in the chain: 1 for the grant, 2 for the first renewal...


@dataclass
class Suspension:
    start: date
    end: date | None
    reason: str


@dataclass
class Mark:
    day: date
    kind: str  # registered, suspended, denied, extended, withdrawn
    letter: str
    text: str


@dataclass
class History:
    """What the picture shows, read from the history entries in effective-date order."""

    registered: date | None = None
    periods: list[Period] = field(default_factory=list)
    suspensions: list[Suspension] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)


def read(entries: Sequence[dict[str, Any]]) -> History:
    """Periods, suspensions and marks from history entries; retracted entries and retractions take no part."""
    live = [e for e in entries if not e.get("retracted") and e["type"] != "EntryRetracted"]
    live.sort(key=lambda e: (e["date"], e["version"]))
    history = History()
    chain: list[Period] = []
    for entry in live:
        kind, fields, day = entry["type"], entry.get("fields") or {}, date.fromisoformat(entry["date"])
        if kind == "OrganizationRegistered":
            history.registered = day
            history.marks.append(Mark(day, "registered", "R", f"Registered on {day}"))
        elif kind in ("CertificationGranted", "Recertified"):
            renewal = kind == "Recertified" and bool(chain)
            if not renewal:
                chain = []
            start, end = date.fromisoformat(fields["valid_from"]), date.fromisoformat(fields["valid_until"])
            chain.append(Period(start, end, end, fields.get("standard") or "", fields.get("certificate"), renewal,
                                len(chain) + 1))
            history.periods.append(chain[-1])
        elif kind == "ValidityExtended" and chain:
            until = date.fromisoformat(fields["until"])
            chain[-1].end = until
            history.marks.append(Mark(day, "extended", "E", f"Validity extended on {day} to {until}: "
                                                            f"{fields.get('reason', '')}"))
        elif kind == "CertificationSuspended":
            history.suspensions.append(Suspension(day, None, fields.get("reason", "")))
            history.marks.append(Mark(day, "suspended", "S", f"Suspended on {day}: {fields.get('reason', '')}"))
        elif kind == "SuspensionLifted":
            close_suspension(history, day)
        elif kind == "CertificationWithdrawn":
            close_suspension(history, day)
            for period in chain:
                period.end = min(period.end, day - ONE_DAY)
            history.periods = [p for p in history.periods if p.end >= p.start]
            chain = []
            history.marks.append(Mark(day, "withdrawn", "W", f"Withdrawn on {day} ({fields.get('mode', '')}): "
                                                             f"{fields.get('reason', '')}"))
        elif kind == "CertificationDenied":
            history.marks.append(Mark(day, "denied", "D", f"{(fields.get('stage') or '').capitalize()} denied on "
                                                          f"{day} ({fields.get('reason_category', '')}): "
                                                          f"{fields.get('reason', '')}"))
    for suspension in history.suspensions:
        if suspension.end is None:
            covering = [p.end for p in history.periods if p.start <= suspension.start]
            suspension.end = max(covering) if covering else suspension.start
    return history


def close_suspension(history: History, day: date) -> None:
    for suspension in history.suspensions:
        if suspension.end is None:
            suspension.end = day - ONE_DAY


def words(history: History) -> list[str]:
    """The text alternative: every period, suspension and mark, in date order."""
    items: list[tuple[date, str]] = []
    for p in history.periods:
        what = "Recertified" if p.renewal else "Certified"
        extended = f", extended from {p.granted_until}" if p.end > p.granted_until else ""
        cut = f", cut short (granted until {p.granted_until})" if p.end < p.granted_until else ""
        number = f", certificate {p.certificate}" if p.certificate else ""
        items.append((p.start, f"{what} {p.start} to {p.end} ({STANDARD_NAMES.get(p.standard, p.standard)}"
                               f"{number}; year {p.year} in a row{extended}{cut})"))
    for s in history.suspensions:
        items.append((s.start, f"Suspended {s.start} to {s.end}: {s.reason}"))
    for m in history.marks:
        if m.kind != "suspended":  # told with its span above
            items.append((m.day, m.text))
    items.sort(key=lambda item: item[0])
    return [text for _, text in items]


# ---------------------------------------------------------------- layout


@dataclass
class Scale:
    first: date
    last: date

    def x(self, day: date) -> float:
        span = max((self.last - self.first).days + 1, 1)
        offset = min(max((day - self.first).days, 0), span)
        return round(LEFT + (WIDTH - LEFT - RIGHT) * offset / span, 1)


@dataclass
class Picture:
    """Shapes in SVG user units, ready for the template."""

    bars: list[dict[str, Any]]
    extensions: list[dict[str, Any]]
    suspensions: list[dict[str, Any]]
    marks: list[dict[str, Any]]
    ticks: list[dict[str, Any]]
    as_of: dict[str, Any] | None
    title: str
    summary: str
    words: list[str]
    width: int = WIDTH
    height: int = HEIGHT
    bar_y: int = BAR_Y
    bar_height: int = BAR_HEIGHT
    axis_y: int = AXIS_Y


def draw(entries: Sequence[dict[str, Any]], as_of: date, name: str) -> Picture:
    history = read(entries)
    starts = [p.start for p in history.periods] + [m.day for m in history.marks] + [as_of]
    ends = [p.end for p in history.periods]
    first_year = min(starts).year
    # Far-off end dates (a certificate valid for decades) are cut at a few years past the last event.
    latest = max(starts)
    cut = latest + HORIZON if latest <= date.max - HORIZON else date.max  # an as-of date in year 9999 included
    last_year = min(max(starts + ends), cut).year
    scale = Scale(date(first_year, 1, 1), date(last_year, 12, 31))

    bars = [{"x": scale.x(p.start), "width": max(scale.x(min(p.granted_until, p.end) + ONE_DAY) - scale.x(p.start), 1.5),
             "standard": p.standard, "year": p.year, "start": p.start.isoformat(), "end": p.end.isoformat(),
             "label": str(p.year),
             "title": f"{'Recertified' if p.renewal else 'Certified'} {p.start} to {p.end}, "
                      f"{STANDARD_NAMES.get(p.standard, p.standard)}"
                      + (f", certificate {p.certificate}" if p.certificate else "")}
            for p in history.periods]
    extensions = [{"x": scale.x(p.granted_until + ONE_DAY),
                   "width": max(scale.x(p.end + ONE_DAY) - scale.x(p.granted_until + ONE_DAY), 1.5),
                   "title": f"Extended from {p.granted_until} to {p.end}"}
                  for p in history.periods if p.end > p.granted_until]
    suspensions = [{"x": scale.x(s.start), "width": max(scale.x((s.end or s.start) + ONE_DAY) - scale.x(s.start), 2),
                    "title": f"Suspended {s.start} to {s.end}: {s.reason}", "start": s.start.isoformat()}
                   for s in history.suspensions]
    marks = place_marks(history.marks, scale)
    ticks = year_ticks(scale)
    as_of_line = {"x": scale.x(as_of), "label": f"as of {as_of}"} if scale.first <= as_of <= scale.last else None
    if as_of_line is not None:
        as_of_line["anchor"] = "end" if as_of_line["x"] > WIDTH * 0.8 else "start"
    count = len(history.periods)
    summary = (f"{count} certification period{'s' if count != 1 else ''} from {first_year} to {last_year}"
               if count else f"Never certified ({first_year} to {last_year})")
    return Picture(bars, extensions, suspensions, marks, ticks, as_of_line, f"Certification timeline of {name}",
                   summary, words(history))


def place_marks(marks: Sequence[Mark], scale: Scale) -> list[dict[str, Any]]:
    """Each mark in the first row where its letter does not touch the previous one."""
    rows_end: list[float] = []
    placed = []
    for mark in sorted(marks, key=lambda m: m.day):
        x = scale.x(mark.day)
        row = next((i for i, end in enumerate(rows_end) if x - end >= MARK_GAP), None)
        if row is None:
            row = len(rows_end)
            rows_end.append(x)
        rows_end[row] = x
        placed.append({"x": x, "y": MARK_Y + row * MARK_ROW, "kind": mark.kind, "letter": mark.letter,
                       "title": mark.text, "day": mark.day.isoformat()})
    return placed


def year_ticks(scale: Scale) -> list[dict[str, Any]]:
    years = scale.last.year - scale.first.year + 1
    step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 1000) if years / s <= 16)
    ticks = []
    for year in range(scale.first.year, scale.last.year + 1):
        x = scale.x(date(year, 1, 1))
        labelled = year % step == 0 or step == 1
        if years > YEAR_TICKS and not labelled:
            continue  # an as-of date far ahead (the year 9999) would draw thousands of ticks no one could tell apart
        middle = scale.x(date(year, 7, 1))
        ticks.append({"x": x, "label": str(year) if labelled else "", "label_x": middle if step == 1 else x})
    return ticks
