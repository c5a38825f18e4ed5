"""Tamper evidence: whatever is changed behind the ledger's back with raw SQL, `verify` finds and locates it.

Every test tampers with a real database (SQLite file, or PostgreSQL when the `db_url` fixture gives
one) the way someone with write access to it could, then runs `certledger verify` and expects exit 1,
an `Error:` line naming seq, organization and version, and no traceback.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs, urlparse

import pytest
from click.testing import CliRunner, Result

from cli import cli
from service import reopening
from ledger.application import CertificationLedger
from ledger.domain.events import OrganizationRegistered
from ledger.errors import IntegrityFailure
from ledger.integrity import walker as chain_walker
from ledger.integrity.walker import ChainWalker, verify_chain
from ledger.domain.organization import organization_id
from ledger.storage import EventExtras
from ledger.storage.chain import GENESIS_HASH, entry_hash as chain_hash
from ledger.storage import is_postgres_url

# ---------------------------------------------------------------- the ledger under attack
#
# position/seq  org       version  event
#   1           cecomip   1        registered
#   2           oro-puno  1        registered
#   3           cecomip   2        certified 2016-06-15
#   4           oro-puno  2        certified 2018-05-01 (ecological)
#   5           cecomip   3        recertified 2017-06-01
#   6           oro-puno  3        audited 2019-03-10
#   7           oro-puno  4        recertified 2019-04-20
#   8           cecomip   4        suspended 2017-09-01


def record_history(ledger: CertificationLedger) -> None:
    ledger.register("cecomip", name="CECOMIP", country="PE", date="2016-01-10")
    ledger.register("oro-puno", name="Oro Puno", country="PE", date="2017-03-01")
    ledger.certify("cecomip", date="2016-06-15", standard="fairmined", certificate="FM-PE-0001")
    ledger.certify("oro-puno", date="2018-05-01", standard="ecological")
    ledger.recertify("cecomip", date="2017-06-01")
    ledger.audit("oro-puno", date="2019-03-10", body="IMO Swiss AG", kind="recertification")
    ledger.recertify("oro-puno", date="2019-04-20")
    ledger.suspend("cecomip", date="2017-09-01", reason="traceability records missing")


@pytest.fixture
def recorded(db_url: str) -> str:
    ledger = CertificationLedger(db_url)
    try:
        record_history(ledger)
    finally:
        ledger.close()
    return db_url


class RawDatabase:
    """Raw SQL on the ledger's tables, bypassing the ledger: what anyone with write access can do.

    Statements name ``{events}``, ``{chain}``, ``{keys}``, ``{claims}``, ``{position}`` (the event table's
    position column) and ``{schema}`` (where the view tables are),
    and use ``?`` placeholders, so that one statement serves SQLite and PostgreSQL.
    """

    def __init__(self, db_url: str):
        self.postgres = is_postgres_url(db_url)
        if self.postgres:
            import psycopg

            parsed = urlparse(db_url)
            schema = parse_qs(parsed.query).get("schema", ["public"])[0]
            ledger = CertificationLedger(db_url)
            events_table = ledger.recorder.events_table_name
            ledger.close()
            self.connection: Any = psycopg.connect(db_url.split("?")[0], autocommit=True)
            self.names = {"events": f'"{schema}"."{events_table}"', "chain": f'"{schema}".ledger_chain',
                          "keys": f'"{schema}".ledger_keys', "claims": f'"{schema}".ledger_claims',
                          "position": "notification_id", "schema": f'"{schema}"'}
        else:
            self.connection = sqlite3.connect(db_url, isolation_level=None)
            self.names = {"events": "stored_events", "chain": "ledger_chain", "keys": "ledger_keys",
                          "claims": "ledger_claims", "position": "rowid", "schema": "main"}

    def __call__(self, statement: str, *params: Any) -> list[tuple[Any, ...]]:
        statement = statement.format(**self.names)
        if self.postgres:
            statement = statement.replace("?", "%s")
        cursor = self.connection.execute(statement, params)
        return list(cursor.fetchall()) if cursor.description else []

    def event(self, position: int) -> tuple[Any, int, str, bytes]:
        row = self("SELECT originator_id, originator_version, topic, state FROM {events} WHERE {position}=?",
                   position)[0]
        return row[0], row[1], row[2], bytes(row[3])

    def chain_entry(self, seq: int) -> tuple[Any, ...]:
        return self("SELECT seq, notification_id, originator_id, originator_version, recorded_at, entry_hash "
                    "FROM {chain} WHERE seq=?", seq)[0]

    def close(self) -> None:
        self.connection.close()


@pytest.fixture(autouse=True, params=["one walk", "two halves"])
def chain_walks(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every check runs twice: the chain walked at once, and in two halves, the second in a forked process, as
    `verify` walks a long chain. The split must find and word exactly what one walk does (with eight entries, the
    halves meet between seq 4 and seq 5)."""
    if request.param == "two halves":
        monkeypatch.setattr(chain_walker, "SPLIT_FROM", 2)
    return str(request.param)


@pytest.fixture
def forked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The process ids of the second-half walkers the test starts (a test that counts them needs a process that may
    fork: one where an earlier test left no thread running, as a PostgreSQL connection pool's)."""
    if not chain_walker.may_fork():
        names = sorted(t.name for t in threading.enumerate() if t is not threading.main_thread())
        pytest.skip(f"threads run in this test process ({', '.join(names)}): a walk would not fork here")
    pids: list[int] = []

    class Counted(chain_walker.SecondHalf):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            pids.append(self.pid)

    monkeypatch.setattr(chain_walker, "SecondHalf", Counted)
    return pids


@pytest.fixture
def raw(recorded: str) -> Iterator[RawDatabase]:
    database = RawDatabase(recorded)
    yield database
    database.close()


def run(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db_url, *args])


def verify_fails(db_url: str, *args: str) -> str:
    """Run verify, expecting a clean failure; return the Error line."""
    result = run(db_url, "verify", *args)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def verify_passes(db_url: str, *args: str) -> str:
    result = run(db_url, "verify", *args)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


# ---------------------------------------------------------------- an untouched ledger


def test_an_untouched_ledger_verifies_clean_in_one_summary_line(recorded: str) -> None:
    output = verify_passes(recorded)

    assert output.count("\n") == 1
    assert output.startswith("OK: 8 events checked, head seq 8 hash ")
    assert " s" in output


def test_an_empty_ledger_verifies_clean(db_url: str) -> None:
    CertificationLedger(db_url).close()

    assert verify_passes(db_url).startswith("OK: 0 events checked, head seq 0 hash " + "0" * 64)


def test_verify_refuses_a_database_that_does_not_exist(tmp_path: Path) -> None:
    result = run(str(tmp_path / "missing.db"), "verify")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no ledger at ")


# ---------------------------------------------------------------- changed events


def test_a_changed_byte_of_an_events_state_is_caught_at_its_seq(recorded: str, raw: RawDatabase) -> None:
    _, _, _, state = raw.event(5)
    raw("UPDATE {events} SET state=? WHERE {position}=?", state.replace(b"2017-06-01", b"2017-06-02"), 5)

    error = verify_fails(recorded)

    assert "seq 5 (org cecomip, version 3, position 5)" in error
    assert "does not match its chain entry" in error


def test_a_changed_topic_is_caught_at_its_seq(recorded: str, raw: RawDatabase) -> None:
    raw("UPDATE {events} SET topic=? WHERE {position}=?", "ledger.events:CertificationWithdrawn", 8)

    error = verify_fails(recorded)

    assert "seq 8 (org cecomip, version 4, position 8)" in error


def test_every_changed_event_is_reported_and_the_first_one_named(recorded: str, raw: RawDatabase) -> None:
    for position in (7, 3):
        _, _, _, state = raw.event(position)
        raw("UPDATE {events} SET state=? WHERE {position}=?", state.replace(b'"date":"', b'"date": "'), position)

    result = run(recorded, "verify")

    assert result.exit_code == 1
    assert "seq 3 (org cecomip, version 2, position 3)" in result.stderr.splitlines()[-1]
    assert "(2 problems in all; see above)" in result.stderr
    assert "seq 7 (org oro-puno, version 4, position 7)" in result.stderr


def test_a_changed_recorded_at_is_caught_because_the_event_carries_its_own_timestamp(
        recorded: str, raw: RawDatabase) -> None:
    raw("UPDATE {chain} SET recorded_at=? WHERE seq=?", "2001-01-01T00:00:00.000000Z", 4)

    error = verify_fails(recorded)

    assert "seq 4 (org oro-puno, version 2, position 4): recorded_at 2001-01-01T00:00:00.000000Z should be " in error
    assert "recorded_at was changed" in error


def test_a_recorded_at_moved_later_is_caught_too(recorded: str, raw: RawDatabase) -> None:
    raw("UPDATE {chain} SET recorded_at=? WHERE seq=?", "2999-01-01T00:00:00.000000Z", 2)

    error = verify_fails(recorded)

    assert "seq 2 (org oro-puno, version 1, position 2): recorded_at 2999-01-01T00:00:00.000000Z should be " in error


def test_an_event_stamped_before_the_last_commit_is_recorded_at_that_commit_and_verifies(recorded: str) -> None:
    ledger = CertificationLedger(recorded)
    try:
        late = OrganizationRegistered(
            originator_id=organization_id("la-cascada"), originator_version=1, org="la-cascada", name="La Cascada",
            country="CO", date=date(2015, 1, 1), timestamp=datetime(2001, 1, 1, tzinfo=timezone.utc),
            recorded_by="tester", key="late", originator_topic="ledger.domain.organization:Organization")
        extras = {(late.originator_id, 1): EventExtras(key="late", recorded_at="2001-01-01T00:00:00.000000Z")}
        ledger.recorder.insert_events([ledger.mapper.to_stored_event(late)], extras=extras)
        stamps = ledger.recorder.recorded_at([8, 9])
    finally:
        ledger.close()

    assert stamps[9] == stamps[8]
    verify_passes(recorded)


# ---------------------------------------------------------------- deleted events and entries


def test_a_deleted_event_is_caught_at_its_chain_entry(recorded: str, raw: RawDatabase) -> None:
    raw("DELETE FROM {events} WHERE {position}=?", 6)

    error = verify_fails(recorded)

    assert "seq 6 (org oro-puno, version 3, position 6): the event row is missing" in error


def test_a_deleted_chain_entry_leaves_an_event_without_one(recorded: str, raw: RawDatabase) -> None:
    raw("DELETE FROM {chain} WHERE seq=?", 3)

    error = verify_fails(recorded)

    assert "seq 3 (org cecomip, version 2, position 3): event row has no chain entry" in error


def test_a_deleted_event_with_its_chain_entry_breaks_the_chain_at_the_gap(recorded: str, raw: RawDatabase) -> None:
    raw("DELETE FROM {events} WHERE {position}=?", 4)
    raw("DELETE FROM {chain} WHERE seq=?", 4)

    error = verify_fails(recorded)

    assert "seq 4: chain entry missing: the chain jumps from seq 3 to seq 5" in error


# ---------------------------------------------------------------- swapped events


def test_two_events_with_swapped_states_are_caught_at_the_first(recorded: str, raw: RawDatabase) -> None:
    _, _, _, third = raw.event(3)
    _, _, _, fifth = raw.event(5)
    raw("UPDATE {events} SET state=? WHERE {position}=?", fifth, 3)
    raw("UPDATE {events} SET state=? WHERE {position}=?", third, 5)

    error = verify_fails(recorded)

    assert "seq 3 (org cecomip, version 2, position 3)" in error


def test_two_events_that_swapped_positions_are_caught_at_the_first(recorded: str, raw: RawDatabase) -> None:
    raw("UPDATE {events} SET {position}=? WHERE {position}=?", 1000, 5)
    raw("UPDATE {events} SET {position}=? WHERE {position}=?", 5, 7)
    raw("UPDATE {events} SET {position}=? WHERE {position}=?", 7, 1000)

    error = verify_fails(recorded)

    assert "seq 5 (org cecomip, version 3, position 5): position 5 holds org oro-puno version 4 instead" in error


# ---------------------------------------------------------------- forged events


def forge_event(raw: RawDatabase, *, like: int, version: int) -> int:
    """Insert a copy of the event at position ``like`` as a new version of its organization."""
    originator_id, _, topic, state = raw.event(like)
    raw("INSERT INTO {events} (originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)",
        originator_id, version, topic, state)
    return raw("SELECT {position} FROM {events} WHERE originator_id=? AND originator_version=?",
               originator_id, version)[0][0]


def test_a_forged_event_without_a_chain_entry_is_caught(recorded: str, raw: RawDatabase) -> None:
    position = forge_event(raw, like=5, version=5)

    error = verify_fails(recorded)

    assert f"seq 9 (org cecomip, version 5, position {position}): event row has no chain entry" in error


def test_a_forged_event_with_a_copied_chain_entry_is_caught(recorded: str, raw: RawDatabase) -> None:
    position = forge_event(raw, like=5, version=5)
    _, _, originator_id, _, recorded_at, entry_hash = raw.chain_entry(8)
    raw("INSERT INTO {chain} VALUES (?, ?, ?, ?, ?, ?)", 9, position, originator_id, 5, recorded_at, entry_hash)

    error = verify_fails(recorded)

    assert f"seq 9 (org cecomip, version 5, position {position})" in error


def test_a_forged_event_spliced_into_the_chain_with_a_correct_hash_breaks_the_next_entry(
        recorded: str, raw: RawDatabase) -> None:
    position = forge_event(raw, like=5, version=5)
    _, _, _, state = raw.event(position)
    for seq in range(8, 4, -1):  # make room at seq 5
        raw("UPDATE {chain} SET seq=? WHERE seq=?", seq + 1, seq)
    _, _, originator_id, _, recorded_at, _ = raw.chain_entry(6)
    previous = bytes(raw.chain_entry(4)[5])
    forged = chain_hash(5, organization_id("cecomip"), 5, "ledger.domain.events:Recertified", state, previous)
    raw("INSERT INTO {chain} VALUES (?, ?, ?, ?, ?, ?)", 5, position, originator_id, 5, recorded_at, forged)

    error = verify_fails(recorded)

    assert ("seq 6 (org cecomip, version 3, position 5): entries out of order: position 5 does not follow "
            f"position {position} of seq 5") in error


def test_a_forged_event_hidden_behind_a_chain_entry_with_an_impossible_seq_is_caught(
        recorded: str, raw: RawDatabase) -> None:
    position = forge_event(raw, like=5, version=5)
    _, _, originator_id, _, recorded_at, entry_hash = raw.chain_entry(8)
    raw("INSERT INTO {chain} VALUES (?, ?, ?, ?, ?, ?)", -1, position, originator_id, 5, recorded_at, entry_hash)

    error = verify_fails(recorded)

    assert f"seq -1 (org cecomip, version 5, position {position}): a chain entry with an impossible seq" in error


# ---------------------------------------------------------------- projections


def test_a_changed_view_row_is_reported_as_a_projection_difference(recorded: str, raw: RawDatabase) -> None:
    import projections

    if not hasattr(projections, "compare_with_rebuild"):
        pytest.skip("the projections offer no compare_with_rebuild yet")
    assert "projections match" in verify_passes(recorded)
    raw("UPDATE {schema}.status_segments SET status=? WHERE org=?", "withdrawn", "cecomip")

    error = verify_fails(recorded)

    assert error.startswith("Error: verification failed in projections: status_segments: cecomip: ")


# ---------------------------------------------------------------- heads: truncation and rewrites


def write_head(db_url: str, path: Path, *extra: str) -> dict[str, Any]:
    result = run(db_url, "head", "--out", str(path), *extra)
    assert result.exit_code == 0, result.stderr
    return json.loads(path.read_text())


def test_a_head_written_before_further_events_still_verifies_after_them(recorded: str, tmp_path: Path) -> None:
    head = write_head(recorded, tmp_path / "head.json")
    ledger = CertificationLedger(recorded)
    ledger.reinstate("cecomip", date="2017-10-01")
    ledger.close()

    output = verify_passes(recorded, "--head", str(tmp_path / "head.json"))

    assert head["seq"] == 8
    assert output.startswith("OK: 9 events checked, head seq 9 ")
    assert "extends head seq 8" in output


def test_a_truncated_tail_verifies_clean_alone_but_not_against_an_earlier_head(
        recorded: str, raw: RawDatabase, tmp_path: Path) -> None:
    write_head(recorded, tmp_path / "head.json")
    for seq in (7, 8):  # a thorough forger: the events, their chain entries, and their index rows
        originator_id, version, _, _ = raw.event(seq)
        raw("DELETE FROM {events} WHERE {position}=?", seq)
        raw("DELETE FROM {chain} WHERE seq=?", seq)
        raw("DELETE FROM {keys} WHERE notification_id=?", seq)
        raw("DELETE FROM {claims} WHERE originator_id=? AND originator_version=?", originator_id, version)

    verify_passes(recorded)
    error = verify_fails(recorded, "--head", str(tmp_path / "head.json"))

    assert "seq 8: the head names seq 8, but the chain ends at seq 6" in error
    assert "truncation" in error


# ---------------------------------------------------------------- the indexes the chain does not cover

def test_a_truncated_tail_whose_keys_were_left_is_caught_by_the_key_index(recorded: str, raw: RawDatabase) -> None:
    for seq in (7, 8):
        raw("DELETE FROM {events} WHERE {position}=?", seq)
        raw("DELETE FROM {chain} WHERE seq=?", seq)
    assert verify_fails(recorded) == ("Error: verification failed in keys: the key index holds 2 keys that no event "
                                      "has")


@pytest.mark.parametrize("damage, message", [
    ("DELETE FROM {keys} WHERE notification_id = 5",
     "keys: the key of position 5 is missing from the key index (an import would record that line again)"),
    ("UPDATE {keys} SET notification_id = 99 WHERE notification_id = 6",
     "keys: the key index gives the key of position 6 to position 99"),
    ("INSERT INTO {keys} VALUES ('stray', 42)", "keys: the key index holds 1 key that no event has"),
    ("DELETE FROM {claims} WHERE number_key = 'fm-pe-0001'",
     "claims: number fm-pe-0001, claimed by version 2 of cecomip, is missing from the claim index (another "
     "organization could take it)"),
    ("UPDATE {claims} SET originator_version = 3 WHERE number_key = 'fm-pe-0001'",
     "claims: the claim index gives number fm-pe-0001 to version 3 of cecomip, which does not claim it"),
])
def test_damage_to_the_key_or_claim_index_fails_verify_by_name(recorded: str, raw: RawDatabase, damage: str,
                                                               message: str) -> None:
    raw(damage)
    assert verify_fails(recorded) == f"Error: verification failed in {message}"


def test_a_retraction_frees_a_number_and_verify_agrees(recorded: str) -> None:
    ledger = CertificationLedger(recorded)
    try:
        ledger.register("third", name="Third", country="PE", date="2016-01-10")
        ledger.certify("third", date="2016-02-01", standard="fairmined", certificate="FM-X-1")
        ledger.record({"command": "retract", "org": "third", "target": 2, "date": "2016-07-01", "reason": "x"})
        ledger.register("other", name="Other", country="PE", date="2016-01-10")
        ledger.certify("other", date="2016-08-01", standard="fairmined", certificate="fm-x-1")
        ledger.recertify("other", date="2017-07-01", certificate="FM-X-2")
    except Exception:
        ledger.close()
        raise
    ledger.close()
    verify_passes(recorded)


def rewrite_chain(raw: RawDatabase) -> None:
    """Recompute every entry hash from the (changed) events: a consistent forgery of the whole chain."""
    previous = GENESIS_HASH
    for seq, position, originator_id, version, _, _ in raw("SELECT * FROM {chain} ORDER BY seq"):
        _, _, topic, state = raw.event(position)
        previous = chain_hash(seq, originator_id, version, topic, state, previous)
        raw("UPDATE {chain} SET entry_hash=? WHERE seq=?", previous, seq)


def test_a_consistently_rewritten_chain_is_caught_only_by_a_head(
        recorded: str, raw: RawDatabase, tmp_path: Path) -> None:
    write_head(recorded, tmp_path / "head.json")
    _, _, _, state = raw.event(3)
    raw("UPDATE {events} SET state=? WHERE {position}=?", state.replace(b"FM-PE-0001", b"FM-PE-0009"), 3)
    rewrite_chain(raw)
    assert "claims: the claim index gives number fm-pe-0001 to version 2 of cecomip, which does not claim it" in \
        verify_fails(recorded), "the claim index still names the old number"
    raw("UPDATE {claims} SET number_key=? WHERE number_key=?", "fm-pe-0009", "fm-pe-0001")

    verify_passes(recorded)
    error = verify_fails(recorded, "--head", str(tmp_path / "head.json"))

    assert "seq 8" in error
    assert "the chain was rewritten since the head was written" in error


# ---------------------------------------------------------------- signed heads


@pytest.fixture
def keys(tmp_path: Path) -> tuple[str, str]:
    private, public = str(tmp_path / "scheme.pem"), str(tmp_path / "scheme.pub")
    result = CliRunner().invoke(cli, ["keygen", "--out-private", private, "--out-public", public])
    assert result.exit_code == 0, result.stderr
    return private, public


def test_a_signed_head_verifies_with_its_public_key(recorded: str, tmp_path: Path, keys: tuple[str, str]) -> None:
    private, public = keys
    head = write_head(recorded, tmp_path / "head.json", "--sign-key", private)

    output = verify_passes(recorded, "--head", str(tmp_path / "head.json"), "--public-key", public)

    assert head["signature"]["algorithm"] == "Ed25519"
    assert f"signature valid, key {head['signature']['key_id']}" in output


def test_a_signed_head_does_not_verify_with_another_key(recorded: str, tmp_path: Path,
                                                        keys: tuple[str, str]) -> None:
    write_head(recorded, tmp_path / "head.json", "--sign-key", keys[0])
    other = tmp_path / "other"
    other.mkdir()
    CliRunner().invoke(cli, ["keygen", "--out-private", str(other / "k.pem"), "--out-public", str(other / "k.pub")])

    error = verify_fails(recorded, "--head", str(tmp_path / "head.json"), "--public-key", str(other / "k.pub"))

    assert "the signature does not verify" in error


def test_a_signed_head_whose_hash_was_edited_is_refused(recorded: str, tmp_path: Path,
                                                        keys: tuple[str, str]) -> None:
    head = write_head(recorded, tmp_path / "head.json", "--sign-key", keys[0])
    head["seq"] = 6
    (tmp_path / "head.json").write_text(json.dumps(head))

    error = verify_fails(recorded, "--head", str(tmp_path / "head.json"), "--public-key", keys[1])

    assert "the signature does not verify" in error
    assert "(the head was altered)" in error


def test_an_unsigned_head_is_refused_when_a_public_key_is_given(recorded: str, tmp_path: Path,
                                                                keys: tuple[str, str]) -> None:
    write_head(recorded, tmp_path / "head.json")

    error = verify_fails(recorded, "--head", str(tmp_path / "head.json"), "--public-key", keys[1])

    assert "is not signed" in error


def test_a_public_key_without_a_head_is_a_usage_error(recorded: str, keys: tuple[str, str]) -> None:
    result = run(recorded, "verify", "--public-key", keys[1])

    assert result.exit_code == 2
    assert "give --head FILE too" in result.stderr


@pytest.mark.parametrize("content, message", [
    ("not json", "is not JSON"),
    ("[]", "is not a JSON object"),
    ('{"format": "certledger-head/1", "seq": 3, "hash": "abc", "recorded_at": null}', "64 hexadecimal digits"),
    ('{"format": "other", "seq": 3}', '"format" must be'),
])
def test_a_malformed_head_file_is_refused_cleanly(recorded: str, tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "head.json").write_text(content)

    error = verify_fails(recorded, "--head", str(tmp_path / "head.json"))

    assert message in error


def test_a_missing_head_file_is_refused_cleanly(recorded: str, tmp_path: Path) -> None:
    assert "does not exist" in verify_fails(recorded, "--head", str(tmp_path / "nowhere.json"))


# ---------------------------------------------------------------- head and keygen


def test_head_prints_seq_hash_and_recorded_at_as_json(recorded: str) -> None:
    result = run(recorded, "head")

    head = json.loads(result.stdout)
    assert result.exit_code == 0
    assert set(head) == {"format", "seq", "hash", "recorded_at"}
    assert head["seq"] == 8
    assert len(head["hash"]) == 64
    assert head["recorded_at"].endswith("Z")


def test_head_refuses_to_bless_a_broken_chain(recorded: str, raw: RawDatabase, tmp_path: Path) -> None:
    raw("UPDATE {events} SET topic=? WHERE {position}=?", "ledger.events:CertificationWithdrawn", 8)

    result = run(recorded, "head", "--out", str(tmp_path / "head.json"))

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: refusing to write a head: the chain is broken at seq 8 (org cecomip")
    assert not (tmp_path / "head.json").exists()


def test_keygen_writes_a_private_key_only_its_owner_can_read(keys: tuple[str, str]) -> None:
    private, public = keys

    assert Path(private).read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert Path(public).read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert os.stat(private).st_mode & 0o077 == 0


def test_keygen_never_overwrites_a_key_file(keys: tuple[str, str], tmp_path: Path) -> None:
    private, public = keys
    before = Path(private).read_bytes()

    result = CliRunner().invoke(cli, ["keygen", "--out-private", private, "--out-public", str(tmp_path / "new.pub")])

    assert result.exit_code == 1
    assert "already exists; refusing to overwrite" in result.stderr
    assert Path(private).read_bytes() == before
    assert not (tmp_path / "new.pub").exists()


def test_head_refuses_a_signing_key_that_is_not_ed25519(recorded: str, tmp_path: Path,
                                                        keys: tuple[str, str]) -> None:
    result = run(recorded, "head", "--sign-key", keys[1])

    assert result.exit_code == 1
    assert "is not a PEM private key" in result.stderr


# ---------------------------------------------------------------- the chain format itself


def test_the_documented_chain_example_hashes_as_documented() -> None:
    cecomip = organization_id("cecomip")
    first = chain_hash(1, cecomip, 1, "ledger.events:OrganizationRegistered", b'{"org":"cecomip"}', GENESIS_HASH)
    second = chain_hash(2, cecomip, 2, "ledger.events:CertificationGranted", b'{"standard":"fairmined"}', first)

    assert str(cecomip) == "ff535cd3-ccf9-5272-9d52-d92e8843a21d"
    assert first.hex() == "94efdd2749cd597fd1d0b8214a119a6c79f953c3fcda6783d30700b705ab0a4a"
    assert second.hex() == "216d274f4314faa8d5a77ce4c950c2edff640b50c77aaac91ba8df59faf7c316"


def test_the_verifier_recomputes_exactly_what_the_recorder_wrote(recorded: str) -> None:
    ledger = CertificationLedger(recorded)
    try:
        report = verify_chain(ledger.recorder, batch_size=3)
        rows = ledger.recorder.select_chain_and_events(0, 100)
    finally:
        ledger.close()
    walker = ChainWalker()
    walker.walk(rows)

    assert report.intact and report.events_checked == 8
    assert walker.report().head == report.head


def test_two_halves_report_exactly_what_one_walk_reports(recorded: str, raw: RawDatabase, chain_walks: str,
                                                          forked: list[int]) -> None:
    """Damage on both sides of the split and at it: a changed event in each half, the first entry of the second
    half with another recorded_at, and a gap where the halves meet. The second half is walked in another
    process."""
    for position in (2, 7):
        _, _, _, state = raw.event(position)
        raw("UPDATE {events} SET state=? WHERE {position}=?", state.replace(b'"date":"', b'"date": "'), position)
    raw("UPDATE {chain} SET recorded_at=? WHERE seq=?", "2001-01-01T00:00:00.000000Z", 5)
    raw("DELETE FROM {chain} WHERE seq=?", 4)
    ledger = CertificationLedger(recorded)
    try:
        at_once = verify_chain(ledger.storage)
        in_halves = verify_chain(ledger.storage, head=at_once.head, reopen=reopening(ledger))
    finally:
        ledger.close()

    # A PostgreSQL ledger's connection pool runs threads, and a process with threads does not fork: one walk there.
    split = chain_walks == "two halves" and not is_postgres_url(recorded)
    assert len(forked) == (1 if split else 0) and os.getpid() not in forked
    assert (in_halves.events_checked, in_halves.head, in_halves.problem_count) == (
        at_once.events_checked, at_once.head, at_once.problem_count) == (7, at_once.head, 5)
    assert [(p.seq, p.what) for p in in_halves.problems] == [(p.seq, p.what) for p in at_once.problems]
    assert {p.seq for p in at_once.problems} == {2, 4, 5, 7}


def test_a_second_half_that_cannot_read_its_database_fails_the_check_as_one_walk_would(
        recorded: str, chain_walks: str, forked: list[int]) -> None:
    """The forked walker's failure reaches this process as the same clean refusal, and the child is gone."""
    if chain_walks == "one walk" or is_postgres_url(recorded):
        pytest.skip("a split walk of an SQLite ledger")

    def unreadable() -> Any:
        raise sqlite3.OperationalError("disk I/O error")

    ledger = CertificationLedger(recorded)
    try:
        with pytest.raises(IntegrityFailure, match=r"^cannot read the hash chain of the database: disk I/O error$"):
            verify_chain(ledger.storage, reopen=unreadable)
    finally:
        ledger.close()
    [child] = forked
    with pytest.raises(ChildProcessError):
        os.waitpid(child, os.WNOHANG)  # reaped: no child left behind


def reference_verifier() -> Any:
    """The independent verifier printed in docs/integrity.md, loaded from the page itself."""
    page = (Path(__file__).resolve().parent.parent / "docs" / "integrity.md").read_text()
    section = page.split("## Re-implementing the check", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, "docs/integrity.md", "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace["verify"]


def test_the_reference_verifier_in_the_docs_agrees_with_verify(recorded: str, raw: RawDatabase) -> None:
    if is_postgres_url(recorded):
        pytest.skip("the documented reference verifier reads an SQLite file")
    verify = reference_verifier()
    head = json.loads(run(recorded, "head").stdout)

    assert verify(recorded) == f"ok 8 {head['hash']}"
    raw("DELETE FROM {chain} WHERE seq=?", 8)
    assert verify(recorded) == "position 8: event without a chain entry"
    _, _, _, state = raw.event(5)
    raw("UPDATE {events} SET state=? WHERE {position}=?", state.replace(b"2017-06-01", b"2017-06-02"), 5)
    assert verify(recorded) == "seq 5: hash mismatch"
