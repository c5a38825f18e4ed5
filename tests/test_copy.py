"""Moving up: ``copy`` gives a ledger that answers every question exactly as its source did."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from click.testing import CliRunner

from cli import cli
from conftest import BACKENDS, fresh_postgres_schema
from ledger.application import CertificationLedger
from ledger.transfer.copying import copy_ledger
from ledger.errors import ConcurrencyConflict, LedgerError
from ledger.domain.organization import Organization

AS_OF_DATES = ["2016-06-30", "2017-09-15", "2018-04-01", "2018-08-01", "2021-01-01"]


@pytest.fixture
def fresh_url(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Makes empty ledgers of either backend; the PostgreSQL schemas are dropped afterwards."""
    cleanups: list[Iterator[str]] = []
    made = iter(range(1, 100))

    def make(backend: str) -> str:
        if backend == "sqlite":
            return str(tmp_path / f"copy-{next(made)}.db")
        schema = fresh_postgres_schema()
        cleanups.append(schema)
        return next(schema)

    yield make
    for schema in cleanups:
        next(schema, None)


def record_a_scheme(ledger: CertificationLedger) -> None:
    """Grants, renewals with a change of standard, a denial, a suspension, an extension, a withdrawal,
    a back-dated audit, and a retraction that frees a certificate number."""
    ledger.register("cecomip", name="CECOMIP", country="PE", legal_form="cooperative", date="2016-01-10")
    ledger.certify("cecomip", date="2016-06-15", standard="fairmined", certificate="FM-PE-0001")
    ledger.recertify("cecomip", date="2017-06-01")
    ledger.recertify("cecomip", date="2018-06-01", standard="ecological")
    ledger.register("aurifera", name="Aurífera Yani R.L.", country="PE", date="2017-03-01")
    ledger.certify("aurifera", date="2017-04-01", standard="fairmined", certificate="FM-PE-0002")
    ledger.retract("aurifera", 2, date="2017-05-01", reason="granted to the wrong organization")
    ledger.register("oro-puno", name="Oro Puno", country="PE", date="2017-01-01", by="registrar")
    ledger.certify("oro-puno", date="2017-05-02", standard="fairmined", certificate="FM-PE-0002")
    ledger.deny("aurifera", date="2018-02-20", reason_category="commercial", reason="commercial requirements")
    ledger.suspend("oro-puno", date="2017-09-01", reason="traceability records missing", resolve_by="2017-10-31")
    ledger.reinstate("oro-puno", date="2017-10-15")
    ledger.extend("oro-puno", date="2018-04-15", until="2018-08-31", reason="operations halted")
    ledger.withdraw("oro-puno", date="2018-08-01", mode="voluntary", reason="for internal reasons")
    ledger.audit("cecomip", date="2016-05-20", body="IMO", kind="initial", findings=["minor:health-safety:kits"])


def every_answer(ledger: CertificationLedger) -> dict[Any, Any]:
    """Status of every organization on several dates, and histories, as known at every position and instant."""
    answers: dict[Any, Any] = {}
    instants = {e["recorded_at"] for org in ledger.organizations() for e in ledger.history(org)}
    points: list[Any] = [*range(0, ledger.recorder.max_position() + 1), *sorted(instants), "2000-01-01"]
    for point in points:
        try:
            known = ledger.known_at(point)
        except LedgerError as error:
            answers[point] = str(error)
            continue
        answers[point, "known"] = known
        for org in ledger.organizations(known):
            answers[point, org] = ledger.history(org, known)
            for day in AS_OF_DATES:
                answers[point, org, day] = attempt(ledger.state_at, org, day, known)
        for day in AS_OF_DATES[1::2]:
            answers[point, day] = ledger.statuses(day, point)
    return answers


def attempt(query: Callable[..., Any], *args: Any) -> Any:
    try:
        return query(*args)
    except LedgerError as error:
        return f"Error: {error}"


@pytest.mark.parametrize("target_backend", BACKENDS)
def test_a_copied_ledger_and_its_copy_back_answer_every_question_as_the_source(
        ledger: CertificationLedger, db_url: str, target_backend: str, fresh_url: Callable[[str], str]) -> None:
    record_a_scheme(ledger)
    expected = every_answer(ledger)
    there = CertificationLedger(fresh_url(target_backend))
    back = CertificationLedger(fresh_url("postgresql" if db_url.startswith("postgresql") else "sqlite"))
    try:
        copy_ledger(ledger, there)
        copy_ledger(there, back)

        assert every_answer(there) == expected
        assert every_answer(back) == expected
        assert there.recorder.chain_head() == back.recorder.chain_head() == ledger.recorder.chain_head()
        # What names the ledger for good (its Atom feed's ids): the chain's first entry, kept by a copy.
        assert ledger.storage.first_entry_hash() == bytes(ledger.recorder.select_chain_and_events(0, 1)[0][5])
        assert there.storage.first_entry_hash() == back.storage.first_entry_hash() == ledger.storage.first_entry_hash()
    finally:
        there.close()
        back.close()


def test_a_copy_keeps_certificate_numbers_taken_and_freed(
        ledger: CertificationLedger, fresh_url: Callable[[str], str]) -> None:
    record_a_scheme(ledger)
    there = CertificationLedger(fresh_url("sqlite"))
    try:
        copy_ledger(ledger, there)
        with pytest.raises(LedgerError, match="certificate FM-PE-0002 is already held by oro-puno"):
            there.certify("aurifera", date="2019-01-10", standard="fairmined", certificate="FM-PE-0002")
        recorded = there.register("la-cascada", name="La Cascada", country="PE", date="2019-01-01")
        assert recorded.position == ledger.recorder.max_position() + 1
    finally:
        there.close()


def test_copy_refuses_a_target_that_is_not_empty(ledger: CertificationLedger, fresh_url: Callable[[str], str]
                                                 ) -> None:
    ledger.register("cecomip", name="CECOMIP", country="PE", date="2016-01-10")
    target = fresh_url("sqlite")
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", target, "register", "other", "--name", "O", "--country", "BO",
                               "--date", "2016-01-10"]).exit_code == 0

    result = runner.invoke(cli, ["--db", ledger.db, "copy", "--to", target])

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"Error: target {target} is not empty: copy only into an empty ledger\n"


def test_copy_on_the_command_line_reports_what_it_copied(ledger: CertificationLedger,
                                                         fresh_url: Callable[[str], str]) -> None:
    ledger.register("cecomip", name="CECOMIP", country="PE", date="2016-01-10")
    ledger.certify("cecomip", date="2016-06-15", standard="fairmined")
    target = fresh_url("sqlite")

    result = CliRunner().invoke(cli, ["--db", ledger.db, "copy", "--to", target])

    assert result.exit_code == 0, result.stderr
    head = ledger.recorder.chain_head()
    assert head is not None
    assert result.stdout.startswith("Copied 2 events (up to position 2) from ")
    assert result.stdout.endswith(f" to {target}; chain head {head.entry_hash.hex()[:16]} matches the source\n")
    for args in (["status", "cecomip", "--as-of", "2016-12-31", "--known-at", "1", "--json"],
                 ["history", "cecomip", "--json"]):
        assert (CliRunner().invoke(cli, ["--db", target, *args]).output
                == CliRunner().invoke(cli, ["--db", ledger.db, *args]).output)
