"""The timeline picture read from history entries: periods, extensions, suspensions, withdrawals, retractions."""

from __future__ import annotations

from datetime import date
from typing import Any

from web import timeline


def entry(version: int, kind: str, day: str, retracted: bool = False, **fields: Any) -> dict[str, Any]:
    return {"position": version, "version": version, "type": kind, "date": day, "fields": fields,
            "retracted": retracted, "retracted_by": None, "recorded_at": None, "recorded_by": "tester"}


def granted(version: int, start: str, end: str, standard: str = "fairmined", **more: Any) -> dict[str, Any]:
    return entry(version, "CertificationGranted", start, standard=standard, certificate="FM-1", valid_from=start,
                 valid_until=end, **more)


def renewed(version: int, day: str, start: str, end: str, standard: str = "fairmined") -> dict[str, Any]:
    return entry(version, "Recertified", day, standard=standard, certificate="FM-1", valid_from=start, valid_until=end)


REGISTERED = entry(1, "OrganizationRegistered", "2015-01-10", org="mina", name="Mina")


def spans(history: timeline.History) -> list[tuple[str, str, int]]:
    return [(p.start.isoformat(), p.end.isoformat(), p.year) for p in history.periods]


def test_a_grant_and_its_renewals_are_one_chain_counted_year_by_year() -> None:
    history = timeline.read([REGISTERED, granted(2, "2016-06-15", "2017-06-14"),
                             renewed(3, "2017-05-24", "2017-06-15", "2018-06-14")])
    assert spans(history) == [("2016-06-15", "2017-06-14", 1), ("2017-06-15", "2018-06-14", 2)]
    assert [m.letter for m in history.marks] == ["R"]


def test_an_extension_moves_the_latest_period_end_and_is_marked() -> None:
    history = timeline.read([REGISTERED, granted(2, "2019-06-15", "2020-06-14"),
                             entry(3, "ValidityExtended", "2020-04-17", until="2020-10-14", reason="COVID-19")])
    (period,) = history.periods
    assert (period.granted_until, period.end) == (date(2020, 6, 14), date(2020, 10, 14))
    assert [m.kind for m in history.marks] == ["registered", "extended"]
    assert "Certified 2019-06-15 to 2020-10-14" in timeline.words(history)[1]
    assert "extended from 2020-06-14" in timeline.words(history)[1]


def test_a_withdrawal_ends_the_certificate_the_day_before() -> None:
    history = timeline.read([REGISTERED, granted(2, "2018-06-15", "2019-06-14"),
                             entry(3, "CertificationWithdrawn", "2019-01-31", mode="voluntary", reason="stopped")])
    assert spans(history) == [("2018-06-15", "2019-01-30", 1)]
    assert history.marks[-1].letter == "W"


def test_a_suspension_runs_to_its_lifting_or_to_the_end_of_the_certificate() -> None:
    lifted = timeline.read([REGISTERED, granted(2, "2013-05-15", "2014-05-14"),
                            entry(3, "CertificationSuspended", "2013-09-24", reason="safety"),
                            entry(4, "SuspensionLifted", "2013-12-02")])
    assert [(s.start, s.end) for s in lifted.suspensions] == [(date(2013, 9, 24), date(2013, 12, 1))]
    open_ended = timeline.read([REGISTERED, granted(2, "2013-05-15", "2014-05-14"),
                                entry(3, "CertificationSuspended", "2013-09-24", reason="safety")])
    assert [(s.start, s.end) for s in open_ended.suspensions] == [(date(2013, 9, 24), date(2014, 5, 14))]


def test_retracted_entries_and_retractions_take_no_part() -> None:
    history = timeline.read([REGISTERED, granted(2, "2016-01-16", "2017-01-15", retracted=True),
                             entry(3, "EntryRetracted", "2017-01-16", target=2, reason="wrong year"),
                             granted(4, "2017-01-16", "2018-01-15")])
    assert spans(history) == [("2017-01-16", "2018-01-15", 1)]


def test_a_new_grant_after_a_gap_starts_a_new_chain() -> None:
    history = timeline.read([REGISTERED, granted(2, "2015-03-01", "2016-02-29"), granted(3, "2017-03-01", "2018-02-28")])
    assert [p.year for p in history.periods] == [1, 1]


def test_entries_are_read_in_effective_date_order_whatever_their_recording_order() -> None:
    history = timeline.read([REGISTERED, renewed(3, "2017-05-24", "2017-06-15", "2018-06-14"),
                             granted(2, "2016-06-15", "2017-06-14")])
    assert [p.year for p in history.periods] == [1, 2]


def test_the_picture_spans_the_years_with_one_bar_per_period_and_marks_the_day_shown() -> None:
    picture = timeline.draw([REGISTERED, granted(2, "2016-06-15", "2017-06-14"),
                             renewed(3, "2017-05-24", "2017-06-15", "2018-06-14"),
                             entry(4, "CertificationDenied", "2018-05-01", stage="recertification",
                                   reason_category="commercial", reason="no sales")], date(2019, 12, 31), "Mina")
    assert [bar["start"] for bar in picture.bars] == ["2016-06-15", "2017-06-15"]
    assert [tick["label"] for tick in picture.ticks] == ["2015", "2016", "2017", "2018", "2019"]
    assert picture.bars[0]["x"] < picture.bars[1]["x"] < picture.as_of["x"]  # type: ignore[index]
    assert {mark["letter"] for mark in picture.marks} == {"R", "D"}
    assert picture.summary == "2 certification periods from 2015 to 2019"


def test_far_off_end_dates_are_cut_a_few_years_past_the_last_event() -> None:
    picture = timeline.draw([REGISTERED, granted(2, "2016-06-15", "2099-12-31")], date(2017, 1, 1), "Mina")
    assert picture.ticks[-1]["label"] == "2020"
    assert picture.bars[0]["x"] + picture.bars[0]["width"] <= timeline.WIDTH - timeline.RIGHT + 0.5


def test_marks_that_would_touch_go_to_another_row() -> None:
    picture = timeline.draw([REGISTERED, granted(2, "2016-06-15", "2017-06-14"),
                             entry(3, "CertificationSuspended", "2016-09-01", reason="a"),
                             entry(4, "CertificationWithdrawn", "2016-09-02", mode="imposed", reason="b")],
                            date(2017, 1, 1), "Mina")
    rows = {mark["letter"]: mark["y"] for mark in picture.marks}
    assert rows["S"] != rows["W"]
