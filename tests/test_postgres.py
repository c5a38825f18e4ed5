"""What only PostgreSQL users meet: the URL, the server, the schema and the roles."""

from __future__ import annotations

import secrets
from typing import Iterator

import psycopg
import pytest
from click.testing import CliRunner

from cli import cli
from conftest import POSTGRES_SERVER, server_connection
from ledger.application import CertificationLedger
from projections import Views
from ledger.storage.backends import describe, postgres_environment

REGISTER = ["register", "cecomip", "--name", "CECOMIP", "--country", "PE", "--date", "2016-01-10"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("url, message", [
    ("postgresql://registrar:s3cret@127.0.0.1:1/test",
     "Error: cannot connect to postgresql://registrar@127.0.0.1:1/test: connection to server at \"127.0.0.1\", "
     "port 1 failed: Connection refused; "),
    ("postgresql://registrar:s3cret@127.0.0.1:port/test", "Error: postgresql://registrar@127.0.0.1/test: the port is "
     "not a number\n"),
    ("postgresql://registrar@127.0.0.1:5432", "Error: postgresql://registrar@127.0.0.1:5432: the URL names no "
     "database (postgresql://USER@HOST:PORT/DBNAME)\n"),
    ("postgresql://registrar@127.0.0.1/test?sslmode=require", "Error: postgresql://registrar@127.0.0.1/test: unknown "
     "URL parameter(s) sslmode (only ?schema=NAME is understood)\n"),
    ("postgresql://registrar@127.0.0.1/test?schema=fair;mined", "Error: postgresql://registrar@127.0.0.1/test?schema="
     "fair;mined: schema 'fair;mined' is not a plain identifier (letters, digits and underscores, at most 63)\n"),
])
def test_a_bad_url_or_an_unreachable_server_is_one_clear_line_without_the_password(url: str, message: str) -> None:
    code, out, err = run("--db", url, *REGISTER)

    assert (code, out) == (1, "")
    assert err.startswith(message)
    assert "s3cret" not in err and "Traceback" not in err


@pytest.mark.postgres
def test_the_schema_named_in_the_url_is_created_with_the_ledger_and_used_through_the_environment(
        postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CERTLEDGER_DB", postgres_url)
    assert run(*REGISTER)[0] == 0

    schema = postgres_url.split("schema=")[1]
    with server_connection() as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname=%s", (schema,))}
    assert {"certledger_events", "ledger_chain", "ledger_keys", "ledger_claims"} <= tables
    assert run("status", "cecomip", "--as-of", "2016-01-10", "--json")[1].count('"status": "registered"') == 1


@pytest.mark.postgres
def test_querying_a_schema_without_a_ledger_says_so(postgres_url: str) -> None:
    code, out, err = run("--db", postgres_url, "status")

    assert (code, out) == (1, "")
    assert err == f"Error: no ledger at {postgres_url} (record an event first, or pass --db / set CERTLEDGER_DB)\n"


@pytest.mark.postgres
def test_a_schema_holding_another_programs_tables_is_refused_and_left_as_it_was(postgres_url: str) -> None:
    schema = postgres_url.split("schema=")[1]
    with server_connection() as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        conn.execute(f"CREATE TABLE {schema}.invoices (id INTEGER)")
    for args in (REGISTER, ("status",)):
        code, out, err = run("--db", postgres_url, *args)
        assert (code, out) == (1, "")
        assert err == (f"Error: schema {schema} at {postgres_url} holds tables of another program (invoices), not a "
                       "certledger ledger: name a schema of the ledger's own with ?schema=NAME\n")
    with server_connection() as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname=%s", (schema,))]
    assert tables == ["invoices"], "the SQLite rule: no ledger is made beside another program's tables"


@pytest.fixture
def roles(postgres_url: str) -> Iterator[tuple[str, str, str]]:
    """A writer and a read-only role on a ledger created by the owner, granted as the README says."""
    owner = CertificationLedger(postgres_url)
    Views(owner.log).catch_up()
    owner.close()
    schema = postgres_url.split("schema=")[1]
    writer, reader = f"certledger_writer_{secrets.token_hex(3)}", f"certledger_reader_{secrets.token_hex(3)}"
    with server_connection() as conn:
        for statement in grants(schema, writer, reader):
            conn.execute(statement)
    yield schema, writer, reader
    with server_connection() as conn:
        for role in (writer, reader):
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


def grants(schema: str, writer: str, reader: str) -> list[str]:
    """The SQL of docs/postgresql.md, for one schema."""
    return [
        f"CREATE ROLE {writer} LOGIN",
        f"GRANT USAGE ON SCHEMA {schema} TO {writer}",
        f"GRANT SELECT, INSERT, UPDATE ON {schema}.certledger_events TO {writer}",
        f"GRANT SELECT, INSERT ON {schema}.ledger_chain, {schema}.ledger_keys TO {writer}",
        f"GRANT SELECT, INSERT, DELETE ON {schema}.ledger_claims TO {writer}",
        f"GRANT USAGE, UPDATE ON SEQUENCE {schema}.certledger_events_notification_id_seq TO {writer}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.status_segments, {schema}.certification_periods, "
        f"{schema}.event_feed, {schema}.notification_tracking TO {writer}",
        f"CREATE FUNCTION {schema}.certledger_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$BEGIN RAISE EXCEPTION 'ledger events are never updated or deleted'; END$$",
        f"CREATE TRIGGER certledger_append_only BEFORE UPDATE OR DELETE ON {schema}.certledger_events "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {schema}.certledger_append_only()",
        f"CREATE ROLE {reader} LOGIN",
        f"GRANT USAGE ON SCHEMA {schema} TO {reader}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {reader}",
    ]


def as_role(role: str, schema: str) -> str:
    server = POSTGRES_SERVER.split("://", 1)[1].split("@", 1)[1]
    return f"postgresql://{role}@{server}?schema={schema}"


@pytest.mark.postgres
def test_a_writer_role_records_and_a_read_only_role_queries_but_cannot_record(
        roles: tuple[str, str, str]) -> None:
    schema, writer, reader = roles
    assert run("--db", as_role(writer, schema), *REGISTER)[0] == 0
    assert run("--db", as_role(writer, schema), "certify", "cecomip", "--date", "2016-06-15", "--standard",
               "fairmined", "--certificate", "FM-PE-0001")[0] == 0

    code, out, _ = run("--db", as_role(reader, schema), "status", "cecomip", "--as-of", "2016-12-31")
    assert code == 0 and "certified" in out
    for role in (writer, reader):
        code, out, err = run("--db", as_role(role, schema), "registry", "--as-of", "2016-12-31", "--status",
                             "certified", "--csv")
        assert (code, err) == (0, ""), err
        assert out.splitlines()[1].startswith("cecomip,"), out

    owner = CertificationLedger(as_role("postgres", schema))
    owner.suspend("cecomip", date="2016-12-01", reason="traceability records missing")
    owner.close()
    code, out, err = run("--db", as_role(reader, schema), "registry", "--as-of", "2016-12-31", "--status",
                         "suspended", "--csv")
    assert (code, err) == (0, ""), err
    assert out.splitlines()[1].startswith("cecomip,"), "a reader must not see stale projections"

    code, out, err = run("--db", as_role(reader, schema), "audit", "cecomip", "--date", "2016-07-01", "--body", "IMO",
                         "--kind", "surveillance")
    assert (code, out) == (1, "")
    assert err.startswith(f"Error: cannot write to postgresql://{reader}@") and "permission denied" in err


@pytest.mark.postgres
def test_a_writer_without_the_grants_on_the_views_still_records_and_is_warned(roles: tuple[str, str, str]) -> None:
    schema, writer, _ = roles
    with server_connection() as conn:
        conn.execute(f"REVOKE INSERT, UPDATE, DELETE ON {schema}.status_segments, {schema}.certification_periods, "
                     f"{schema}.event_feed, {schema}.notification_tracking FROM {writer}")
    code, out, err = run("--db", as_role(writer, schema), *REGISTER)
    assert code == 0 and out.startswith("Recorded OrganizationRegistered for cecomip at position 1")
    assert err.startswith("Warning: cannot update") and "permission denied" in err, err
    code, out, err = run("--db", as_role("postgres", schema), "registry", "--csv")
    assert (code, err) == (0, "") and out.splitlines()[1].startswith("cecomip,"), out


@pytest.mark.postgres
def test_the_writer_role_cannot_change_a_recorded_event(roles: tuple[str, str, str]) -> None:
    schema, writer, _ = roles
    assert run("--db", as_role(writer, schema), *REGISTER)[0] == 0

    with psycopg.connect(as_role(writer, schema).split("?")[0], autocommit=True) as conn:
        with pytest.raises(psycopg.Error, match="ledger events are never updated or deleted"):
            conn.execute(f"UPDATE {schema}.certledger_events SET topic = topic")


def test_the_url_gives_user_password_host_port_database_and_schema() -> None:
    env = postgres_environment("postgresql://registrar:p%40ss%3Aword@db.example.org:6543/certification"
                               "?schema=fairmined")

    assert {k: env[k] for k in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_HOST", "POSTGRES_PORT",
                                "POSTGRES_DBNAME", "POSTGRES_SCHEMA")} == {
        "POSTGRES_USER": "registrar", "POSTGRES_PASSWORD": "p@ss:word", "POSTGRES_HOST": "db.example.org",
        "POSTGRES_PORT": "6543", "POSTGRES_DBNAME": "certification", "POSTGRES_SCHEMA": "fairmined"}
    assert describe("postgresql://registrar:p%40ss%3Aword@db.example.org:6543/certification?schema=fairmined") == (
        "postgresql://registrar@db.example.org:6543/certification?schema=fairmined")


def test_the_url_defaults_to_port_5432_and_the_public_schema() -> None:
    env = postgres_environment("postgresql://registrar@db.example.org/certification")

    assert (env["POSTGRES_PORT"], env["POSTGRES_SCHEMA"], env["POSTGRES_PASSWORD"]) == ("5432", "public", "")
