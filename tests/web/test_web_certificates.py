"""Certificates over HTTP (SPEC sections 9 and 10): ``/api/certificates/{number}``, ``POST /api/verify``,
``/api/organizations/{org}/findings``, the registry's search filters, and their pages (``/certificates/...``,
``/verify`` with its CSV, the organization's findings and certificates, the search form), sentence by
sentence, against the real server on both backends."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit
from typing import Any, Iterator

import httpx
import pytest

from registry_server import BACKENDS, LATER_EVENTS, Server, examples_server
from test_web_pages import Page, assert_plain_page, page

LAST_POSITION = 159  # the examples' 155 events and the four later ones
CECOMIP = "Central de Cooperativas Minero Metalúrgicas de Puno Ltda. (CECOMIP)"
ANSWER_KEYS = ["certificate", "org", "name", "country", "standard", "state", "valid_from", "valid_until", "as_of",
               "known_at"]


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with examples_server(request.param, tmp_path_factory.mktemp("certificates"), extra=LATER_EVENTS) as running:
        yield running


def error_of(response: httpx.Response) -> str:
    assert response.headers["content-type"] == "application/json", response.text[:200]
    body = response.json()
    assert list(body) == ["error"]
    return str(body["error"])


def verify(server: Server, body: Any, **params: str) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return server.client.post("/api/verify", content=content, params=params,
                              headers={"content-type": "application/json"})


# ---------------------------------------------------------------- GET /api/certificates/{number}


def test_a_certificate_is_the_answer_of_section_9(server: Server) -> None:
    response = server.get("/api/certificates/FM-PE-2016-01", params={"as_of": "2019-12-31"})
    assert response.status_code == 200 and response.headers["x-ledger-position"] == str(LAST_POSITION)
    body = response.json()
    assert list(body) == ANSWER_KEYS
    assert {k: v for k, v in body.items() if k != "known_at"} == {
        "certificate": "FM-PE-2016-01", "org": "cecomip", "name": CECOMIP, "country": "PE", "standard": "fairmined",
        "state": "valid", "valid_from": "2019-06-15", "valid_until": "2020-06-14", "as_of": "2019-12-31"}
    assert body["known_at"].endswith("Z")


@pytest.mark.parametrize(("number", "day", "state", "period"), [
    ("FM-PE-2016-01", "2019-07-01", "valid", ("2019-06-15", "2020-06-14")),
    ("FM-PE-2018-01", "2022-03-15", "suspended", ("2021-08-20", "2022-08-19")),
    ("FM-PE-2012-01", "2013-10-01", "suspended", ("2013-05-15", "2014-05-14")),
    ("FM-CO-2017-03", "2019-07-01", "withdrawn", ("2018-08-09", "2019-08-08")),
    ("FM-PE-2016-01", "2022-09-01", "superseded", ("2021-08-16", "2022-08-15")),
    ("FM-PE-2016-01", "2026-01-01", "expired", ("2021-08-16", "2022-08-15")),
    ("FM-PE-2012-01", "2019-07-01", "expired", ("2015-05-15", "2016-05-14")),
    ("FM-CO-2019-01", "2019-07-01", "not-yet-valid", ("2019-08-14", "2020-12-13")),
    ("FM-PE-2022-07", "2022-09-01", "valid", ("2022-08-16", "2023-08-15")),
])
def test_every_state_on_its_day(server: Server, number: str, day: str, state: str, period: tuple[str, str]) -> None:
    body = server.get(f"/api/certificates/{number}", params={"as_of": day}).json()
    assert (body["state"], body["valid_from"], body["valid_until"], body["as_of"]) == (state, *period, day)


def test_letter_case_and_surrounding_spaces_aside_the_number_is_shown_as_first_recorded(server: Server) -> None:
    for asked in ("fm-pe-2016-01", "Fm-Pe-2016-01", "%20FM-PE-2016-01%20"):
        body = server.get(f"/api/certificates/{asked}", params={"as_of": "2019-07-01"}).json()
        assert body["certificate"] == "FM-PE-2016-01" and body["state"] == "valid"


def test_an_unknown_certificate_is_404_with_the_cli_message(server: Server) -> None:
    response = server.get("/api/certificates/FM-XX-0000")
    assert response.status_code == 404
    assert error_of(response) == "unknown certificate FM-XX-0000"
    assert response.headers["x-ledger-position"] == str(LAST_POSITION)
    slash = server.get("/api/certificates/FM%2FPE%2F1")
    assert slash.status_code == 404 and error_of(slash) == "unknown certificate FM/PE/1"


def test_a_number_not_known_yet_is_unknown_then(server: Server) -> None:
    assert server.get("/api/certificates/FM-PE-2022-07", params={"known_at": "156"}).status_code == 404
    assert server.get("/api/certificates/FM-PE-2022-07", params={"known_at": "157"}).status_code == 200
    before = server.get("/api/certificates/FM-PE-2016-01", params={"known_at": "0"})
    assert before.status_code == 404 and error_of(before) == "unknown certificate FM-PE-2016-01"


def test_known_at_is_what_the_ledger_said_then(server: Server) -> None:
    # COODMILLA's 2016 grant was retracted at position 61: before it, its number was valid on 30 June 2016.
    then = server.get("/api/certificates/FM-CO-2017-01", params={"as_of": "2016-06-30", "known_at": "60"})
    assert then.json()["state"] == "valid" and then.headers["x-ledger-position"] == "60"
    assert then.headers["cache-control"].startswith("public, max-age=")
    now = server.get("/api/certificates/FM-CO-2017-01", params={"as_of": "2016-06-30"})
    assert now.json()["state"] == "not-yet-valid" and now.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(("number", "message"), [
    ("%00", "certificate: must not contain control characters"),
    ("FM%09PE", "certificate: must not contain control characters"),
    ("%E2%80%A8", "certificate: must not contain control characters"),
    ("%20%20", "certificate: must not be empty"),
    ("N" * 501, "certificate: must be at most 500 characters (got 501)"),
    ("N" * 1001, "certificate: must be at most 500 characters (got 1001)"),
])
def test_a_number_no_certificate_can_have_is_400(server: Server, number: str, message: str) -> None:
    response = server.get(f"/api/certificates/{number}")
    assert response.status_code == 400
    assert error_of(response).startswith(message)


# ---------------------------------------------------------------- POST /api/verify


def test_verify_answers_each_certificate_in_order_on_its_own_day(server: Server) -> None:
    entries = [{"certificate": "FM-PE-2016-01", "date": "2019-12-31"}, {"certificate": "nope-1"},
               {"certificate": "fm-co-2017-03"}, {"certificate": "FM-PE-2016-01", "date": None},
               {"certificate": "nope-1", "date": "2019-01-01"}]
    response = verify(server, {"certificates": entries}, as_of="2019-07-01")
    assert response.status_code == 200 and response.headers["x-ledger-position"] == str(LAST_POSITION)
    body = response.json()
    assert list(body) == ["items", "total", "as_of", "known_at", "position"]
    assert (body["total"], body["as_of"], body["position"]) == (5, "2019-07-01", LAST_POSITION)
    items = body["items"]
    assert [(i.get("certificate"), i.get("state"), i.get("as_of")) for i in items] == [
        ("FM-PE-2016-01", "valid", "2019-12-31"), ("nope-1", None, None), ("FM-CO-2017-03", "withdrawn", "2019-07-01"),
        ("FM-PE-2016-01", "valid", "2019-07-01"), ("nope-1", None, None)]
    assert items[1] == items[4] == {"certificate": "nope-1", "found": False}
    assert list(items[0]) == ANSWER_KEYS and items[0]["known_at"] == body["known_at"]
    single = server.get("/api/certificates/FM-CO-2017-03", params={"as_of": "2019-07-01"}).json()
    assert {k: v for k, v in items[2].items() if k != "known_at"} == {k: v for k, v in single.items()
                                                                      if k != "known_at"}


def test_verify_defaults_to_today_and_knows_what_it_knew(server: Server) -> None:
    body = verify(server, {"certificates": [{"certificate": "FM-PE-2022-07"}]}).json()
    assert body["as_of"] == body["items"][0]["as_of"] == datetime.now(timezone.utc).date().isoformat()
    then = verify(server, {"certificates": [{"certificate": "FM-PE-2022-07", "date": "2022-09-01"}]}, known_at="156")
    assert then.json()["items"] == [{"certificate": "FM-PE-2022-07", "found": False}]
    assert then.headers["x-ledger-position"] == "156" and then.json()["position"] == 156
    empty = verify(server, {"certificates": []}).json()
    assert (empty["items"], empty["total"]) == ([], 0)


def test_verify_takes_a_thousand_and_refuses_more_with_413(server: Server) -> None:
    thousand = [{"certificate": f"FM-PE-2016-0{n % 2}"} for n in range(1000)]
    response = verify(server, {"certificates": thousand}, as_of="2019-07-01")
    assert response.status_code == 200 and response.json()["total"] == 1000
    assert {item.get("state") for item in response.json()["items"]} == {"valid", None}
    more = verify(server, {"certificates": [{"certificate": "x"}] * 1001})
    assert more.status_code == 413
    assert error_of(more) == "at most 1000 certificates at once (got 1001)"
    huge = verify(server, {"certificates": [0] * 50_000})  # counted before anything else is looked at
    assert huge.status_code == 413


@pytest.mark.parametrize(("body", "message"), [
    (b"", "request body: not JSON"),
    (b"{", "request body: not JSON"),
    (b"\x80{}", "request body: not UTF-8 text (byte 0)"),
    (b"[" * 100_000 + b"]" * 100_000, "request body: nested too deeply"),
    (b'{"certificates": [' + b"9" * 5000 + b"]}",
     "request body: not JSON this ledger reads (a number of 5000 digits (at most 30))"),
    (b'{"certificates": [{"certificate": "BE-2", "certificate": "x"}]}',
     "request body: not JSON this ledger reads (key 'certificate' appears twice in one object)"),
    (b"[]", "request body: expected {\"certificates\": "),
    (b"null", "request body: expected {\"certificates\": "),
    (b'{"certificates": {}}', "request body: expected {\"certificates\": "),
    (b'{"certificates": [], "as_of": "2019-01-01"}', "request body: expected {\"certificates\": "),
    (b'{"Certificates": []}', "request body: expected {\"certificates\": "),
    (b'{"certificates": [1]}', "entry 1: expected {\"certificate\": NUMBER"),
    (b'{"certificates": [{"certificate": "a"}, {"number": "b"}]}', "entry 2: expected {\"certificate\": NUMBER"),
    (b'{"certificates": [{"certificate": 5}]}', "entry 1: expected {\"certificate\": NUMBER"),
    (b'{"certificates": [{"certificate": "a", "extra": 1}]}', "entry 1: unknown field extra"),
    (b'{"certificates": [{"certificate": "a", "date": "2019-02-30"}]}',
     "entry 1: date: '2019-02-30' is not a real calendar date"),
    (b'{"certificates": [{"certificate": "a", "date": 20190101}]}', "entry 1: date: expected a calendar date"),
    (b'{"certificates": [{"certificate": "a\\u0000b"}]}', "entry 1: certificate: must not contain control"),
    (b'{"certificates": [{"certificate": "\\ud800"}]}', "entry 1: certificate: must be valid Unicode text"),
    (b'{"certificates": [{"certificate": "  "}]}', "entry 1: certificate: must not be empty"),
    (b'{"certificates": [NaN]}', "request body: not JSON this ledger reads (NaN is not a JSON number)"),
])
def test_a_malformed_verify_request_is_400_naming_what_is_wrong(server: Server, body: bytes, message: str) -> None:
    response = verify(server, body)
    assert response.status_code == 400, response.text[:300]
    assert error_of(response).startswith(message)
    assert response.headers["x-ledger-position"] == str(LAST_POSITION)


def test_verify_refuses_bad_parameters_and_other_methods(server: Server) -> None:
    body = {"certificates": [{"certificate": "FM-PE-2016-01"}]}
    assert error_of(verify(server, body, as_of="2019-13-01")).startswith("--as-of: ")
    assert error_of(verify(server, body, known_at="soon")).startswith("--known-at: 'soon' is neither")
    assert error_of(verify(server, body, date="2019-01-01")).startswith("unknown parameter 'date'")
    response = server.get("/api/verify")
    assert response.status_code == 405
    assert error_of(response) == "GET is not allowed on /api/verify: it takes POST only"
    assert server.client.post("/api/verify", content=b"x" * (2 * 1024 * 1024 + 1)).status_code == 413


# ---------------------------------------------------------------- GET /api/organizations/{org}/findings


def test_findings_come_in_the_envelope_with_their_ids_and_closures(server: Server) -> None:
    response = server.get("/api/organizations/cecomip/findings", params={"as_of": "2019-07-01"})
    body = response.json()
    assert list(body) == ["items", "total", "as_of", "known_at", "position"]
    assert (body["total"], body["as_of"], body["position"]) == (4, "2019-07-01", LAST_POSITION)
    assert [f["id"] for f in body["items"]] == ["2.1", "4.1", "8.1", "8.2"]
    closed = body["items"][1]
    assert list(closed) == ["id", "audit_date", "audit_reference", "body", "severity", "category", "text",
                            "closed_on", "evidence"]
    assert (closed["closed_on"], closed["evidence"]) == ("2018-05-02", LATER_EVENTS[0]["evidence"])
    assert body["items"][2]["closed_on"] is None and body["items"][2]["evidence"] is None


def test_open_findings_are_those_not_closed_on_the_day_as_known_then(server: Server) -> None:
    def open_ids(**params: str) -> list[str]:
        return [f["id"] for f in server.get("/api/organizations/cecomip/findings",
                                            params={"open": "true", **params}).json()["items"]]

    assert open_ids(as_of="2019-07-01") == ["2.1", "8.1", "8.2"]
    assert open_ids(as_of="2018-05-01") == ["2.1", "4.1"]  # closed the next day
    assert open_ids(as_of="2019-07-01", known_at="155") == ["2.1", "4.1", "8.1", "8.2"]  # the closure was not known
    assert open_ids(as_of="2019-07-01", open="false") == ["2.1", "4.1", "8.1", "8.2"]  # type: ignore[misc]
    page = server.get("/api/organizations/cecomip/findings", params={"limit": 2, "offset": 1}).json()
    assert [f["id"] for f in page["items"]] == ["4.1", "8.1"] and page["total"] == 6


@pytest.mark.parametrize(("path", "params", "status", "message"), [
    ("/api/organizations/nobody/findings", {}, 404, "unknown organization nobody"),
    ("/api/organizations/cecomip/findings", {"as_of": "2010-01-01"}, 404,
     "cecomip is not registered on 2010-01-01 (registered on 2016-01-10)"),
    ("/api/organizations/cecomip/findings", {"open": "maybe"}, 400, "--open: "),
    ("/api/organizations/cecomip/findings", {"only_open": "true"}, 400, "unknown parameter 'only_open'"),
])
def test_findings_refusals(server: Server, path: str, params: dict[str, str], status: int, message: str) -> None:
    response = server.get(path, params=params)
    assert response.status_code == status
    assert error_of(response).startswith(message)


# ---------------------------------------------------------------- the registry's search filters


@pytest.mark.parametrize(("params", "orgs"), [
    ({"q": "aurifera", "as_of": "2019-07-01"}, ["15-de-agosto", "aurifera-yani", "cotapata"]),
    ({"q": "AURÍFERA YANI", "as_of": "2019-07-01"}, ["aurifera-yani"]),
    ({"q": "fm-co-2017", "as_of": "2019-07-01"}, ["coodmilla", "la-cascada", "la-coqueta", "la-fortaleza"]),
    ({"q": "%", "as_of": "2019-07-01"}, []),
    ({"region": "puno", "as_of": "2019-07-01"}, ["cecomip", "cruz-pata", "oro-puno"]),
    ({"region": "Nariño", "as_of": "2019-07-01"}, ["coodmilla", "la-fortaleza"]),
    ({"expiring_within": "60", "as_of": "2019-11-01"}, ["chede", "shijir-khishig"]),
    ({"expiring_within": "60", "as_of": "2019-11-01", "country": "MN"}, ["shijir-khishig"]),
    ({"expiring_within": "", "q": "", "region": "", "as_of": "2016-06-30", "status": "suspended"}, []),
])
def test_the_registry_filters_by_text_region_and_expiry(server: Server, params: dict[str, str],
                                                        orgs: list[str]) -> None:
    body = server.get("/api/registry", params=params).json()
    assert [item["org"] for item in body["items"]] == orgs and body["total"] == len(orgs)


@pytest.mark.parametrize(("params", "message"), [
    ({"expiring_within": "-1"}, "Invalid value for '--expiring-within': -1 is not in the range 0<=x<=4611686018427387904."),
    ({"expiring_within": "soon"}, "Invalid value for '--expiring-within': 'soon' is not a valid integer range."),
    ({"q": "a\x00b"}, "--q: must not contain control characters"),
    ({"region": "   "}, "--region: must not be empty"),
    ({"q": "x" * 501}, "--q: "),
])
def test_bad_filters_are_400(server: Server, params: dict[str, str], message: str) -> None:
    response = server.get("/api/registry", params=params)
    assert response.status_code == 400
    assert error_of(response).startswith(message)


def test_a_page_of_the_registry_counts_the_whole_answer(server: Server) -> None:
    whole = server.get("/api/registry", params={"as_of": "2022-02-28"}).json()
    assert whole["total"] == len(whole["items"]) == 19
    for limit, offset in [(5, 0), (5, 15), (5, 19), (5, 40), (0, 3)]:
        page_body = server.get("/api/registry", params={"as_of": "2022-02-28", "limit": limit,
                                                        "offset": offset}).json()
        assert page_body["total"] == 19
        assert [i["org"] for i in page_body["items"]] == [i["org"] for i in whole["items"]][offset:offset + limit]


# ---------------------------------------------------------------- the pages


def test_the_certificate_page_is_a_card_a_buyer_can_trust(server: Server) -> None:
    html = page(server, "/certificates/fm-pe-2016-01?as_of=2019-12-31")
    words = html.words()
    assert "Certificate FM-PE-2016-01" in words and "At the end of 2019-12-31" in words
    assert "✓ Valid" in words and "FM-PE-2016-01 was valid on 2019-12-31" in words
    assert "Fairmined Gold" in words and "2019-06-15 to 2020-06-14" in words
    found = links(server, "/certificates/fm-pe-2016-01?as_of=2019-12-31")
    assert (CECOMIP, "/organizations/cecomip?as_of=2019-12-31") in found
    assert ("this answer (JSON)", "/api/certificates/FM-PE-2016-01?as_of=2019-12-31") in found
    for name in ("as_of", "known_at"):
        (field,) = html.all("input", name=name)
        assert html.all("label", **{"for": field["id"]})


@pytest.mark.parametrize(("path", "symbol"), [
    ("/certificates/FM-PE-2016-01?as_of=2022-09-01", "↻ Superseded"),
    ("/certificates/FM-PE-2018-01?as_of=2022-03-15", "‖ Suspended"),
    ("/certificates/FM-CO-2017-03?as_of=2019-07-01", "✕ Withdrawn"),
    ("/certificates/FM-PE-2012-01?as_of=2019-07-01", "○ Expired"),
    ("/certificates/FM-CO-2019-01?as_of=2019-07-01", "… Not yet valid"),
    ("/certificates/FM-CO-2017-01?as_of=2016-06-30&known_at=60", "✓ Valid"),
])
def test_the_certificate_page_says_each_state_in_words_and_a_symbol(server: Server, path: str, symbol: str) -> None:
    html = page(server, path)
    (state,) = [a for t, a in html.tags if t == "span" and a.get("class", "").split()[-1:] == ["big"]]
    assert state["class"].startswith("state state-")
    assert symbol in html.words()
    if "known_at=60" in path:
        assert "As the registry knew it on" in html.words() and "(ledger position 60)" in html.words()


def test_an_unknown_certificate_is_a_404_page(server: Server) -> None:
    assert "unknown certificate FM-XX-1" in page(server, "/certificates/FM-XX-1", status=404).words()


def test_the_organization_page_shows_its_findings_and_links_its_certificates(server: Server) -> None:
    html = page(server, "/organizations/cecomip?as_of=2022-09-01")
    words = html.words()
    found = links(server, "/organizations/cecomip?as_of=2022-09-01")
    assert ("FM-PE-2016-01", "/certificates/FM-PE-2016-01?as_of=2022-09-01") in found
    assert ("FM-PE-2022-07", "/certificates/FM-PE-2022-07?as_of=2022-09-01") in found
    assert "Audit findings" in words and "5 open" in words and "1 closed" in words
    rows = {a["id"]: a["class"] for a in html.all("tr") if a.get("id", "").startswith("finding-")}
    assert rows == {"finding-2.1": "open", "finding-8.1": "open", "finding-8.2": "open", "finding-11.1": "open",
                    "finding-13.1": "open", "finding-4.1": "closed"}
    assert "2018-05-02" in words and LATER_EVENTS[0]["evidence"] in words
    earlier = page(server, "/organizations/cecomip?as_of=2019-07-01&known_at=155")
    assert "4 open" in earlier.words() and "FM-PE-2022-07" not in earlier.words()
    assert ("FM-PE-2016-01", "/certificates/FM-PE-2016-01?as_of=2019-07-01&known_at=155") in \
        links(server, "/organizations/cecomip?as_of=2019-07-01&known_at=155")


def test_the_search_form_has_text_region_and_expiry_fields_that_filter(server: Server) -> None:
    html = page(server, "/?q=aurifera&region=&expiring_within=&as_of=2019-07-01")
    for name in ("q", "region", "expiring_within"):
        (field,) = html.all("input", name=name)
        (label,) = html.all("label", **{"for": field["id"]})
    assert "3 organizations on 2019-07-01" in html.words()
    downloads = {urlsplit(href).path: set(parse_qsl(urlsplit(href).query))
                 for _, href in links(server, "/?q=aurifera&region=&expiring_within=&as_of=2019-07-01")
                 if href.startswith(("/registry.", "/api/registry"))}
    query = {("q", "aurifera"), ("as_of", "2019-07-01"), ("known_at", str(LAST_POSITION))}
    assert downloads == {"/registry.csv": query, "/registry.json": query}
    expiring = page(server, "/?expiring_within=60&as_of=2019-11-01")
    assert "2 organizations on 2019-11-01" in expiring.words()
    csv_text = server.get("/registry.csv", params={"expiring_within": 60, "as_of": "2019-11-01"}).text
    assert [row["org"] for row in csv.DictReader(io.StringIO(csv_text))] == ["chede", "shijir-khishig"]
    assert "Invalid value for '--expiring-within': -3" in page(server, "/?expiring_within=-3", status=400).words()


def test_the_verify_page_is_a_plain_form_with_labelled_fields(server: Server) -> None:
    html = page(server, "/verify")
    (form,) = html.all("form", method="post")
    assert form["action"] == "/verify" and form["enctype"] == "multipart/form-data"
    for tag, name in (("textarea", "certificates"), ("input", "file"), ("input", "as_of"), ("input", "known_at")):
        (field,) = html.all(tag, name=name)
        assert html.all("label", **{"for": field["id"]}), name
    assert "Up to 1,000 at once" in html.words()


def test_the_verify_page_refuses_a_bad_day_in_its_link_and_its_csv_an_empty_list(server: Server) -> None:
    assert "--as-of: " in page(server, "/verify?as_of=bad", status=400).words()
    assert "--known-at: " in page(server, "/verify?known_at=yesterday", status=400).words()
    assert page(server, "/verify?as_of=2019-07-01&known_at=60").all("input", name="as_of")
    empty = server.client.post("/verify.csv", data={"certificates": ""})
    assert empty.status_code == 400 and empty.json() == {
        "error": "paste at least one certificate number, or choose a file"}


def today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def verify_page(server: Server, status: int = 200, files: Any = None, **fields: str) -> tuple[Page, str]:
    response = server.client.post("/verify", data=fields, files=files)
    assert response.status_code == status, response.text[-800:]
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    return Page(response.text), response.text


def table_of(text: str) -> list[list[str]]:
    return Parts(text).rows


def test_pasted_numbers_get_the_table_on_their_days(server: Server) -> None:
    lines = "FM-PE-2016-01\nfm-co-2017-03, 2019-07-01\n\nNOPE-9,2019-01-01\n\"FM-PE-2018-01\",2022-03-15\n"
    html, text = verify_page(server, certificates=lines, as_of="2019-12-31")
    words = html.words()
    assert "4 certificates checked" in words
    assert [row[1:4] for row in table_of(text)] == [
        ["FM-PE-2016-01", "2019-12-31", "✓ Valid"], ["FM-CO-2017-03", "2019-07-01", "✕ Withdrawn"],
        ["NOPE-9", "2019-01-01", "? Not found"], ["FM-PE-2018-01", "2022-03-15", "‖ Suspended"]]
    found = Parts(text).links
    assert ("FM-PE-2016-01", "/certificates/FM-PE-2016-01?as_of=2019-12-31") in found
    assert (CECOMIP, "/organizations/cecomip?as_of=2019-12-31") in found
    assert "NOPE-9" not in {text for text, _ in found}
    (textarea,) = html.all("textarea", name="certificates")
    assert "FM-PE-2016-01\nfm-co-2017-03,2019-07-01\nNOPE-9,2019-01-01\nFM-PE-2018-01,2022-03-15\n" in text
    assert html.all("button", formaction=f"/verify.csv?as_of=2019-12-31&known_at={LAST_POSITION}")
    assert_plain_page(text)


def test_the_csv_button_downloads_the_table_shown_on_its_day_at_its_position(server: Server) -> None:
    html, _ = verify_page(server, certificates="FM-PE-2016-01")  # today, as the ledger stands now
    (button,) = html.all("button", id="download-csv")
    action = urlsplit(button["formaction"])
    pinned = dict(parse_qsl(action.query))
    assert action.path == "/verify.csv" and pinned == {"as_of": today(), "known_at": str(LAST_POSITION)}
    # The action's day and position win over the form's fields, which a user may have edited since.
    response = server.client.post(button["formaction"], data={"certificates": "FM-PE-2016-01", "known_at": "1",
                                                              "as_of": "2000-01-01"})
    assert response.status_code == 200 and response.headers["x-ledger-position"] == str(LAST_POSITION)
    assert list(csv.reader(io.StringIO(response.text)))[1][:4] == ["FM-PE-2016-01", today(), "true",
                                                                  verify(server, {"certificates": [
                                                                      {"certificate": "FM-PE-2016-01"}]}
                                                                  ).json()["items"][0]["state"]]


def test_the_csv_download_is_the_same_table(server: Server) -> None:
    fields = {"certificates": "FM-PE-2016-01\nfm-co-2017-03,2019-07-01\nNOPE-9", "as_of": "2019-12-31",
              "known_at": str(LAST_POSITION)}
    response = server.client.post("/verify.csv", data=fields)
    assert response.status_code == 200 and response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="certificates-2019-12-31.csv"'
    assert response.headers["x-ledger-position"] == str(LAST_POSITION)
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["certificate", "date", "found", "state", "org", "name", "country", "standard", "valid_from",
                       "valid_until", "known_at"]
    assert [row[:5] for row in rows[1:]] == [["FM-PE-2016-01", "2019-12-31", "true", "valid", "cecomip"],
                                             ["FM-CO-2017-03", "2019-07-01", "true", "withdrawn", "la-cascada"],
                                             ["NOPE-9", "2019-12-31", "false", "", ""]]
    api = verify(server, {"certificates": [{"certificate": "FM-PE-2016-01"}, {"certificate": "fm-co-2017-03",
                                                                              "date": "2019-07-01"}]},
                 as_of="2019-12-31", known_at=str(LAST_POSITION)).json()["items"]
    for row, item in zip(rows[1:3], api):
        assert row[3:] == [item["state"], item["org"], item["name"], item["country"], item["standard"],
                           item["valid_from"], item["valid_until"], item["known_at"]]
    assert len({row[-1] for row in rows[1:]}) == 1  # one instant for the whole table
    again, _ = verify_page(server, files={"file": ("again.csv", response.content, "text/csv")})
    assert "3 certificates checked" in again.words()  # the download is a file this page reads back


def test_an_uploaded_csv_with_or_without_a_header_is_read(server: Server) -> None:
    upload = "\ufeffCertificate,Date\r\nFM-PE-2016-01,2017-01-01\r\n\"FM-CO-2017-03\",\r\n".encode()
    html, text = verify_page(server, certificates="FM-PE-2022-07,2022-09-01", as_of="2019-07-01",
                             files={"file": ("list.csv", upload, "text/csv")})
    assert [row[1:4] for row in table_of(text)] == [
        ["FM-PE-2022-07", "2022-09-01", "✓ Valid"], ["FM-PE-2016-01", "2017-01-01", "✓ Valid"],
        ["FM-CO-2017-03", "2019-07-01", "✕ Withdrawn"]]
    plain, plain_text = verify_page(server, files={"file": ("list.txt", b"FM-PE-2012-01,2013-10-01\n", "text/plain")})
    assert [row[1:4] for row in table_of(plain_text)] == [["FM-PE-2012-01", "2013-10-01", "‖ Suspended"]]


def test_an_uploaded_header_may_name_its_columns_in_any_order(server: Server) -> None:
    upload = b"date,certificate,note\n2017-01-01,FM-PE-2016-01,first\n,FM-CO-2017-03\n"
    _, text = verify_page(server, as_of="2019-07-01", files={"file": ("list.csv", upload, "text/csv")})
    assert [row[1:4] for row in table_of(text)] == [
        ["FM-PE-2016-01", "2017-01-01", "✓ Valid"], ["FM-CO-2017-03", "2019-07-01", "✕ Withdrawn"]]


@pytest.mark.parametrize(("fields", "files", "status", "message"), [
    ({"certificates": "FM-PE-2016-01\nFM-X,2019-02-30"}, None, 400, "line 2: date: '2019-02-30' is not a real"),
    ({"certificates": "a,2019-01-01,extra"}, None, 400, "line 1: expected certificate[,date] (got 3 values)"),
    ({"certificates": "a\x00b"}, None, 400, "line 1: certificate: must not contain control characters"),
    ({"certificates": "\n\n"}, None, 400, "paste at least one certificate number, or choose a file"),
    ({}, None, 400, "paste at least one certificate number, or choose a file"),
    ({"certificates": "x\n" * 1001}, None, 413, "at most 1000 certificates at once (got 1001)"),
    ({"certificates": "x\n" * 600}, {"file": ("more.csv", b"y\n" * 600, "text/csv")}, 413,
     "at most 1000 certificates at once (got 1200)"),
    ({}, {"file": ("big.csv", b"FM-1\n" * 110_000, "text/csv")}, 413, "the file is larger than 512 KiB"),
    ({}, {"file": ("latin1.csv", "Aurífera".encode("latin-1"), "text/csv")}, 400, "file: not UTF-8 text"),
    ({}, {"file": ("bad.csv", b"ok\nx,2019-01-01,z\n", "text/csv")}, 400, "file line 2: expected certificate[,date]"),
    ({"certificates": "FM-PE-2016-01", "as_of": "2019-13-01"}, None, 400, "--as-of: '2019-13-01' is not a real"),
    ({"certificates": "FM-PE-2016-01", "known_at": "later"}, None, 400, "--known-at: 'later' is neither"),
    ({"certificates": "FM-PE-2016-01", "as_of": "9" * 50}, None, 400, "--as-of: '" + "9" * 50 + "' is not a calendar"),
])
def test_a_list_the_page_cannot_check_is_refused_and_the_form_kept(server: Server, fields: dict[str, str],
                                                                    files: Any, status: int, message: str) -> None:
    html, text = verify_page(server, status, files=files, **fields)
    (alert,) = [a for t, a in html.tags if t == "p" and a.get("role") == "alert"]
    assert message in html.words(), html.words()[-600:]
    if fields.get("certificates", "").strip() and "\x00" not in fields["certificates"]:
        (textarea,) = html.all("textarea", name="certificates")
        assert fields["certificates"].splitlines()[0] in text


@pytest.mark.parametrize("path", ["/verify", "/verify.csv"])
@pytest.mark.parametrize("multipart", [False, True])
def test_a_pasted_list_over_the_form_size_is_413_in_the_pages_words(server: Server, path: str,
                                                                    multipart: bool) -> None:
    pasted = "FM-PE-2016-01\n" * 40_000  # 560,000 bytes: under the body's bound, over a field's
    files = {"file": ("empty.csv", b"", "text/csv")} if multipart else None
    response = server.client.post(path, data={"certificates": pasted}, files=files)
    assert response.status_code == 413
    assert "the pasted list is larger than 512 KiB: at most 1000 certificates at once" in response.text


def test_a_malformed_form_body_is_400(server: Server) -> None:
    response = server.client.post("/verify", content=b"--x\r\nnonsense",
                                  headers={"content-type": "multipart/form-data; boundary=zz"})
    assert response.status_code == 400 and "Traceback" not in response.text
    too_many_files = server.client.post("/verify", files=[("file", ("a.csv", b"a", "text/csv")),
                                                          ("file", ("b.csv", b"b", "text/csv"))])
    assert too_many_files.status_code == 400
    assert server.client.post("/verify.csv", data={"certificates": "a,b,c"}).status_code == 400


class Parts(HTMLParser):
    """The links of a page as (text, href), and the cells of its tables' bodies, as a person reads them."""

    def __init__(self, html: str):
        super().__init__()
        self.links: set[tuple[str, str]] = set()
        self.rows: list[list[str]] = []
        self._href: str | None = None
        self._text: list[str] = []
        self._cell: list[str] | None = None
        self._in_body = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href, self._text = dict(attrs).get("href") or "", []
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows.append([])
        elif tag in ("td", "th") and self._in_body:
            self._cell = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.add((" ".join("".join(self._text).split()), self._href))
            self._href = None
        elif tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tbody":
            self._in_body = False


def links(server: Server, path: str) -> set[tuple[str, str]]:
    return Parts(server.get(path).text).links
