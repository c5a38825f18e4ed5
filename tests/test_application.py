"""The application service on a real database: recording, reading back, system time, keys, uniqueness."""

from __future__ import annotations

from contextlib import contextmanager

import hashlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator
from uuid import UUID

import pytest

from ledger.application import CertificationLedger, recording
from ledger.errors import AlreadyRegistered, DuplicateCertificate, InvalidInput, LedgerError, UnknownOrganization
from ledger.domain.organization import organization_id

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def stored_rows_digest(ledger: CertificationLedger) -> str:
    """A digest of every stored event row: equal digests mean nothing was written."""
    rows = ledger.recorder.select_notifications(start=1, limit=10**9)
    digest = hashlib.sha256()
    for row in rows:
        digest.update(f"{row.id}|{row.originator_id}|{row.originator_version}|{row.topic}|".encode())
        digest.update(bytes(row.state))
    return f"{len(rows)}:{digest.hexdigest()}"


def refused(ledger: CertificationLedger, action: Callable[[], Any], error: type[LedgerError] = LedgerError) -> str:
    before = stored_rows_digest(ledger)
    with pytest.raises(error) as refusal:
        action()
    assert stored_rows_digest(ledger) == before, "a refused command must write nothing"
    return str(refusal.value)


def import_file(ledger: CertificationLedger, name: str) -> None:
    for line in (EXAMPLES / name).read_text(encoding="utf-8").splitlines():
        if line.strip():
            ledger.record(json.loads(line))


def register(ledger: CertificationLedger, org: str = "cecomip", on: str = "2016-01-10") -> None:
    ledger.register(org, name=org.upper(), country="PE", date=on)


# ---------------------------------------------------------------- the acceptance example

def test_as_of_2019_cecomip_has_four_consecutive_years_and_oro_puno_two(ledger: CertificationLedger) -> None:
    import_file(ledger, "fairmined-2019.jsonl")
    cecomip = ledger.state_at("cecomip", "2019-12-31")
    oro_puno = ledger.state_at("oro-puno", "2019-12-31")
    assert (cecomip["status"], cecomip["consecutive_years"], cecomip["recertifications"]) == ("certified", 4, 3)
    assert (oro_puno["status"], oro_puno["consecutive_years"], oro_puno["recertifications"]) == ("certified", 2, 1)
    assert cecomip["certified_since"] == "2016-06-15"


def test_the_long_history_keeps_the_2019_answers_and_counts_the_move_to_ecological(
        ledger: CertificationLedger) -> None:
    import_file(ledger, "fairmined-history.jsonl")
    assert ledger.state_at("cecomip", "2019-12-31")["consecutive_years"] == 4
    assert ledger.state_at("oro-puno", "2019-12-31")["recertifications"] == 1
    cecomip_2021 = ledger.state_at("cecomip", "2021-12-31")
    assert (cecomip_2021["standard"], cecomip_2021["consecutive_years"], cecomip_2021["standard_years"]) == (
        "ecological", 6, 1)


# ---------------------------------------------------------------- round trips

def test_a_recorded_event_reads_back_with_its_resolved_values(ledger: CertificationLedger) -> None:
    register(ledger)
    recorded = ledger.certify("cecomip", date="2016-06-15", standard="fairmined", certificate="FM-PE-2016-01",
                              by="auditor")
    assert (recorded.org, recorded.version, recorded.type) == ("cecomip", 2, "CertificationGranted")
    entry = ledger.history("cecomip")[-1]
    assert entry["position"] == recorded.position
    assert (entry["version"], entry["type"], entry["date"], entry["recorded_by"]) == (
        2, "CertificationGranted", "2016-06-15", "auditor")
    assert entry["fields"] == {"standard": "fairmined", "certificate": "FM-PE-2016-01", "valid_from": "2016-06-15",
                               "valid_until": "2017-06-14", "audit": None}


def test_every_event_type_survives_storage(ledger: CertificationLedger) -> None:
    register(ledger)
    ledger.audit("cecomip", date="2016-05-18", body="IMO Swiss AG", kind="initial", reference="IMO-1",
                 findings=["minor:health-safety:first aid kits incomplete", "observation:x:y: with colon"])
    ledger.certify("cecomip", date="2016-06-15", standard="fairmined")
    ledger.deny("cecomip", date="2016-11-20", reason_category="labour", reason="child labour risk")
    ledger.suspend("cecomip", date="2016-12-01", reason="traceability", resolve_by="2017-01-31")
    ledger.reinstate("cecomip", date="2016-12-20")
    ledger.extend("cecomip", date="2017-04-15", until="2017-10-14", reason="operations halted")
    ledger.recertify("cecomip", date="2017-09-01", standard="ecological")
    ledger.withdraw("cecomip", date="2018-02-01", mode="imposed", reason="mercury found")
    ledger.retract("cecomip", 9, date="2018-02-05", reason="wrong organization")
    history = ledger.history("cecomip")
    assert [e["type"] for e in history] == [
        "OrganizationRegistered", "AuditConducted", "CertificationGranted", "CertificationDenied",
        "CertificationSuspended", "SuspensionLifted", "ValidityExtended", "Recertified", "CertificationWithdrawn",
        "EntryRetracted"]
    assert history[1]["fields"]["findings"][1] == {"severity": "observation", "category": "x",
                                                   "text": "y: with colon"}
    assert history[3]["fields"]["stage"] == "recertification"
    assert history[7]["fields"]["valid_from"] == "2017-10-15"
    assert ledger.state_at("cecomip", "2018-03-01")["status"] == "certified"


def test_recorded_by_comes_from_by_else_from_the_environment(ledger: CertificationLedger) -> None:
    register(ledger)
    ledger.audit("cecomip", date="2016-05-18", body="IMO", kind="initial", by="  maria  ")
    assert [e["recorded_by"] for e in ledger.history("cecomip")] == ["tester", "maria"]


def test_a_blank_by_is_refused_and_a_blank_variable_is_unset(ledger: CertificationLedger,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A script whose ``--by "$RECORDER"`` lost its variable must not record under the login name."""
    register(ledger)
    for blank in ("", "   "):
        with pytest.raises(InvalidInput, match=r"^--by: must not be empty$"):
            ledger.audit("cecomip", date="2016-05-18", body="IMO", kind="initial", by=blank)
    monkeypatch.setenv("CERTLEDGER_USER", " ")
    ledger.audit("cecomip", date="2016-05-18", body="IMO", kind="initial")
    assert ledger.history("cecomip")[-1]["recorded_by"] == recording.login_name()


def test_positions_increase_in_recording_order(ledger: CertificationLedger) -> None:
    register(ledger, "cecomip")
    register(ledger, "oro-puno", on="2018-01-15")
    third = ledger.certify("cecomip", date="2016-06-15", standard="fairmined")
    positions = [e["position"] for e in ledger.history("cecomip")]
    assert positions[-1] == third.position > positions[0]
    assert ledger.history("oro-puno")[0]["position"] < third.position


def test_a_status_record_carries_the_query_fields(ledger: CertificationLedger) -> None:
    register(ledger)
    record = ledger.state_at("cecomip", "2016-12-31")
    assert record["as_of"] == "2016-12-31"
    assert record["known_at"].endswith("Z")
    assert (record["status"], record["last_denial"]) == ("registered", None)


def test_the_default_as_of_is_today_so_time_passing_alone_expires(ledger: CertificationLedger) -> None:
    register(ledger)
    ledger.certify("cecomip", date="2016-06-15", standard="fairmined")
    assert ledger.state_at("cecomip")["status"] == "expired"
    assert ledger.state_at("cecomip")["as_of"] == datetime.now(timezone.utc).date().isoformat()


# ---------------------------------------------------------------- registration and unknown organizations

def test_an_organization_does_not_exist_before_its_registration_date(ledger: CertificationLedger) -> None:
    register(ledger, on="2016-01-10")
    with pytest.raises(UnknownOrganization) as refusal:
        ledger.state_at("cecomip", "2016-01-09")
    assert str(refusal.value) == "cecomip is not registered on 2016-01-09 (registered on 2016-01-10)"


def test_lists_omit_an_organization_before_its_registration(ledger: CertificationLedger) -> None:
    register(ledger, "cecomip", on="2016-01-10")
    register(ledger, "oro-puno", on="2018-01-15")
    assert [r["org"] for r in ledger.statuses("2017-12-31")] == ["cecomip"]
    assert [r["org"] for r in ledger.statuses("2018-01-15")] == ["cecomip", "oro-puno"]


def test_registering_an_id_that_exists_is_refused(ledger: CertificationLedger) -> None:
    register(ledger)
    assert refused(ledger, lambda: register(ledger, on="2017-01-01"), AlreadyRegistered) == (
        "organization cecomip is already registered")


def test_an_unknown_organization_is_named(ledger: CertificationLedger) -> None:
    assert refused(ledger, lambda: ledger.certify("nobody", date="2016-06-15", standard="fairmined"),
                   UnknownOrganization) == "unknown organization nobody (register it first)"
    with pytest.raises(UnknownOrganization, match="unknown organization nobody"):
        ledger.state_at("nobody", "2019-12-31")


def test_a_rule_violation_writes_nothing(ledger: CertificationLedger) -> None:
    register(ledger)
    assert refused(ledger, lambda: ledger.suspend("cecomip", date="2016-03-01", reason="x")).startswith(
        "suspend on 2016-03-01 refused: only a certified organization can be suspended")


def test_bad_input_writes_nothing(ledger: CertificationLedger) -> None:
    register(ledger)
    assert refused(ledger, lambda: ledger.record({"command": "certify", "org": "cecomip", "date": "2016-13-01",
                                                  "standard": "fairmined"}), InvalidInput) == (
        "date: '2016-13-01' is not a real calendar date")


# ---------------------------------------------------------------- history

def test_history_marks_retracted_entries_and_keeps_them(ledger: CertificationLedger) -> None:
    register(ledger)
    ledger.certify("cecomip", date="2016-06-15", standard="fairmined")
    ledger.suspend("cecomip", date="2016-09-01", reason="recorded for the wrong organization")
    ledger.retract("cecomip", 3, date="2016-09-05", reason="wrong organization")
    history = ledger.history("cecomip")
    assert [(e["version"], e["retracted"], e["retracted_by"]) for e in history] == [
        (1, False, None), (2, False, None), (3, True, 4), (4, False, None)]
    assert history[3]["fields"] == {"target": 3, "reason": "wrong organization"}
    assert ledger.state_at("cecomip", "2016-09-02")["status"] == "certified"


def test_history_has_no_query_time_fields(ledger: CertificationLedger) -> None:
    register(ledger)
    ledger.certify("cecomip", date="2016-06-15", standard="fairmined")
    assert json.dumps(ledger.history("cecomip")) == json.dumps(ledger.history("cecomip"))


def test_history_of_an_unknown_organization_is_refused(ledger: CertificationLedger) -> None:
    with pytest.raises(UnknownOrganization, match="unknown organization nobody"):
        ledger.history("nobody")


# ---------------------------------------------------------------- system time (--known-at)

@pytest.fixture
def back_dated(ledger: CertificationLedger) -> dict[str, int]:
    """Certified in 2016; a suspension dated 2016-09-01 is recorded after an audit dated 2016-10-01."""
    register(ledger)
    grant = ledger.certify("cecomip", date="2016-06-15", standard="fairmined")
    ledger.audit("cecomip", date="2016-10-01", body="IMO Swiss AG", kind="surveillance")
    suspension = ledger.suspend("cecomip", date="2016-09-01", reason="found on a late review")
    return {"grant": grant.position, "suspension": suspension.position}


def test_known_at_a_position_before_a_back_dated_event_does_not_see_it(
        ledger: CertificationLedger, back_dated: dict[str, int]) -> None:
    before = ledger.state_at("cecomip", "2016-12-31", known_at=back_dated["suspension"] - 1)
    after = ledger.state_at("cecomip", "2016-12-31", known_at=back_dated["suspension"])
    now = ledger.state_at("cecomip", "2016-12-31")
    assert (before["status"], after["status"], now["status"]) == ("certified", "suspended", "suspended")


def test_known_at_a_position_given_as_digits_is_the_same(ledger: CertificationLedger,
                                                         back_dated: dict[str, int]) -> None:
    assert ledger.state_at("cecomip", "2016-12-31", known_at=str(back_dated["grant"]))["status"] == "certified"


def test_known_at_a_position_echoes_the_instant_it_was_recorded(ledger: CertificationLedger,
                                                               back_dated: dict[str, int]) -> None:
    recorded_at = ledger.history("cecomip")[1]["recorded_at"]
    assert ledger.known_at(back_dated["grant"]).instant == recorded_at
    assert ledger.state_at("cecomip", "2016-12-31", known_at=back_dated["grant"])["known_at"] == recorded_at


def test_known_at_an_instant_uses_the_events_recorded_at_or_before_it(ledger: CertificationLedger,
                                                                     back_dated: dict[str, int]) -> None:
    stamps = {e["position"]: e["recorded_at"] for e in ledger.history("cecomip")}
    suspended_at = datetime.fromisoformat(stamps[back_dated["suspension"]].replace("Z", "+00:00"))
    just_before = (suspended_at - timedelta(microseconds=1)).isoformat()
    assert ledger.known_at(stamps[back_dated["suspension"]]).position == back_dated["suspension"]
    assert ledger.known_at(just_before).position == back_dated["suspension"] - 1
    assert ledger.state_at("cecomip", "2016-12-31", known_at=just_before)["status"] == "certified"
    assert ledger.state_at("cecomip", "2016-12-31", known_at=stamps[back_dated["suspension"]])["status"] == (
        "suspended")


def test_known_at_an_instant_without_offset_means_utc(ledger: CertificationLedger,
                                                      back_dated: dict[str, int]) -> None:
    stamp = ledger.history("cecomip")[-1]["recorded_at"]
    naive = stamp.rstrip("Z")
    shifted = (datetime.fromisoformat(naive).replace(tzinfo=timezone.utc)
               .astimezone(timezone(timedelta(hours=-5))).isoformat())
    assert ledger.known_at(naive).position == ledger.known_at(shifted).position == back_dated["suspension"]
    assert ledger.known_at(shifted).instant == stamp


def test_known_at_a_bare_date_means_the_end_of_that_day_utc(ledger: CertificationLedger,
                                                            back_dated: dict[str, int]) -> None:
    today = datetime.now(timezone.utc).date()
    assert ledger.known_at(today.isoformat()).position == back_dated["suspension"]
    assert ledger.known_at(today.isoformat()).instant == f"{today.isoformat()}T23:59:59.999999Z"
    assert ledger.known_at((today - timedelta(days=1)).isoformat()).position == 0


def test_known_at_before_the_registration_was_recorded_knows_no_organization(
        ledger: CertificationLedger, back_dated: dict[str, int]) -> None:
    with pytest.raises(UnknownOrganization):
        ledger.state_at("cecomip", "2016-12-31", known_at="2000-01-01T00:00:00Z")
    assert ledger.statuses("2016-12-31", known_at="2000-01-01") == []


def test_history_known_at_lists_what_was_recorded_by_then(ledger: CertificationLedger,
                                                         back_dated: dict[str, int]) -> None:
    assert len(ledger.history("cecomip", known_at=back_dated["grant"])) == 2
    assert len(ledger.history("cecomip")) == 4


def test_a_retraction_counts_from_the_moment_it_was_recorded(ledger: CertificationLedger,
                                                            back_dated: dict[str, int]) -> None:
    retraction = ledger.retract("cecomip", 4, date="2016-10-01", reason="the review was about another site")
    assert ledger.state_at("cecomip", "2016-12-31")["status"] == "certified"
    assert ledger.state_at("cecomip", "2016-12-31", known_at=retraction.position - 1)["status"] == "suspended"
    assert [e["retracted"] for e in ledger.history("cecomip", known_at=retraction.position - 1)] == [False] * 4


@pytest.mark.parametrize("value", ["yesterday", "2019-13-01", "12:00", "-1"])
def test_known_at_that_is_neither_a_position_nor_an_instant_is_refused(ledger: CertificationLedger,
                                                                       value: str) -> None:
    register(ledger)
    with pytest.raises(InvalidInput, match="--known-at"):
        ledger.state_at("cecomip", "2016-12-31", known_at=value)


def test_as_of_that_is_not_a_date_is_refused(ledger: CertificationLedger) -> None:
    register(ledger)
    with pytest.raises(InvalidInput, match="--as-of: '31/12/2019' is not a calendar date"):
        ledger.state_at("cecomip", "31/12/2019")


# ---------------------------------------------------------------- import keys

def expected_key(fields: dict[str, Any], occurrence: int) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{canonical}\n{occurrence}".encode()).hexdigest()


def test_every_event_stores_the_key_of_its_resolved_command(ledger: CertificationLedger) -> None:
    register(ledger)
    grant = ledger.certify("cecomip", date="2016-06-15", standard="fairmined")
    assert grant.event.key == expected_key(
        {"command": "certify", "org": "cecomip", "date": "2016-06-15", "standard": "fairmined",
         "valid_until": "2017-06-14"}, 0)
    assert ledger.recorder.existing_keys([grant.event.key]) == {grant.event.key}


def test_the_key_of_a_registration_covers_its_defaults(ledger: CertificationLedger) -> None:
    recorded = ledger.register("cecomip", name="CECOMIP", country="PE", date="2016-01-10")
    assert recorded.event.key == expected_key(
        {"command": "register", "org": "cecomip", "date": "2016-01-10", "name": "CECOMIP", "country": "PE",
         "legal_form": "other"}, 0)


def test_identical_commands_get_keys_that_count_the_earlier_ones(ledger: CertificationLedger) -> None:
    register(ledger)
    fields = {"command": "audit", "org": "cecomip", "date": "2016-05-18", "body": "IMO", "kind": "surveillance"}
    first = ledger.record(fields)
    second = ledger.record(fields, again=True)
    assert (first.event.key, second.event.key) == (expected_key(fields, 0), expected_key(fields, 1))
    assert ledger.recorder.existing_keys([first.event.key, second.event.key, "nope"]) == {
        first.event.key, second.event.key}


def test_a_command_identical_to_one_recorded_is_refused_naming_the_earlier_one(ledger: CertificationLedger) -> None:
    register(ledger)
    first = ledger.audit("cecomip", date="2016-05-18", body="IMO", kind="surveillance")
    before = ledger.recorder.max_position()
    message = refused(ledger, lambda: ledger.audit("cecomip", date="2016-05-18", body="IMO", kind="surveillance"))
    assert message == (f"audit refused: an identical AuditConducted of 2016-05-18 is already recorded for cecomip "
                       f"(position {first.position}, version 2); give --again to record it anyway")
    assert ledger.recorder.max_position() == before


def test_the_same_command_for_two_organizations_gets_two_keys(ledger: CertificationLedger) -> None:
    register(ledger, "cecomip")
    register(ledger, "oro-puno")
    one = ledger.audit("cecomip", date="2018-05-18", body="IMO", kind="surveillance")
    other = ledger.audit("oro-puno", date="2018-05-18", body="IMO", kind="surveillance")
    assert one.event.key != other.event.key


def test_a_recorded_by_and_read_only_keys_do_not_change_the_key(ledger: CertificationLedger) -> None:
    register(ledger, "cecomip")
    register(ledger, "oro-puno")
    line = {"command": "audit", "org": "cecomip", "date": "2016-05-18", "body": "IMO", "kind": "initial"}
    plain = ledger.record(line)
    exported = ledger.record({**line, "org": "oro-puno", "position": 99, "version": 7,
                              "recorded_at": "2020-01-01T00:00:00Z", "recorded_by": "someone"}, by="other")
    assert exported.event.key == expected_key({**line, "org": "oro-puno"}, 0)
    assert plain.event.key == expected_key(line, 0)


# ---------------------------------------------------------------- certificate numbers

def test_a_certificate_number_is_unique_across_the_ledger(ledger: CertificationLedger) -> None:
    register(ledger, "cecomip")
    register(ledger, "oro-puno")
    ledger.certify("cecomip", date="2016-06-15", standard="fairmined", certificate="FM-PE-0001")
    assert refused(ledger, lambda: ledger.certify("oro-puno", date="2016-07-01", standard="fairmined",
                                                  certificate="FM-PE-0001"), DuplicateCertificate) == (
        "certify on 2016-07-01 refused: certificate FM-PE-0001 is already held by cecomip (version 2); "
        "certificate numbers are unique in the ledger, letter case aside")


def test_a_certificate_number_is_not_granted_twice_to_the_same_organization(ledger: CertificationLedger) -> None:
    register(ledger)
    ledger.certify("cecomip", date="2016-06-15", standard="fairmined", certificate="FM-PE-0001")
    assert "certificate FM-PE-0001 is already held by cecomip" in refused(
        ledger, lambda: ledger.certify("cecomip", date="2018-01-01", standard="fairmined", certificate="FM-PE-0001"))


def test_a_renewal_keeps_its_number_without_claiming_it_again(ledger: CertificationLedger) -> None:
    register(ledger)
    ledger.certify("cecomip", date="2016-06-15", standard="fairmined", certificate="FM-PE-0001")
    assert ledger.recertify("cecomip", date="2017-05-24").event.certificate == "FM-PE-0001"


def test_retracting_the_grant_frees_its_number(ledger: CertificationLedger) -> None:
    register(ledger, "cecomip")
    register(ledger, "oro-puno")
    grant = ledger.certify("cecomip", date="2016-06-15", standard="fairmined", certificate="FM-PE-0001")
    ledger.retract("cecomip", grant.version, date="2016-06-20", reason="number given to the wrong organization")
    recorded = ledger.certify("oro-puno", date="2016-07-01", standard="fairmined", certificate="FM-PE-0001")
    assert recorded.event.certificate == "FM-PE-0001"


def test_grants_without_a_number_never_collide(ledger: CertificationLedger) -> None:
    register(ledger, "cecomip")
    register(ledger, "oro-puno")
    ledger.certify("cecomip", date="2016-06-15", standard="fairmined")
    ledger.certify("oro-puno", date="2016-06-15", standard="fairmined")


# ---------------------------------------------------------------- reads stay within one organization

class RowReads:
    """Counts the stored rows the recorder returns, by originator, for every select the ledger makes."""

    def __init__(self, recorder: Any):
        self.rows: list[UUID] = []
        self.calls: list[str] = []
        for name in dir(recorder):
            if name.startswith("select") and callable(getattr(recorder, name)):
                setattr(recorder, name, self._counting(name, getattr(recorder, name)))
        writing = recorder.write

        @contextmanager
        def counted_write(*args: Any, **kwargs: Any) -> Iterator[Any]:
            with writing(*args, **kwargs) as transaction:
                transaction.org_rows = self._counting("org_rows", transaction.org_rows)
                yield transaction

        recorder.write = counted_write

    def _counting(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            self.calls.append(name)
            if isinstance(result, (list, tuple)):
                self.rows.extend(UUID(str(row.originator_id)) for row in result)
            return result
        return counted

    def originators(self) -> set[UUID]:
        return set(self.rows)


@pytest.fixture
def two_organizations(ledger: CertificationLedger) -> CertificationLedger:
    import_file(ledger, "fairmined-2019.jsonl")
    return ledger


def count_events(ledger: CertificationLedger, org: str) -> int:
    return len(ledger.history(org))


def test_recording_one_event_reads_only_that_organizations_rows(two_organizations: CertificationLedger,
                                                               db_url: str) -> None:
    own_events = count_events(two_organizations, "oro-puno")
    all_events = two_organizations.recorder.max_position()
    ledger = CertificationLedger(db_url)  # a fresh ledger object: nothing read before
    reads = RowReads(ledger.recorder)
    ledger.suspend("oro-puno", date="2019-06-01", reason="monitoring results missing")
    assert reads.originators() == {organization_id("oro-puno")}
    assert len(reads.rows) == own_events < all_events
    ledger.close()


def test_a_second_command_reads_only_the_rows_recorded_since_the_first(two_organizations: CertificationLedger,
                                                                       db_url: str) -> None:
    ledger = two_organizations
    ledger.suspend("oro-puno", date="2019-06-01", reason="monitoring results missing")
    other_writer = CertificationLedger(db_url)
    other_writer.reinstate("oro-puno", date="2019-06-20")
    reads = RowReads(ledger.recorder)
    ledger.suspend("oro-puno", date="2019-07-01", reason="again")  # legal only after the other writer's reinstate
    assert len(reads.rows) == 1 and reads.originators() == {organization_id("oro-puno")}
    assert [e["type"] for e in ledger.history("oro-puno")][-3:] == [
        "CertificationSuspended", "SuspensionLifted", "CertificationSuspended"]
    other_writer.close()


def test_state_at_reads_only_that_organizations_rows(two_organizations: CertificationLedger, db_url: str) -> None:
    own_events = count_events(two_organizations, "cecomip")
    ledger = CertificationLedger(db_url)  # a fresh ledger object: nothing read before
    reads = RowReads(ledger.recorder)
    assert ledger.state_at("cecomip", "2019-12-31")["consecutive_years"] == 4
    assert ledger.state_at("cecomip", "2019-12-31", known_at=5)["status"] == "registered"
    assert reads.originators() == {organization_id("cecomip")}
    assert len(reads.rows) == own_events  # the known-at answer reuses the rows already read
    ledger.close()


def test_a_repeated_state_at_reads_only_the_rows_recorded_since(two_organizations: CertificationLedger) -> None:
    ledger = two_organizations
    assert ledger.state_at("cecomip", "2020-06-10")["status"] == "certified"
    reads = RowReads(ledger.recorder)
    ledger.suspend("cecomip", date="2020-06-01", reason="monitoring results missing")
    assert ledger.state_at("cecomip", "2020-06-10")["status"] == "suspended"
    assert ledger.state_at("cecomip", "2020-05-31")["status"] == "certified"
    assert reads.originators() == {organization_id("cecomip")}
    assert len(reads.rows) == 1


def test_history_reads_only_that_organizations_rows(two_organizations: CertificationLedger) -> None:
    ledger = two_organizations
    reads = RowReads(ledger.recorder)
    history = ledger.history("oro-puno")
    assert reads.originators() == {organization_id("oro-puno")}
    assert len(reads.rows) == len(history)


def test_known_at_position_zero_is_the_empty_ledger_and_a_position_beyond_the_end_is_now(ledger) -> None:
    ledger.register("cecomip", name="CECOMIP", country="PE", date="2016-01-10")

    empty = ledger.known_at("0")
    later = ledger.known_at("99")

    assert (empty.position, empty.instant) == (0, "1970-01-01T00:00:00.000000Z")
    assert ledger.state_at("cecomip", "2016-12-31", later)["status"] == "registered"
    with pytest.raises(UnknownOrganization):
        ledger.state_at("cecomip", "2016-12-31", empty)
