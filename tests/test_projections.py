"""The read models: kept incrementally, exactly once, never stale, and equal to a replay."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from eventsourcing.persistence import IntegrityError

from ledger.application import system_time as ledger_application
from ledger.application import CertificationLedger
from ledger.errors import InvalidInput
from ledger.domain.values import today_utc
from projections import Views, compare_with_rebuild
from projections.registry import Filters, registry_query
from projections.rows import Version


def orgs(records: list[dict]) -> list[str]:
    return [r["org"] for r in records]


def without_known_at(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "known_at"} for r in records]


@pytest.fixture
def views(ledger: CertificationLedger) -> Views:
    return Views(ledger.log)


def register(ledger: CertificationLedger, org: str, country: str = "PE", on: str = "2016-01-10") -> None:
    ledger.register(org, name=org.title(), country=country, date=on)


# ---------------------------------------------------------------- tracking: empty, counting up, exactly once

def test_views_of_an_empty_ledger_start_at_position_zero_and_answer_nothing(views: Views) -> None:
    assert views.catch_up() == 0
    assert views.tracked_position() == 0
    assert views.registry("2019-12-31") == []
    assert views.streaks("2019-12-31") == []
    assert views.covered("2019-12-31") == []
    assert views.changes() == []
    report = views.year_report(2019)
    assert report["certified_at_end"] == 0 and report["newly_certified"] == [] and report["expired"] == []


def test_catch_up_counts_up_one_position_per_recorded_event(ledger: CertificationLedger, views: Views) -> None:
    register(ledger, "cecomip")
    assert views.catch_up() == 1
    assert views.tracked_position() == 1
    assert orgs(views.registry("2016-01-10")) == ["cecomip"]

    ledger.certify("cecomip", date="2016-06-15", standard="fairmined")
    ledger.recertify("cecomip", date="2017-05-24")
    assert views.catch_up() == 2
    assert views.tracked_position() == 3
    assert views.catch_up() == 0
    assert [(r["org"], r["consecutive_years"]) for r in views.streaks("2017-12-31")] == [("cecomip", 2)]
    assert views.covered("2017-12-31") == ["cecomip"]
    assert [e["position"] for e in views.changes()] == [1, 2, 3]


def test_catch_up_works_through_many_small_batches(ledger: CertificationLedger) -> None:
    for n in range(7):
        register(ledger, f"org-{n}")
    views = Views(ledger.log, batch_size=2)
    batches = []
    assert views.catch_up(on_batch=batches.append) == 7
    assert [b.position for b in batches] == [2, 4, 6, 7]
    assert len(views.registry("2016-12-31")) == 7


def test_a_position_already_applied_is_refused(ledger: CertificationLedger, views: Views) -> None:
    register(ledger, "cecomip")
    register(ledger, "oro-puno")
    views.catch_up()
    with pytest.raises(IntegrityError):
        views.store.apply_batch([], [], 2, 2)
    with pytest.raises(IntegrityError):
        views.store.apply_batch([], [], 1, 2)
    with pytest.raises(IntegrityError):  # computed from an earlier position than the views hold
        views.store.apply_batch([], [], 3, 1)
    assert views.tracked_position() == 2


def test_a_refused_batch_writes_no_view_rows(ledger: CertificationLedger, views: Views) -> None:
    register(ledger, "cecomip")
    views.catch_up()
    ghost = Version("status_segments", ("ghost", "2016-01-01", 1, "registered", "PE", None, None, 0,
                                        '{"org":"ghost"}', None, None, None), 1)
    with pytest.raises(IntegrityError):
        views.store.apply_batch([], [ghost], 1, 1)
    assert orgs(views.registry("2019-01-01")) == ["cecomip"]


def test_two_views_of_one_database_share_the_tracked_position(ledger: CertificationLedger) -> None:
    register(ledger, "cecomip")
    first, second = Views(ledger.log), Views(ledger.log)
    first.catch_up()
    assert second.catch_up() == 0
    assert second.tracked_position() == 1


class Overtaken(Exception):
    pass


def test_a_catch_up_that_another_process_overtook_part_way_carries_on_from_there(
        ledger: CertificationLedger) -> None:
    """Found by the web concurrency test: a worker computed positions 1..3 while another committed 1..2; its
    own commit then failed on the rows already there (its tracked position, 3, was new), and the question
    that caught up was refused instead of carrying on from position 2."""
    for org in ("a-org", "b-org", "c-org"):
        register(ledger, org)
    first, second = Views(ledger.log, batch_size=2), Views(ledger.log)
    first.store, second.store  # noqa: B018 - both open (and lay out) the views first
    commit = second.store.apply_batch

    def overtaken(closes: Any, versions: Any, position: int, previous: int) -> None:
        if first.tracked_position() == 0:
            with pytest.raises(Overtaken):
                first.catch_up(on_batch=lambda progress: (_ for _ in ()).throw(Overtaken()))
            assert first.tracked_position() == 2
        commit(closes, versions, position, previous)

    second.store.apply_batch = overtaken  # type: ignore[method-assign]
    assert second.catch_up() == 1
    assert second.tracked_position() == 3
    assert orgs(second.registry("2016-12-31")) == ["a-org", "b-org", "c-org"]
    assert compare_with_rebuild(ledger.log) == []


# ---------------------------------------------------------------- registry: any date, every way a certificate ends

@pytest.fixture
def endings(ledger: CertificationLedger) -> CertificationLedger:
    """One organization per way a certificate ends, and one that stays certified."""
    for org, country in (("expires", "PE"), ("denied", "BO"), ("withdrawn", "CO"), ("renewed", "PE"),
                         ("never", "MN")):
        register(ledger, org, country)
    for org in ("expires", "denied", "withdrawn", "renewed"):
        ledger.certify(org, date="2017-03-01", standard="fairmined")
    ledger.deny("denied", date="2018-01-15", reason_category="commercial", reason="no Fairmined sales")
    ledger.withdraw("withdrawn", date="2017-09-01", mode="voluntary", reason="internal reasons")
    ledger.recertify("renewed", date="2018-02-01", standard="ecological")
    return ledger


def test_registry_of_certified_lists_exactly_the_covered_organizations_on_any_date(endings: CertificationLedger,
                                                                                     views: Views) -> None:
    assert orgs(views.registry("2017-02-28", statuses=["certified"])) == []
    assert orgs(views.registry("2017-03-01", statuses=["certified"])) == ["denied", "expires", "renewed",
                                                                          "withdrawn"]
    assert orgs(views.registry("2017-08-31", statuses=["certified"])) == ["denied", "expires", "renewed",
                                                                          "withdrawn"]
    assert orgs(views.registry("2017-09-01", statuses=["certified"])) == ["denied", "expires", "renewed"]
    assert orgs(views.registry("2018-02-28", statuses=["certified"])) == ["denied", "expires", "renewed"]
    assert orgs(views.registry("2018-03-01", statuses=["certified"])) == ["renewed"]
    assert orgs(views.registry("2019-02-28", statuses=["certified"])) == ["renewed"]
    assert orgs(views.registry("2019-03-01", statuses=["certified"])) == []


def test_registry_agrees_with_the_pure_fold_on_every_day_around_the_endings(endings: CertificationLedger,
                                                                          views: Views) -> None:
    day = date(2016, 1, 1)
    while day < date(2019, 6, 1):
        assert without_known_at(views.registry(day)) == without_known_at(endings.statuses(day)), day
        day += timedelta(days=29)


def test_registry_shows_how_each_certificate_ended(endings: CertificationLedger, views: Views) -> None:
    statuses = {r["org"]: r["status"] for r in views.registry("2019-06-01")}
    assert statuses == {"denied": "expired", "expires": "expired", "never": "registered", "renewed": "expired",
                        "withdrawn": "withdrawn"}


def test_registry_filters_combine(endings: CertificationLedger, views: Views) -> None:
    assert orgs(views.registry("2018-03-15", statuses=["certified", "expired"], country="PE")) == ["expires",
                                                                                                   "renewed"]
    assert orgs(views.registry("2018-03-15", statuses=["certified"], standard="ecological")) == ["renewed"]
    assert orgs(views.registry("2018-03-15", statuses=["expired"], standard="ecological")) == []
    assert orgs(views.registry("2018-03-15", country="MN")) == ["never"]


def test_registry_omits_organizations_before_their_registration(ledger: CertificationLedger, views: Views) -> None:
    register(ledger, "early", on="2015-01-01")
    register(ledger, "late", on="2018-01-01")
    assert orgs(views.registry("2017-12-31")) == ["early"]
    assert orgs(views.registry("2018-01-01")) == ["early", "late"]


def test_registry_records_are_status_records_with_query_time_fields(endings: CertificationLedger,
                                                                    views: Views) -> None:
    record = views.registry("2018-03-15", statuses=["certified"])[0]
    assert record == {**endings.state_at("renewed", "2018-03-15"), "known_at": record["known_at"]}
    assert record["as_of"] == "2018-03-15" and record["known_at"].endswith("Z")


def test_unknown_filter_values_are_refused(views: Views) -> None:
    with pytest.raises(InvalidInput, match="--status"):
        views.registry(statuses=["valid"])
    with pytest.raises(InvalidInput, match="--country"):
        views.registry(country="EU")
    with pytest.raises(InvalidInput, match="--standard"):
        views.registry(standard="gold")
    with pytest.raises(InvalidInput, match="--as-of"):
        views.registry(as_of="2019-02-30")


def test_the_periods_table_covers_the_same_organizations_as_certified_or_suspended(endings: CertificationLedger,
                                                                                   views: Views) -> None:
    endings.suspend("renewed", date="2018-06-01", reason="traceability records missing")
    for day in ("2017-03-01", "2017-09-01", "2018-03-01", "2018-06-01", "2019-02-28", "2019-03-01"):
        expected = [r["org"] for r in endings.statuses(day) if r["status"] in ("certified", "suspended")]
        assert views.covered(day) == expected, day


# ---------------------------------------------------------------- never stale

def test_time_passing_alone_expires_a_certificate(ledger: CertificationLedger, views: Views,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    today = today_utc()
    register(ledger, "cecomip", on=(today - timedelta(days=400)).isoformat())
    ledger.certify("cecomip", date=(today - timedelta(days=30)).isoformat(), standard="fairmined",
                   valid_until=today.isoformat())
    assert [r["status"] for r in views.registry()] == ["certified"]
    position = views.tracked_position()

    monkeypatch.setattr(ledger_application, "today_utc", lambda: today + timedelta(days=1))
    assert [r["status"] for r in views.registry()] == ["expired"]
    assert views.tracked_position() == position


def test_a_certificate_that_ran_out_yesterday_is_expired_today(ledger: CertificationLedger, views: Views) -> None:
    today = today_utc()
    register(ledger, "cecomip", on="2016-01-10")
    ledger.certify("cecomip", date="2016-06-15", standard="fairmined",
                   valid_until=(today - timedelta(days=1)).isoformat())
    assert [r["status"] for r in views.registry()] == ["expired"]
    assert [r["status"] for r in views.registry(today - timedelta(days=1))] == ["certified"]


def test_queries_catch_up_with_events_recorded_since_the_last_query(ledger: CertificationLedger,
                                                                    views: Views) -> None:
    register(ledger, "cecomip")
    assert orgs(views.registry("2019-01-01")) == ["cecomip"]
    register(ledger, "oro-puno")
    assert orgs(views.registry("2019-01-01")) == ["cecomip", "oro-puno"]


# ---------------------------------------------------------------- back-dated events and retractions

def test_a_back_dated_suspension_recorded_today_shows_for_the_past_date(ledger: CertificationLedger,
                                                                       views: Views) -> None:
    register(ledger, "cecomip")
    ledger.certify("cecomip", date="2018-06-15", standard="fairmined")
    assert [r["status"] for r in views.registry("2018-10-01")] == ["certified"]
    first_position = views.tracked_position()

    ledger.suspend("cecomip", date="2018-09-01", reason="traceability records missing")
    [record] = views.registry("2018-10-01")
    assert record["status"] == "suspended" and record["suspended_since"] == "2018-09-01"
    assert orgs(views.registry("2018-10-01", statuses=["certified"])) == []
    before = views.registry("2018-10-01", known_at=first_position)
    assert [r["status"] for r in before] == ["certified"]


def test_a_retraction_recomputes_the_organization_as_if_the_event_never_happened(ledger: CertificationLedger,
                                                                                 views: Views) -> None:
    register(ledger, "cecomip")
    ledger.certify("cecomip", date="2016-06-15", standard="fairmined")
    recertified = ledger.recertify("cecomip", date="2017-05-24")
    assert [r["consecutive_years"] for r in views.streaks("2017-12-31")] == [2]

    ledger.retract("cecomip", recertified.version, date="2017-08-01", reason="recorded twice by mistake")
    assert views.streaks("2017-12-31") == []
    assert [r["status"] for r in views.registry("2017-12-31")] == ["expired"]
    assert views.year_report(2017)["recertified"] == []
    retracted = [e for e in views.changes() if e["version"] == recertified.version]
    assert retracted[0]["retracted"] is True and retracted[0]["retracted_by"] == 4


def test_the_live_views_always_equal_a_fresh_replay(endings: CertificationLedger, views: Views) -> None:
    endings.suspend("renewed", date="2018-06-01", reason="traceability records missing")
    endings.reinstate("renewed", date="2018-07-01")
    endings.retract("denied", 3, date="2018-02-01", reason="recorded for the wrong organization")
    views.catch_up()
    assert compare_with_rebuild(endings.log) == []


def test_compare_with_rebuild_names_a_tampered_view_row(endings: CertificationLedger, views: Views) -> None:
    views.catch_up()
    with views.store.datastore.transaction(commit=True) as c:
        c.execute(views.store.dialect.sql("UPDATE {status_segments} SET status = 'certified' WHERE org = 'never'"))
    problems = compare_with_rebuild(endings.log)
    assert problems and all(p.startswith("status_segments: never:") for p in problems)


# ---------------------------------------------------------------- rebuild

def test_rebuild_changes_no_answer(endings: CertificationLedger, views: Views) -> None:
    endings.suspend("renewed", date="2018-06-01", reason="traceability records missing")
    questions = [
        lambda: without_known_at(views.registry("2018-06-15")),
        lambda: without_known_at(views.registry("2017-03-15", statuses=["certified"], country="PE")),
        lambda: without_known_at(views.streaks("2018-03-15")),
        lambda: views.year_report(2018),
        lambda: views.changes(since=2, limit=5),
        lambda: views.covered("2018-06-15"),
    ]
    before = [q() for q in questions]
    summary = views.rebuild()
    assert (summary.events, summary.organizations) == (13, 5)
    assert "13 events replayed, 5 organizations" in str(summary)
    assert views.tracked_position() == 13
    assert [q() for q in questions] == before


def test_rebuild_of_an_empty_ledger_leaves_empty_views(views: Views) -> None:
    summary = views.rebuild()
    assert (summary.events, summary.organizations) == (0, 0)
    assert views.tracked_position() == 0


# ---------------------------------------------------------------- streaks, changes, known-at

def test_streaks_are_longest_first_then_by_certified_since_then_org(ledger: CertificationLedger,
                                                                    views: Views) -> None:
    for org in ("b-two", "a-two", "c-one", "d-three", "e-none"):
        register(ledger, org, on="2015-01-01")
    ledger.certify("d-three", date="2016-01-01", standard="fairmined")
    ledger.recertify("d-three", date="2016-12-01")
    ledger.recertify("d-three", date="2017-12-01")
    ledger.certify("b-two", date="2017-01-01", standard="fairmined")
    ledger.recertify("b-two", date="2017-12-15")
    ledger.certify("a-two", date="2017-01-01", standard="fairmined")
    ledger.recertify("a-two", date="2017-12-15")
    ledger.certify("c-one", date="2016-05-01", standard="fairmined")
    ledger.recertify("c-one", date="2017-04-01")
    ledger.suspend("c-one", date="2017-06-01", reason="records missing")
    result = views.streaks("2018-01-31")
    assert [(r["org"], r["consecutive_years"]) for r in result] == [("d-three", 3), ("c-one", 2), ("a-two", 2),
                                                                    ("b-two", 2)]
    assert result[1]["status"] == "suspended"


def test_changes_pages_through_the_feed_in_position_order(endings: CertificationLedger, views: Views) -> None:
    page = views.changes(since=3, limit=4)
    assert [e["position"] for e in page] == [4, 5, 6, 7]
    assert page[0] == {**endings.history("renewed")[0], "org": "renewed"}
    assert [e["position"] for e in views.changes(since=10, limit=100)] == [11, 12]
    assert views.changes(since=0, limit=0) == []


def test_changes_known_at_an_earlier_position_leave_later_retractions_unmarked(ledger: CertificationLedger,
                                                                              views: Views) -> None:
    register(ledger, "cecomip")
    ledger.certify("cecomip", date="2016-06-15", standard="fairmined")
    ledger.retract("cecomip", 2, date="2016-07-01", reason="wrong organization")
    assert [e["retracted"] for e in views.changes()] == [False, True, False]
    assert [e["retracted"] for e in views.changes(known_at=2)] == [False, False]


def test_known_at_answers_are_what_the_ledger_said_then(endings: CertificationLedger, views: Views) -> None:
    for position in range(1, 13):
        for day in ("2017-06-01", "2018-02-15", "2018-06-01"):
            assert views.registry(day, known_at=position) == endings.statuses(day, known_at=position)


def test_known_at_echoes_the_instant_asked(endings: CertificationLedger, views: Views) -> None:
    [record] = views.registry("2018-06-01", country="MN", known_at="2099-01-01T00:00:00")
    assert record["known_at"] == "2099-01-01T00:00:00.000000Z"


def test_report_known_at_an_earlier_position_leaves_later_events_out(endings: CertificationLedger,
                                                                    views: Views) -> None:
    later = views.year_report(2018)
    earlier = views.year_report(2018, known_at=9)
    assert [d["org"] for d in later["denied"]] == ["denied"] and earlier["denied"] == []
    assert [r["org"] for r in later["recertified"]] == ["renewed"] and earlier["recertified"] == []


def test_report_periods_must_be_real_and_in_order(views: Views) -> None:
    with pytest.raises(InvalidInput, match="--from"):
        views.report("2019-01-31", "2019-01-01")
    with pytest.raises(InvalidInput, match="--to"):
        views.report("2019-01-01", "2019-13-01")


def test_the_registry_as_of_a_date_searches_each_organization_once_whatever_the_length_of_its_history(
        ledger: CertificationLedger, views: Views) -> None:
    if views.store.dialect.param != "?":
        pytest.skip("the query plan checked here is SQLite's")
    register(ledger, "cecomip")
    views.catch_up()
    statement, params = registry_query(views.store.dialect, date(2019, 12, 31), 1, filters=Filters(
        ["certified"], "PE", "fairmined", region="puno", q="oro", expiring_by=date(2020, 1, 30)))
    with views.store.reading() as c:
        c.execute("EXPLAIN QUERY PLAN " + statement, params)
        plan = " ".join(row["detail"] for row in c.fetchall())
    assert "SEARCH first USING COVERING INDEX status_segments_opening (opening=?)" in plan
    assert "SEARCH t USING COVERING INDEX status_segments_org_start (org=? AND start_day<?)" in plan
    assert "SCAN" not in plan

def test_several_processes_catching_up_at_once_leave_views_equal_to_a_replay(ledger: CertificationLedger,
                                                                              db_url: str) -> None:
    import threading

    for n in range(3):
        register(ledger, f"org-{n}")
        for day in range(1, 16):
            ledger.audit(f"org-{n}", date=f"2017-01-{day:02d}", body="IMO", kind="surveillance")
    failures: list[BaseException] = []

    def catch_up() -> None:
        other = CertificationLedger(db_url)
        try:
            Views(other.log, batch_size=3, replay_from_empty=10**9).catch_up()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            failures.append(error)
        finally:
            other.close()

    workers = [threading.Thread(target=catch_up) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    assert Views(ledger.log).tracked_position() == ledger.recorder.max_position()
    assert compare_with_rebuild(ledger.log) == []


# ---------------------------------------------------------------- one page of the registry

PAGE_ORGS = ["la", "la-cascada", "lab", "a-b", "ab", "a0", "zz-top", "oro-puno", "oro9", "cecomip"]


def test_a_page_of_the_registry_is_that_slice_of_it_and_counts_all_of_it(ledger: CertificationLedger,
                                                                         views: Views) -> None:
    """Ids that a locale's collation orders otherwise (``la-cascada``, ``lab``: hyphens ignored) come in
    the order Python gives them, on PostgreSQL too."""
    for n, org in enumerate(PAGE_ORGS):
        register(ledger, org, country="PE" if n % 2 else "CO", on=f"2016-01-{10 + n}")
        if n % 3 == 0:
            ledger.certify(org, date="2016-06-15", standard="fairmined")
    for as_of, known_at, filters in [("2016-12-31", None, {}), ("2016-01-14", None, {}), ("2016-12-31", 9, {}),
                                     ("2016-12-31", None, {"statuses": ["certified"]}),
                                     ("2016-12-31", None, {"country": "PE"}), ("2016-12-31", 5, {"q": "a"}),
                                     ("2015-12-31", None, {})]:
        whole = views.registry(as_of, known_at=known_at, **filters)
        assert orgs(whole) == sorted(orgs(whole)) and whole.total == len(whole)
        for limit, offset in [(1, 0), (3, 0), (3, 2), (4, 8), (100, 0), (0, 0), (0, 4), (2, len(whole)), (5, 99)]:
            page = views.registry(as_of, known_at=known_at, limit=limit, offset=offset, **filters)
            assert without_known_at(page) == without_known_at(whole[offset:offset + limit]), (as_of, limit, offset)
            assert page.total == len(whole) and page.position == whole.position


def test_a_page_is_refused_a_negative_limit_or_offset(views: Views) -> None:
    with pytest.raises(InvalidInput, match="--limit"):
        views.registry("2019-12-31", limit=-1)
    with pytest.raises(InvalidInput, match="--offset"):
        views.registry("2019-12-31", limit=5, offset=-5)


def test_a_page_without_filters_reads_only_that_page_of_the_openings(ledger: CertificationLedger,
                                                                      views: Views) -> None:
    if views.store.dialect.param != "?":
        pytest.skip("the query plan checked here is SQLite's")
    register(ledger, "cecomip")
    views.catch_up()
    statement, params = registry_query(views.store.dialect, date(2019, 12, 31), 1, filters=Filters(), page=(100, 0))
    with views.store.reading() as c:
        c.execute("EXPLAIN QUERY PLAN " + statement, params)
        plan = [row["detail"] for row in c.fetchall()]
    assert "SEARCH o USING COVERING INDEX status_segments_opening (opening=?)" in plan
    # The openings come in id order from the index: nothing is sorted but the page itself.
    assert plan.count("USE TEMP B-TREE FOR ORDER BY") <= 1 and "SCAN" not in " ".join(plan).replace("SCAN first", "")
