"""The server's own PostgreSQL role, as docs/postgresql.md creates it (its SQL is read from the document):
``certledger serve`` running as that role records over HTTP, and the role can add to the record but change
or remove nothing in it. A server running as the read-only role refuses to record, with a 4xx."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Iterator

import psycopg
import pytest

from accounts_http import bearer, open_accounts
from conftest import POSTGRES_SERVER, fresh_postgres_schema, server_connection
from registry_server import ROOT, import_examples, serving
from service import LedgerService
from test_postgres import grants

pytestmark = pytest.mark.postgres
DOC = (ROOT / "docs" / "postgresql.md").read_text(encoding="utf-8")
AUDIT = {"command": "audit", "org": "cecomip", "date": "2023-05-20", "body": "IMO Swiss AG", "kind": "surveillance"}


def server_role_sql(schema: str, web: str, writer: str) -> str:
    """The document's SQL for the server's role, for this schema and these role names."""
    section = DOC.split("### A role for the server that records over HTTP", 1)[1]
    sql = re.search(r"```sql\n(.*?)```", section, re.DOTALL)
    assert sql, "docs/postgresql.md lost the server role's SQL"
    return (sql.group(1).replace("PASSWORD '...'", "").replace("certledger_writer", writer)
            .replace("certledger_web", web).replace("fairmined.", f"{schema}."))


def as_role(role: str, schema: str) -> str:
    server = POSTGRES_SERVER.split("://", 1)[1].split("@", 1)[1]
    return f"postgresql://{role}@{server}?schema={schema}"


@pytest.fixture
def roles() -> Iterator[tuple[str, str, str, str]]:
    """A ledger made by the owner (the examples, an office account), the writer, reader and server roles."""
    schemas = fresh_postgres_schema()
    url = next(schemas)
    import_examples(url)
    owner = LedgerService(url)
    owner.views().catch_up()
    owner.close()
    schema = url.split("schema=")[1]
    suffix = secrets.token_hex(3)
    writer, reader, web = f"certledger_writer_{suffix}", f"certledger_reader_{suffix}", f"certledger_web_{suffix}"
    with server_connection() as conn:
        for statement in grants(schema, writer, reader):
            conn.execute(statement)
        conn.execute(server_role_sql(schema, web, writer))
    try:
        yield url, schema, web, reader
    finally:
        with server_connection() as conn:
            for role in (web, writer, reader):
                conn.execute(f"DROP OWNED BY {role}")
                conn.execute(f"DROP ROLE {role}")
        next(schemas, None)


def test_the_servers_role_records_over_http_and_can_change_nothing_recorded(
        roles: tuple[str, str, str, str], tmp_path: Path) -> None:
    owner_url, schema, web, _ = roles
    token = open_accounts(owner_url, [("clerk", "office", [])])["clerk"]
    with serving(as_role(web, schema), tmp_path) as server:
        recorded = server.client.post("/api/commands", json=AUDIT, headers=bearer(token))
        assert recorded.status_code == 201, (recorded.text, server.output())
        position = recorded.json()["position"]
        history = server.get("/api/organizations/cecomip/history", params={"limit": 1000}).json()
        assert history["position"] == position and history["items"][-1]["recorded_by"] == "clerk"
        assert server.get("/api/registry").headers["x-ledger-position"] == str(position)

    with psycopg.connect(as_role(web, schema).split("?")[0], autocommit=True) as conn:
        for statement, refusal in [
            (f"UPDATE {schema}.certledger_events SET topic = topic", "ledger events are never updated or deleted"),
            (f"DELETE FROM {schema}.certledger_events", "permission denied"),
            (f"TRUNCATE {schema}.certledger_events", "permission denied"),
            (f"UPDATE {schema}.ledger_chain SET recorded_at = recorded_at", "permission denied"),
            (f"DELETE FROM {schema}.ledger_chain", "permission denied"),
            (f"DELETE FROM {schema}.ledger_keys", "permission denied"),
            (f"DROP TABLE {schema}.certledger_events", "must be owner"),
            (f"ALTER TABLE {schema}.certledger_events DISABLE TRIGGER certledger_append_only", "must be owner"),
        ]:
            with pytest.raises(psycopg.Error, match=refusal):
                conn.execute(statement)
    owner = LedgerService(owner_url)
    try:
        verified = owner.verify()
    finally:
        owner.close()
    assert verified.ok, verified.problems


def test_a_server_running_as_the_read_only_role_refuses_to_record_with_a_4xx(
        roles: tuple[str, str, str, str], tmp_path: Path) -> None:
    owner_url, schema, _, reader = roles
    token = open_accounts(owner_url, [("clerk", "office", [])])["clerk"]
    with serving(as_role(reader, schema), tmp_path) as server:
        refused = server.client.post("/api/commands", json=AUDIT, headers=bearer(token))
        assert refused.status_code == 400
        assert refused.json()["error"].startswith(f"cannot write to postgresql://{reader}@")
        assert "permission denied for table certledger_events" in refused.json()["error"]
        assert server.get("/api/organizations/cecomip").status_code == 200
