"""The yearly report reproduces the scheme's 2019 news from the demo data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.application import CertificationLedger
from projections import Views

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(ledger: CertificationLedger, name: str) -> None:
    for line in (EXAMPLES / name).read_text(encoding="utf-8").splitlines():
        if line.strip():
            ledger.record(json.loads(line))


@pytest.fixture
def news_2019(ledger: CertificationLedger) -> dict:
    load(ledger, "fairmined-2019.jsonl")
    return Views(ledger.log).year_report(2019)


def test_the_report_has_exactly_the_shape_of_the_spec(news_2019: dict) -> None:
    assert list(news_2019) == ["from", "to", "certified_at_end", "certified", "newly_certified", "recertified",
                               "denied", "suspended", "withdrawn", "expired"]
    assert (news_2019["from"], news_2019["to"]) == ("2019-01-01", "2019-12-31")


def test_oro_puno_and_cecomip_were_recertified_for_their_second_and_fourth_consecutive_years(news_2019: dict) -> None:
    assert news_2019["recertified"] == [
        {"org": "oro-puno", "date": "2019-04-05", "standard": "ecological", "consecutive_years": 2},
        {"org": "cecomip", "date": "2019-05-22", "standard": "fairmined", "consecutive_years": 4},
    ]
    assert news_2019["newly_certified"] == []


def test_only_the_two_recertified_organizations_are_certified_on_31_december(news_2019: dict) -> None:
    assert news_2019["certified"] == ["cecomip", "oro-puno"]
    assert news_2019["certified_at_end"] == 2


def test_yani_and_xamodx_were_denied_recertification_with_their_reasons(news_2019: dict) -> None:
    assert [(d["org"], d["stage"], d["reason_category"]) for d in news_2019["denied"]] == [
        ("aurifera-yani", "recertification", "commercial"),
        ("xamodx", "recertification", "health-safety"),
    ]
    assert "commercial requirements" in news_2019["denied"][0]["reason"]
    assert "health and safety" in news_2019["denied"][1]["reason"]


def test_their_certificates_then_ran_out_at_the_end_of_the_period(news_2019: dict) -> None:
    assert news_2019["expired"] == [
        {"org": "aurifera-yani", "date": "2019-03-06", "valid_until": "2019-03-05"},
        {"org": "xamodx", "date": "2019-06-12", "valid_until": "2019-06-11"},
    ]


def test_la_cascada_withdrew_voluntarily_for_internal_reasons(news_2019: dict) -> None:
    assert news_2019["withdrawn"] == [{"org": "la-cascada", "date": "2019-06-14", "mode": "voluntary",
                                       "reason": "for internal reasons decided not to continue with the "
                                                 "certification"}]
    assert news_2019["suspended"] == []


def test_a_suspended_organization_is_not_counted_as_certified_at_the_end(ledger: CertificationLedger) -> None:
    load(ledger, "fairmined-2019.jsonl")
    ledger.suspend("cecomip", date="2019-12-01", reason="traceability records missing", resolve_by="2020-01-31")
    report = Views(ledger.log).year_report(2019)
    assert report["certified"] == ["oro-puno"]
    assert report["suspended"] == [{"org": "cecomip", "date": "2019-12-01", "reason": "traceability records missing",
                                    "resolve_by": "2020-01-31"}]


def test_a_period_report_counts_what_falls_inside_it(ledger: CertificationLedger) -> None:
    load(ledger, "fairmined-2019.jsonl")
    report = Views(ledger.log).report("2019-05-01", "2019-05-31")
    assert [r["org"] for r in report["recertified"]] == ["cecomip"]
    assert [d["org"] for d in report["denied"]] == ["xamodx"]
    assert report["expired"] == [] and report["withdrawn"] == []
    assert report["certified"] == ["cecomip", "la-cascada", "oro-puno", "xamodx"]


def test_the_longest_streak_at_the_end_of_2019_is_cecomip(ledger: CertificationLedger) -> None:
    load(ledger, "fairmined-2019.jsonl")
    streaks = Views(ledger.log).streaks("2019-12-31")
    assert [(s["org"], s["consecutive_years"], s["recertifications"]) for s in streaks] == [
        ("cecomip", 4, 3), ("oro-puno", 2, 1)]
