"""The JSON API of SPEC section 10, sentence by sentence, against the real server on both backends."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from ledger.integrity import heads
from click.testing import CliRunner

from cli import cli
from registry_server import BACKENDS, Server, examples_server, serving

LAST_POSITION = 155  # the examples ledger holds 155 events
ARTICLE_DAY = "2019-07-01"
ENDPOINTS = [
    "/api/registry", "/api/streaks", "/api/organizations/cecomip", "/api/organizations/cecomip/history",
    "/api/organizations/cecomip/findings", "/api/certificates/FM-PE-2016-01", "/api/reports/2019", "/api/reports?from=2019-07-01&to=2020-06-30", "/api/changes?since=40&limit=10",
    "/api/head", "/api/openapi.json",
]


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with examples_server(request.param, tmp_path_factory.mktemp("api")) as running:
        yield running


def error_of(response: httpx.Response) -> str:
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"]
    return str(body["error"])


def without_known_at(item: dict[str, object]) -> dict[str, object]:
    """An answer without the instant it was asked at (two questions about "now" are asked at two instants)."""
    return {k: v for k, v in item.items() if k != "known_at"}


def test_serve_binds_the_loopback_address_unless_told_otherwise(server: Server) -> None:
    assert f"on http://127.0.0.1:{server.port}/ (1 worker)" in server.output()


@pytest.mark.parametrize("path", ENDPOINTS)
def test_every_endpoint_answers_with_the_ledger_position_it_used(server: Server, path: str) -> None:
    response = server.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-ledger-position"] == str(LAST_POSITION)


@pytest.mark.parametrize("path", ["/api/certificates/FM-XX-0000-00", "/api/organizations/nobody",
                                  "/api/organizations/nobody/history", "/certificates/FM-XX-0000-00",
                                  "/organizations/nobody"])
def test_a_refusal_under_known_at_names_the_position_it_was_asked_at(server: Server, path: str) -> None:
    then = server.get(path, params={"known_at": "10"})
    now = server.get(path)
    assert then.status_code == now.status_code == 404
    assert then.headers["x-ledger-position"] == "10"
    assert now.headers["x-ledger-position"] == str(LAST_POSITION)


def test_the_registry_comes_in_an_envelope_with_the_time_it_describes(server: Server) -> None:
    body = server.get("/api/registry", params={"as_of": ARTICLE_DAY, "status": "certified"}).json()
    assert list(body) == ["items", "total", "as_of", "known_at", "position"]
    assert body["total"] == 8 == len(body["items"])
    assert body["as_of"] == ARTICLE_DAY and body["position"] == LAST_POSITION
    assert body["known_at"].endswith("Z") and body["known_at"] == body["items"][0]["known_at"]
    assert [item["org"] for item in body["items"]][:3] == ["cecomip", "chede", "coodmilla"]


def test_registry_filters_combine_and_status_repeats(server: Server) -> None:
    params = [("as_of", ARTICLE_DAY), ("status", "certified"), ("status", "expired"), ("country", "PE")]
    items = server.get("/api/registry", params=params).json()["items"]
    assert {item["status"] for item in items} == {"certified", "expired"}
    assert {item["country"] for item in items} == {"PE"}
    ecological = server.get("/api/registry", params={"as_of": ARTICLE_DAY, "standard": "ecological"}).json()
    assert {item["org"] for item in ecological["items"]} == {"oro-puno", "shijir-khishig", "xamodx"}


def test_limit_and_offset_page_through_a_list_and_total_counts_all_of_it(server: Server) -> None:
    whole = server.get("/api/registry", params={"as_of": ARTICLE_DAY}).json()
    page = server.get("/api/registry", params={"as_of": ARTICLE_DAY, "limit": 5, "offset": 3}).json()
    assert page["total"] == whole["total"] == len(whole["items"])
    assert [without_known_at(item) for item in page["items"]] == [without_known_at(i) for i in whole["items"][3:8]]
    assert server.get("/api/registry", params={"limit": 0}).json()["items"] == []


def test_limit_is_at_most_a_thousand(server: Server) -> None:
    assert server.get("/api/changes", params={"limit": 1000}).status_code == 200
    response = server.get("/api/changes", params={"limit": 1001})
    assert response.status_code == 400
    assert error_of(response).startswith("--limit: ")


def test_limit_defaults_to_a_hundred(server: Server) -> None:
    body = server.get("/api/changes").json()
    assert len(body["items"]) == 100 and body["total"] == LAST_POSITION and body["as_of"] is None
    assert [e["position"] for e in body["items"]] == list(range(1, 101))


def test_changes_since_a_position_in_position_order(server: Server) -> None:
    body = server.get("/api/changes", params={"since": 150, "limit": 3}).json()
    assert [e["position"] for e in body["items"]] == [151, 152, 153]
    assert body["total"] == 5 and body["position"] == LAST_POSITION


def test_changes_take_an_offset_as_every_list_does(server: Server) -> None:
    whole = server.get("/api/changes", params={"since": 140, "limit": 1000}).json()
    page = server.get("/api/changes", params={"since": 140, "limit": 4, "offset": 3}).json()
    assert page["items"] == whole["items"][3:7] and page["total"] == whole["total"] == LAST_POSITION - 140
    beyond = server.get("/api/changes", params={"since": 140, "offset": 1000}).json()
    assert beyond["items"] == [] and beyond["total"] == LAST_POSITION - 140


def test_one_organization_is_the_status_object_itself(server: Server) -> None:
    body = server.get("/api/organizations/cecomip", params={"as_of": ARTICLE_DAY}).json()
    assert body["org"] == "cecomip" and body["status"] == "certified"
    assert body["consecutive_years"] == 4 and body["recertifications"] == 3
    assert body["as_of"] == ARTICLE_DAY


def test_known_at_is_what_the_ledger_said_then(server: Server) -> None:
    retracted_grant = {"as_of": "2016-06-30", "known_at": "60"}
    then = server.get("/api/organizations/coodmilla", params=retracted_grant)
    assert then.json()["status"] == "certified" and then.headers["x-ledger-position"] == "60"
    now = server.get("/api/organizations/coodmilla", params={"as_of": "2016-06-30"})
    assert now.json()["status"] == "registered"


def test_history_holds_retracted_entries_marked(server: Server) -> None:
    body = server.get("/api/organizations/coodmilla/history").json()
    assert body["as_of"] is None and body["total"] == len(body["items"])
    retracted = [e for e in body["items"] if e["retracted"]]
    assert [(e["version"], e["retracted_by"]) for e in retracted] == [(2, 4)]


def test_reports_by_year_and_by_period(server: Server) -> None:
    year = server.get("/api/reports/2019").json()
    assert (year["from"], year["to"], year["certified_at_end"]) == ("2019-01-01", "2019-12-31", 10)
    period = server.get("/api/reports", params={"from": "2019-01-01", "to": "2019-12-31"}).json()
    assert period == year


def test_an_unknown_organization_is_404_with_the_cli_message(server: Server) -> None:
    response = server.get("/api/organizations/no-such-org")
    assert response.status_code == 404
    assert error_of(response) == "unknown organization no-such-org"
    assert server.get("/api/organizations/no-such-org/history").status_code == 404


def test_an_organization_before_its_registration_is_404(server: Server) -> None:
    response = server.get("/api/organizations/cecomip", params={"as_of": "2010-01-01"})
    assert response.status_code == 404
    assert error_of(response) == "cecomip is not registered on 2010-01-01 (registered on 2016-01-10)"


@pytest.mark.parametrize(("path", "params", "message"), [
    ("/api/registry", {"as_of": "2019-02-30"}, "--as-of: "),
    ("/api/registry", {"status": "sleeping"}, "Invalid value for '--status': 'sleeping' is not one of "),
    ("/api/registry", {"country": "xx"}, "--country: 'xx' is not an ISO 3166-1 alpha-2 country code: it names no country"),
    ("/api/streaks", {"known_at": "yesterday"}, "--known-at: 'yesterday' is neither a ledger position nor"),
    ("/api/organizations/cecomip", {"known_at": "²"}, "--known-at: '²' is neither a ledger position nor"),
    ("/api/reports", {"from": "2020-01-01", "to": "2019-01-01"}, "--from 2020-01-01 is after --to 2019-01-01"),
    ("/api/reports", {"from": "2020-01-01"}, "give --year YYYY, or both --from DATE and --to DATE"),
    ("/api/reports", {"from": "2020-01-01", "to": ""}, "give --year YYYY, or both --from DATE and --to DATE"),
    ("/api/changes", {"since": "-1"}, "Invalid value for '--since': -1 is not in the range 0<=x<=4611686018427387904."),
    # Stricter than click, which reads " 5" and "٣" as numbers: the API's own words, in click's form.
    ("/api/changes", {"since": " 5"}, "Invalid value for '--since': ' 5' is not a valid integer range."),
    ("/api/registry", {"limit": "٣"}, "Invalid value for '--limit': '٣' is not a valid integer range."),
    ("/api/reports/2019%0B", {}, "Invalid value for '--year': '2019\\x0b' is not a valid integer range."),
    ("/api/registry", {"offset": "x"}, "--offset: should be a whole number written with the digits 0-9"),
    ("/api/registry", {"as-of": "2019-07-01"}, "unknown parameter 'as-of'"),
    ("/api/registry", {"as_of": ["2019-12-31", "2018-01-01"]}, "--as-of: given more than once"),
    ("/api/changes", {"since": ["1", "2"]}, "--since: given more than once"),
])
def test_bad_input_is_400_with_the_message_the_cli_prints(server: Server, path: str, params: dict[str, str],
                                                          message: str) -> None:
    response = server.get(path, params=params)
    assert response.status_code == 400
    assert error_of(response).startswith(message)
    assert response.headers["x-ledger-position"] == str(LAST_POSITION)


@pytest.mark.parametrize(("args", "path", "params"), [
    (["registry", "--standard", "gold"], "/api/registry", {"standard": "gold"}),
    (["registry", "--status", "certified", "--status", "zz"], "/api/registry", {"status": ["certified", "zz"]}),
    (["registry", "--expiring-within", "-5"], "/api/registry", {"expiring_within": "-5"}),
    (["registry", "--as-of", "2019-02-30"], "/api/registry", {"as_of": "2019-02-30"}),
    (["registry", "--country", "xx"], "/api/registry", {"country": "xx"}),
    (["streaks", "--known-at", "yesterday"], "/api/streaks", {"known_at": "yesterday"}),
    (["changes", "--since", "-1"], "/api/changes", {"since": "-1"}),
    (["changes", "--limit", "-1"], "/api/changes", {"limit": "-1"}),
    (["changes", "--limit", "abc"], "/api/changes", {"limit": "abc"}),
    (["changes", "--since", "1.5"], "/api/changes", {"since": "1.5"}),
    (["changes", "--since", str(2**63)], "/api/changes", {"since": str(2**63)}),
    (["registry", "--expiring-within", "soon"], "/api/registry", {"expiring_within": "soon"}),
    (["registry", "--expiring-within", str(10**20)], "/api/registry", {"expiring_within": str(10**20)}),
    (["report", "--year", "abc"], "/api/reports/abc", {}),
    (["report", "--from", "2019-01-01"], "/api/reports", {"from": "2019-01-01"}),
    (["report"], "/api/reports", {}),
    (["registry", "--q", "a" * 501], "/api/registry", {"q": "a" * 501}),
    (["registry", "--region", "r" * 501], "/api/registry", {"region": "r" * 501}),
    (["registry", "--as-of", "1" * 41], "/api/registry", {"as_of": "1" * 41}),
    (["registry", "--country", "C" * 41], "/api/registry", {"country": "C" * 41}),
    (["status", "a" * 201], "/api/organizations/" + "a" * 201, {}),
    (["certificate", "N" * 1001], "/api/certificates/" + "N" * 1001, {}),
    (["report", "--from", "2" * 50, "--to", "2020-01-01"], "/api/reports", {"from": "2" * 50, "to": "2020-01-01"}),
    (["report", "--year", "0"], "/api/reports/0", {}),
    (["report", "--year", "10000"], "/api/reports/10000", {}),
    (["status", "no-such-org"], "/api/organizations/no-such-org", {}),
    (["certificate", "FM-XX-0000-00"], "/api/certificates/FM-XX-0000-00", {}),
])
def test_an_error_is_the_message_the_cli_prints_after_error(server: Server, args: list[str], path: str,
                                                          params: dict[str, object]) -> None:
    """SPEC section 10: errors are {"error": "<the message the CLI prints after Error: >"}, usage errors too."""
    printed = CliRunner().invoke(cli, ["--db", server.db, *args])
    assert printed.exit_code in (1, 2) and printed.stderr.splitlines()[-1].startswith("Error: ")
    response = server.get(path, params=params)
    assert response.status_code in (400, 404)
    assert error_of(response) == printed.stderr.splitlines()[-1].removeprefix("Error: ")


def test_an_unknown_path_is_404_json_under_api(server: Server) -> None:
    response = server.get("/api/nothing-here")
    assert response.status_code == 404
    assert error_of(response) == "no such page: /api/nothing-here"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_the_registry_is_read_only(server: Server, method: str) -> None:
    response = server.client.request(method, "/api/registry", content=b"{}")
    assert response.status_code == 405
    assert "read-only" in error_of(response)


def test_a_body_over_the_bound_is_413_announced_or_not(server: Server) -> None:
    big = b"x" * (2 * 1024 * 1024 + 1)
    assert server.client.post("/api/registry", content=big).status_code == 413

    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"y" * 65536

    response = server.client.post("/api/nothing", content=chunks())
    assert response.status_code in (404, 405, 413)  # refused before or while reading, never 5xx


def test_a_query_string_over_the_bound_is_400(server: Server) -> None:
    response = server.get("/api/registry", params={"country": "P" * 5000})
    assert response.status_code == 400
    assert "query string" in error_of(response)


def test_head_requests_are_answered_without_a_body(server: Server) -> None:
    response = server.client.head("/api/registry")
    assert response.status_code == 200 and response.content == b""
    assert response.headers["x-ledger-position"] == str(LAST_POSITION)


def test_every_response_carries_the_security_headers(server: Server) -> None:
    for path in ("/api/registry", "/api/nothing", "/", "/organizations/cecomip", "/static/registry.css", "/nothing"):
        headers = server.get(path).headers
        assert "default-src 'none'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "unsafe-inline" not in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["x-ledger-position"] == str(LAST_POSITION)


def test_api_answers_may_be_read_by_any_site(server: Server) -> None:
    headers = server.get("/api/streaks").headers
    assert headers["access-control-allow-origin"] == "*"
    assert "X-Ledger-Position" in headers["access-control-expose-headers"]


@pytest.mark.parametrize("path, method", [("/api/verify", "POST"), ("/api/commands", "POST"),
                                          ("/api/registry", "GET")])
def test_a_browsers_preflight_for_another_sites_script_is_answered_yes(server: Server, path: str,
                                                                      method: str) -> None:
    """A script on a buyer's own site may POST JSON to /api/verify (and, holding a token, to /api/commands):
    the browser first asks with OPTIONS, and gets the methods and headers the API takes."""
    asked = server.client.options(path, headers={"Origin": "https://buyer.example", "Access-Control-Request-Method":
                                                 method, "Access-Control-Request-Headers": "content-type"})
    assert asked.status_code == 204 and asked.content == b""
    assert asked.headers["access-control-allow-origin"] == "*"
    assert method in asked.headers["access-control-allow-methods"].split(", ")
    assert {"Authorization", "Content-Type"} <= set(asked.headers["access-control-allow-headers"].split(", "))
    assert asked.headers["x-ledger-position"] == str(LAST_POSITION)
    assert server.client.options(path).status_code == 405, "an OPTIONS that is no preflight is as before"


def test_a_pinned_answer_may_be_cached_and_a_live_one_is_revalidated(server: Server) -> None:
    pinned = server.get("/api/organizations/cecomip", params={"as_of": ARTICLE_DAY, "known_at": "100"})
    assert pinned.headers["cache-control"].startswith("public, max-age=")
    assert server.get("/api/organizations/cecomip", params={"as_of": ARTICLE_DAY}).headers["cache-control"] == \
        "no-cache"
    assert server.get("/api/organizations/cecomip", params={"known_at": "100"}).headers["cache-control"] == \
        "no-cache"  # "today" moves on by itself


def test_the_openapi_description_lists_every_route_and_refuses_with_400_not_422(server: Server) -> None:
    schema = server.get("/api/openapi.json").json()
    assert set(schema["paths"]) == {
        "/api/registry", "/api/streaks", "/api/organizations/{org}", "/api/organizations/{org}/history",
        "/api/organizations/{org}/findings", "/api/certificates/{number}", "/api/verify",
        "/api/reports/{year}", "/api/reports", "/api/changes", "/api/head", "/api/commands"}
    text = json.dumps(schema)
    assert '"422"' not in text and "HTTPValidationError" not in text
    assert "400" in schema["paths"]["/api/registry"]["get"]["responses"]


def test_the_interactive_docs_are_served_from_here_without_inline_script(server: Server) -> None:
    page = server.get("/api/docs")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "<script>" not in page.text
    for asset in ("/api/docs/assets/swagger-ui-bundle.js", "/api/docs/assets/swagger-ui.css", "/static/api-docs.js"):
        assert asset in page.text
        assert server.get(asset).status_code == 200


def test_the_head_is_signed_when_the_server_has_a_key(server: Server, tmp_path: Path) -> None:
    unsigned = server.get("/api/head").json()
    assert unsigned["seq"] == LAST_POSITION and "signature" not in unsigned
    private, public = tmp_path / "private.pem", tmp_path / "public.pem"
    heads.generate_key_pair(str(private), str(public))
    with serving(server.db, tmp_path, sign_key=str(private)) as signing:
        document = signing.get("/api/head").json()
    assert {k: v for k, v in document.items() if k != "signature"} == unsigned
    key = serialization.load_pem_public_key(public.read_bytes())
    key.verify(base64.b64decode(document["signature"]["value"]), heads.signed_bytes(document))  # type: ignore
