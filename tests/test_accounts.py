"""Accounts: opened and revoked as events in the chain; tokens shown once, stored only as a slow hash;
every role allowed exactly its commands, for its organizations; nothing written where it is refused."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli import cli
from ledger.application import CertificationLedger
from ledger.errors import Forbidden, LedgerError, NotAuthenticated
from service import LedgerService
from tests.test_application import stored_rows_digest

IN_SCOPE, OUT_OF_SCOPE = "cecomip", "oro-puno"
TOKEN = re.compile(r"^cl1_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$")


def run(db: str, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--db", db, *args])


@pytest.fixture
def service(db_url: str) -> Any:
    with_orgs = LedgerService(db_url, by="registry-office")
    for org in (IN_SCOPE, OUT_OF_SCOPE):
        with_orgs.record({"command": "register", "org": org, "name": org.upper(), "country": "PE",
                          "date": "2016-01-10"})
        with_orgs.record({"command": "audit", "org": org, "date": "2016-05-20", "body": "IMO Swiss AG",
                          "kind": "initial", "reference": f"{org}-1", "finding": ["minor:traceability:book"]})
        with_orgs.record({"command": "certify", "org": org, "date": "2016-06-15", "standard": "fairmined"})
    yield with_orgs
    with_orgs.close()


def test_accounts_add_prints_the_token_once_and_the_json_shape(db_url: str) -> None:
    assert run(db_url, "register", IN_SCOPE, "--name", "C", "--country", "PE", "--date", "2016-01-10").exit_code == 0
    result = run(db_url, "accounts", "add", "imo-swiss", "--role", "body", "--org", IN_SCOPE, "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert list(answer) == ["name", "role", "orgs", "token"]
    assert answer["name"] == "imo-swiss" and answer["role"] == "body" and answer["orgs"] == [IN_SCOPE]
    assert TOKEN.match(answer["token"]), answer["token"]
    listed = run(db_url, "accounts", "list", "--json")
    assert answer["token"] not in listed.output
    assert json.loads(listed.output)[0]["name"] == "imo-swiss"


def test_tokens_are_random_and_hold_at_least_128_bits(service: LedgerService) -> None:
    first = service.open_account("one", "office")["token"]
    second = service.open_account("two", "office")["token"]
    secrets = [token.split("_", 2)[2] for token in (first, second)]
    assert secrets[0] != secrets[1]
    assert all(len(secret) * 6 >= 128 for secret in secrets)  # base64url: 6 bits a character


def test_no_token_is_stored_in_the_database_or_shown_by_any_output(service: LedgerService, tmp_path: Path) -> None:
    token = service.open_account("imo-swiss", "body", [IN_SCOPE])["token"]
    secret = token.split("_", 2)[2]
    outputs = [run(service.db, *args).output for args in (
        ["accounts", "list"], ["accounts", "list", "--json"], ["changes", "--json"], ["changes", "--csv"],
        ["history", IN_SCOPE, "--json"], ["export"])]
    assert all(secret not in output and token not in output for output in outputs)
    if not service.db.startswith("postgresql"):
        stored = b"".join(path.read_bytes() for path in Path(service.db).parent.glob(Path(service.db).name + "*"))
        assert secret.encode() not in stored and token.encode() not in stored


def test_an_account_grant_and_its_revocation_are_on_the_record_and_verify(service: LedgerService) -> None:
    service.open_account("imo-swiss", "body", [IN_SCOPE])
    service.revoke_account("imo-swiss")
    feed = [entry for entry in service.changes(0, 100) if entry["org"] is None]
    assert [(e["type"], e["fields"]["name"], e["recorded_by"]) for e in feed] == [
        ("AccountOpened", "imo-swiss", "registry-office"), ("AccountRevoked", "imo-swiss", "registry-office")]
    assert feed[0]["fields"] == {"name": "imo-swiss", "role": "body", "orgs": [IN_SCOPE]}
    [listed] = service.accounts()
    assert listed["revoked_by"] == "registry-office" and listed["revoked_on"] is not None
    verified = service.verify()
    assert verified.ok, verified.problems
    assert verified.chain.events_checked == 8


def test_an_export_leaves_accounts_out_and_imports_back_as_before(service: LedgerService, tmp_path: Path) -> None:
    service.open_account("office", "office")
    exported = tmp_path / "export.jsonl"
    assert run(service.db, "export", str(exported)).exit_code == 0
    lines = [json.loads(line) for line in exported.read_text().splitlines()]
    assert len(lines) == 6 and all("org" in line for line in lines)
    assert run(service.db, "import", str(exported)).output.startswith("Imported 0 events (6 skipped")


def test_revoking_twice_or_an_unknown_account_is_refused_and_writes_nothing(service: LedgerService) -> None:
    service.open_account("imo-swiss", "body", [IN_SCOPE])
    service.revoke_account("imo-swiss")
    before = stored_rows_digest(service.ledger())
    again = run(service.db, "accounts", "revoke", "imo-swiss")
    unknown = run(service.db, "accounts", "revoke", "nobody")
    twice = run(service.db, "accounts", "add", "imo-swiss", "--role", "office")
    assert (again.exit_code, unknown.exit_code, twice.exit_code) == (1, 1, 1)
    assert again.output.startswith("Error: account imo-swiss was already revoked on ")
    assert unknown.output == "Error: unknown account nobody\n"
    assert twice.output == "Error: account imo-swiss already exists\n"
    assert stored_rows_digest(service.ledger()) == before


def test_a_missing_unknown_malformed_wrong_or_revoked_token_gets_one_and_the_same_refusal(
        service: LedgerService) -> None:
    token = service.open_account("imo-swiss", "body", [IN_SCOPE])["token"]
    other = service.open_account("gone", "office")["token"]
    service.revoke_account("gone")
    prefix, account, secret = token.split("_", 2)
    candidates = [None, "", "garbage", f"{prefix}_{'0' * 32}_{secret}", f"{prefix}_{account}_{secret[:-1]}x",
                  f"{prefix}_{account}", other, token + " "]
    messages = set()
    for candidate in candidates:
        with pytest.raises(NotAuthenticated) as refusal:
            service.authenticate(candidate)
        messages.add(str(refusal.value))
    assert len(messages) == 1
    assert service.authenticate(token).name == "imo-swiss"


def test_a_revoked_token_is_refused_from_the_next_request_on_even_after_it_verified(
        service: LedgerService, db_url: str) -> None:
    token = service.open_account("imo-swiss", "body", [IN_SCOPE])["token"]
    assert service.authenticate(token).name == "imo-swiss"  # now remembered by this process
    other_process = LedgerService(db_url, by="registry-office")
    try:
        other_process.revoke_account("imo-swiss")
    finally:
        other_process.close()
    with pytest.raises(NotAuthenticated):
        service.authenticate(token)


RECORDING = {
    "register": lambda org: {"command": "register", "org": f"{org}-new", "name": "New", "country": "PE",
                             "date": "2017-01-10"},
    "audit": lambda org: {"command": "audit", "org": org, "date": "2017-05-20", "body": "IMO Swiss AG",
                          "kind": "surveillance"},
    "certify": lambda org: {"command": "certify", "org": org, "date": "2018-06-15", "standard": "fairmined"},
    "recertify": lambda org: {"command": "recertify", "org": org, "date": "2017-06-01"},
    "deny": lambda org: {"command": "deny", "org": org, "date": "2017-06-01", "reason_category": "commercial",
                         "reason": "no sales"},
    "suspend": lambda org: {"command": "suspend", "org": org, "date": "2017-03-01", "reason": "records missing"},
    "extend": lambda org: {"command": "extend", "org": org, "date": "2017-03-01", "until": "2017-10-14",
                           "reason": "halted"},
    "withdraw": lambda org: {"command": "withdraw", "org": org, "date": "2017-03-01", "mode": "voluntary",
                             "reason": "stopped"},
    "retract": lambda org: {"command": "retract", "org": org, "target": 2, "date": "2017-03-01", "reason": "wrong"},
}
ALLOWED = {"office": set(RECORDING), "body": {"audit"}, "reader": set()}


@pytest.mark.parametrize("role", ["office", "body", "reader"])
@pytest.mark.parametrize("verb", sorted(RECORDING))
@pytest.mark.parametrize("org", [IN_SCOPE, OUT_OF_SCOPE])
def test_each_role_records_exactly_what_it_may_for_its_organizations(
        service: LedgerService, role: str, verb: str, org: str) -> None:
    token = service.open_account(f"{role}-account", role, [IN_SCOPE] if role == "body" else [])["token"]
    account = service.authenticate(token)
    line = {**RECORDING[verb](org), "recorded_by": "someone-else"}
    before = stored_rows_digest(service.ledger())
    allowed = verb in ALLOWED[role] and (role != "body" or org == IN_SCOPE)
    if allowed:
        outcome = service.record_as(account, [line])
        assert outcome.recorded == 1
        assert outcome.entries[0].event.recorded_by == f"{role}-account"
    else:
        with pytest.raises(Forbidden):
            service.record_as(account, [line])
        assert stored_rows_digest(service.ledger()) == before


def test_a_list_of_commands_is_all_or_nothing_and_lines_already_recorded_are_skipped(
        service: LedgerService) -> None:
    account = service.authenticate(service.open_account("office", "office")["token"])
    audit = RECORDING["audit"](IN_SCOPE)
    first = service.record_as(account, [audit, RECORDING["suspend"](IN_SCOPE)])
    assert (first.recorded, first.skipped) == (2, 0)
    again = service.record_as(account, [audit])
    assert (again.recorded, again.skipped) == (0, 1)
    before = stored_rows_digest(service.ledger())
    with pytest.raises(LedgerError, match="line 2: "):
        service.record_as(account, [RECORDING["deny"](IN_SCOPE), {"command": "reinstate", "org": IN_SCOPE,
                                                                  "date": "2016-01-01"}])
    assert stored_rows_digest(service.ledger()) == before
