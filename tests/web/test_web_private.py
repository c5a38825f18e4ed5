"""``certledger serve --private`` with two workers, on both backends: every route (pages, API, description,
feed, static files) needs an account, a reader's is enough; refusals tell nothing about the ledger; answers
are private to caches; a revocation takes effect from the next request on, in each worker."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ElementTree
from typing import Iterator

import pytest

from accounts_http import UNAUTHENTICATED, bearer, client_from, open_accounts, worker_serving
from registry_server import BACKENDS, CERTLEDGER, Server, fresh_database, import_examples, serving

LAST = 155
ROUTES = [
    "/", "/?as_of=2019-07-01&status=certified", "/organizations/cecomip", "/reports/2019",
    "/reports?from=2019-01-01&to=2019-12-31", "/changes", "/feed.atom", "/registry.csv?as_of=2019-07-01",
    "/registry.json?as_of=2019-07-01",
    "/certificates/FM-PE-2016-01", "/verify", "/api/organizations/cecomip/findings",
    "/api/certificates/FM-PE-2016-01", "/api/registry", "/api/streaks", "/api/organizations/cecomip", "/api/organizations/cecomip/history",
    "/api/reports/2019", "/api/reports?from=2019-01-01&to=2019-12-31", "/api/changes", "/api/head",
    "/api/openapi.json", "/api/docs", "/static/registry.css", "/api/docs/assets/swagger-ui.css",
]
AUDIT = {"command": "audit", "org": "cecomip", "date": "2023-05-20", "body": "IMO Swiss AG", "kind": "surveillance"}


@pytest.fixture(scope="module", params=BACKENDS)
def private_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("private")
    with fresh_database(request.param, directory) as db:
        import_examples(db)
        tokens = open_accounts(db, [("staff", "reader", []), ("clerk", "office", []), ("temp-reader", "reader", []),
                                    ("temp-clerk", "office", [])])
        with serving(db, directory, workers=2, private=True) as server:
            server.tokens = tokens  # type: ignore[attr-defined]
            yield server


def token(server: Server, name: str) -> str:
    return server.tokens[name]  # type: ignore[attr-defined,no-any-return]


def test_serve_says_it_is_private(private_server: Server) -> None:
    assert "(2 workers, private: every request needs an account)" in private_server.output()


def test_a_browsers_preflight_is_answered_without_a_token_and_tells_nothing(private_server: Server) -> None:
    """A browser sends a CORS preflight without the token; refusing it would stop the request that carries one."""
    preflight = {"Origin": "https://buyer.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type"}
    response = private_server.client.options("/api/verify", headers=preflight)
    assert response.status_code == 204 and response.content == b""
    assert "Authorization" in response.headers["access-control-allow-headers"]
    assert response.headers["x-ledger-position"].isdigit()
    assert private_server.client.options("/", headers=preflight).status_code == 401, "only under /api/"


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("path", ROUTES + ["/nothing", "/api/nothing"])
def test_every_route_refuses_a_request_without_an_account_and_tells_nothing(
        private_server: Server, path: str, method: str) -> None:
    # A wrong token is a failed authentication: each from an address of its own, so the limit stays out of it.
    address = f"127.0.4.{(ROUTES + ['/nothing', '/api/nothing']).index(path) * 2 + (method == 'HEAD') + 1}"
    for headers in ({}, bearer("cl1_" + "0" * 32 + "_" + "A" * 43)):
        with client_from(private_server, address if headers else "127.0.0.1") as client:
            response = client.request(method, path, headers=headers)
        assert response.status_code == 401, (path, response.status_code)
        assert response.headers["www-authenticate"] == 'Bearer realm="certledger"'
        assert response.headers["x-ledger-position"].isdigit(), "every response carries the position"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
        if method == "GET":
            if path.startswith("/api/") or path.split("?")[0].endswith((".csv", ".json", ".atom")):
                assert response.json() == {"error": UNAUTHENTICATED}
            else:
                assert response.headers["content-type"].startswith("text/html")
                assert UNAUTHENTICATED in response.text and "cecomip" not in response.text.lower()


def test_recording_without_an_account_is_refused_too(private_server: Server) -> None:
    response = private_server.client.post("/api/commands", json=AUDIT)
    assert response.status_code == 401 and response.headers["x-ledger-position"].isdigit()


def test_verifying_a_list_without_an_account_is_refused(private_server: Server) -> None:
    response = private_server.client.post("/api/verify", json={"certificates": [{"certificate": "FM-PE-2016-01"}]})
    assert response.status_code == 401 and response.headers["x-ledger-position"].isdigit()
    assert response.json() == {"error": UNAUTHENTICATED}


@pytest.mark.parametrize("path", ROUTES)
def test_a_reader_reads_every_route(private_server: Server, path: str) -> None:
    response = private_server.get(path, headers=bearer(token(private_server, "staff")))
    assert response.status_code == 200, (path, response.text[:300])
    assert int(response.headers["x-ledger-position"]) >= LAST
    assert "public" not in response.headers["cache-control"]


def test_answers_that_never_change_are_cached_privately_only(private_server: Server) -> None:
    response = private_server.get("/api/organizations/cecomip", params={"as_of": "2019-07-01", "known_at": "100"},
                                  headers=bearer(token(private_server, "staff")))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, max-age=86400"
    missing = private_server.get("/nothing", headers=bearer(token(private_server, "staff")))
    assert missing.status_code == 404 and missing.headers["x-ledger-position"].isdigit()


def test_the_feed_and_the_changes_page_show_who_was_given_an_account(private_server: Server) -> None:
    headers = bearer(token(private_server, "staff"))
    feed = ElementTree.fromstring(private_server.get("/feed.atom", headers=headers).content)
    titles = [element.text or "" for element in feed.iter("{http://www.w3.org/2005/Atom}title")]
    assert any(title.startswith("account staff: Account opened on ") for title in titles), titles
    page = private_server.get("/changes", params={"since": LAST, "limit": 4}, headers=headers).text
    assert "account clerk" in page and page.count("Account opened") == 4 and "$argon2" not in page


def test_a_reader_records_nothing_and_an_office_records(private_server: Server) -> None:
    refused = private_server.client.post("/api/commands", json=AUDIT, headers=bearer(token(private_server, "staff")))
    assert refused.status_code == 403
    assert refused.json() == {"error": "account staff has the reader role, which records nothing"}
    recorded = private_server.client.post("/api/commands", json={**AUDIT, "reference": "private-1"},
                                          headers=bearer(token(private_server, "clerk")))
    assert recorded.status_code == 201 and recorded.json()["items"][0]["recorded_by"] == "clerk"


def ask(server: Server, name: str, address: str, attempt: int) -> tuple[int, int]:
    """One request as ``name`` on a fresh connection: its status and the worker that answered it."""
    with client_from(server, address) as client:
        if name.endswith("reader"):
            response = client.get("/api/changes", params={"limit": 0}, headers=bearer(token(server, name)))
        else:
            response = client.post("/api/commands", json={**AUDIT, "reference": f"{name}-{attempt}"},
                                   headers=bearer(token(server, name)))
        return response.status_code, worker_serving(server, response)


def test_a_revoked_account_is_refused_from_the_next_request_on_by_every_worker(private_server: Server) -> None:
    """Both workers have verified (and remember) each token; the revocation, committed by another process,
    is seen by each at its next request."""
    for name, good in (("temp-reader", 200), ("temp-clerk", 201)):
        workers: set[int] = set()
        for attempt in range(200):
            status, worker = ask(private_server, name, "127.0.0.1", attempt)
            assert status == good
            workers.add(worker)
            if len(workers) == 2:
                break
        assert len(workers) == 2, "the requests never reached the second worker"
    for name in ("temp-reader", "temp-clerk"):
        done = subprocess.run([CERTLEDGER, "--db", private_server.db, "accounts", "revoke", name],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    for name in ("temp-reader", "temp-clerk"):
        refused_by: set[int] = set()
        for attempt in range(200):
            # Each refusal is a failed authentication: from addresses of their own, so the limit stays out of it.
            status, worker = ask(private_server, name, f"127.0.5.{attempt + 1}", attempt + 1000)
            assert status == 401, f"{name}: {status} after the revocation"
            refused_by.add(worker)
            if len(refused_by) == 2:
                break
        assert len(refused_by) == 2
    still = private_server.get("/api/changes", params={"limit": 0}, headers=bearer(token(private_server, "staff")))
    assert still.status_code == 200


def test_no_token_is_in_the_servers_log(private_server: Server) -> None:
    log = private_server.log.read_bytes()
    assert b"GET /api/changes" in log and b" 401 " in log
    for value in private_server.tokens.values():  # type: ignore[attr-defined]
        secret = value.split("_", 2)[2]
        assert secret.encode() not in log and secret[:16].encode() not in log
