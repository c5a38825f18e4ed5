"""Hostile input over HTTP: whatever a client sends, the answer is a good one or a 4xx (JSON under /api),
never a 5xx; and text recorded by a hostile hand is escaped on every page and in the feed."""

from __future__ import annotations

import html
import json
import re
import socket
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry_server import BACKENDS, Server, fresh_database, serving
from service import LedgerService

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
INJECTIONS = [
    "'; DROP TABLE stored_events; --", "1 OR 1=1", "\" OR \"\"=\"", "%", "_", "\\", "\x00", "a\x00b",
    SCRIPT, "\"><img src=x onerror=alert(1)>", "]]><!--", "&amp;", "../../etc/passwd", "%2e%2e%2f", "\u2028", "\ufeff",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "ＰＥ", "٣", "²", "1²", "１２", "1e309", "-0", "0x10", "NaN", "9" * 19, "9" * 40, "2019-02-29", "0000-01-01",
    "9999-12-31", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2019-07-01T25:00", "today", "",
    " ", "P" * 300, "ß" * 1000,
]
hostile_text = st.one_of(
    st.sampled_from(INJECTIONS),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.dates().map(str),
    st.datetimes().map(lambda moment: moment.isoformat()),
)
API_PARAMETERS = {
    "/api/registry": ["status", "country", "standard", "region", "q", "expiring_within", "as_of", "known_at", "limit",
                      "offset"],
    "/api/streaks": ["as_of", "known_at", "limit", "offset"],
    "/api/organizations/{org}": ["as_of", "known_at"],
    "/api/organizations/{org}/history": ["known_at", "limit", "offset"],
    "/api/organizations/{org}/findings": ["open", "as_of", "known_at", "limit", "offset"],
    "/api/certificates/{number}": ["as_of", "known_at"],
    "/api/reports/{year}": ["known_at"],
    "/api/reports": ["from", "to", "known_at"],
    "/api/changes": ["since", "limit", "offset", "known_at"],
    "/api/head": [],
}
PAGE_PARAMETERS = {
    "/": ["status", "country", "standard", "region", "q", "expiring_within", "as_of", "known_at", "limit", "offset"],
    "/registry.csv": ["status", "country", "standard", "region", "q", "expiring_within", "as_of", "known_at"],
    "/registry.json": ["status", "country", "standard", "region", "q", "expiring_within", "as_of", "known_at"],
    "/organizations/{org}": ["as_of", "known_at"],
    "/certificates/{number}": ["as_of", "known_at"],
    "/verify": ["as_of", "known_at"],
    "/reports/{year}": ["known_at"],
    "/reports": ["from", "to", "known_at"],
    "/changes": ["since", "limit", "known_at"],
    "/feed.atom": [],
}


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A ledger whose texts were written by a hostile hand, served."""
    directory = tmp_path_factory.mktemp("hostile")
    with fresh_database(request.param, directory) as db:
        record_hostile_organization(db)
        with serving(db, directory) as running:
            yield running


def record_hostile_organization(db: str) -> None:
    service = LedgerService(db, "<b>mallory</b>")
    try:
        for command in [
            {"command": "register", "org": "xss", "name": SCRIPT, "country": "PE",
             "region": "\"><img src=x onerror=alert(2)>", "date": "2018-01-10"},
            {"command": "register", "org": "plain", "name": "Plain & Simple ]]> Mining", "country": "CO",
             "date": "2018-01-10"},
            {"command": "audit", "org": "xss", "date": "2018-03-01", "body": "<i>Auditors</i> & Co", "kind": "initial",
             "finding": ["major:traceability:</td></tr></table><script>alert(3)</script>"]},
            {"command": "certify", "org": "xss", "date": "2018-04-01", "standard": "fairmined",
             "certificate": "<svg onload=alert(4)>"},
            {"command": "suspend", "org": "xss", "date": "2018-09-01", "reason": "</title><script>alert(5)</script>"},
            {"command": "reinstate", "org": "xss", "date": "2018-10-01"},
            {"command": "deny", "org": "xss", "date": "2019-02-01", "reason_category": "other",
             "reason": "<![CDATA[ x ]]> & <!-- -->"},
            {"command": "certify", "org": "plain", "date": "2018-04-01", "standard": "fairmined",
             "certificate": PATH_LIKE_NUMBER},
        ]:
            service.record(command)
    finally:
        service.close()


HOSTILE_NUMBER = "<svg onload=alert(4)>"
PATH_LIKE_NUMBER = "CO/2018#1?a %2F"  # every character a URL gives a meaning to


def fill(template: str, org: str = "xss", year: str = "2018", number: str = HOSTILE_NUMBER) -> str:
    return template.replace("{org}", quote(org, safe="")).replace("{year}", quote(year, safe="")).replace(
        "{number}", quote(number, safe=""))


PAGES_SHOWING_THE_NAME = ["/", "/?as_of=2018-06-01", "/organizations/xss", "/organizations/xss?as_of=2018-09-15",
                          "/changes", "/organizations/xss?known_at=3", fill("/certificates/{number}?as_of=2018-06-01"),
                          "/?q=%3Cscript"]


@pytest.mark.parametrize("path", PAGES_SHOWING_THE_NAME + ["/reports/2018", "/reports/2019", "/nothing",
                                                           "/organizations/%3Cscript%3E",
                                                           "/certificates/%3Cscript%3Ealert(1)%3C%2Fscript%3E"])
def test_hostile_text_is_escaped_on_every_page(server: Server, path: str) -> None:
    response = server.get(path)
    assert response.status_code in (200, 404)
    for raw in ("<script", "<img", "<svg onload", "<i>Auditors", "<b>mallory", "<![CDATA[", "</title><"):
        assert raw not in response.text, f"{raw} unescaped on {path}"
    if path in PAGES_SHOWING_THE_NAME:
        assert ESCAPED in response.text


def test_hostile_text_is_plain_text_in_the_feed(server: Server) -> None:
    response = server.get("/feed.atom")
    assert SCRIPT not in response.text and ESCAPED in response.text
    feed = ElementTree.fromstring(response.content)
    contents = " ".join(element.text or "" for element in feed.iter())
    assert SCRIPT in contents and "<![CDATA[ x ]]> & <!-- -->" in contents and "<b>mallory</b>" in contents


def test_hostile_text_comes_back_verbatim_in_json_and_csv(server: Server) -> None:
    assert server.get("/api/organizations/xss", params={"as_of": "2018-06-01"}).json()["name"] == SCRIPT
    csv = server.get("/registry.csv", params={"as_of": "2018-06-01"})
    assert SCRIPT in csv.text and csv.headers["x-content-type-options"] == "nosniff"
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"


def assert_answered_well(response: httpx.Response, api: bool) -> None:
    assert response.status_code < 500, (response.request.url, response.text[:300])
    assert "Traceback" not in response.text and "unexpected failure" not in response.text
    assert response.headers["x-ledger-position"].isdigit()
    if response.is_redirect:  # /api/registry/ -> /api/registry
        assert response.headers["location"]
        return
    if api or response.status_code == 200 and response.request.url.path.startswith("/api/"):
        assert response.headers["content-type"] == "application/json", response.request.url
        body = response.json()
        if response.status_code >= 400:
            assert list(body) == ["error"] and isinstance(body["error"], str) and body["error"]
            assert not body["error"].startswith("unexpected failure"), body  # a refusal the ledger names


def request_with(server: Server, routes: dict[str, list[str]], data: st.DataObject, api: bool) -> None:
    route = data.draw(st.sampled_from(sorted(routes)))
    org = data.draw(st.one_of(st.sampled_from(["xss", "plain"]), hostile_text.filter(bool)), label="org")
    year = data.draw(st.one_of(st.integers(-5, 10_050).map(str), hostile_text.filter(bool)), label="year")
    number = data.draw(st.one_of(st.just(HOSTILE_NUMBER), hostile_text.filter(bool)), label="number")
    names = data.draw(st.lists(st.sampled_from(routes[route] + ["as-of", "unknown", "status"]), max_size=4))
    params = [(name, data.draw(hostile_text, label=name)) for name in names]
    try:
        response = server.get(fill(route, org, year, number), params=params)
    except httpx.InvalidURL:
        return  # a value no client can put in a URL
    assert_answered_well(response, api)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(data=st.data())
def test_hostile_parameters_to_the_api_get_a_good_answer_or_a_4xx_json_error(server: Server,
                                                                              data: st.DataObject) -> None:
    request_with(server, API_PARAMETERS, data, api=True)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(data=st.data())
def test_hostile_parameters_to_the_pages_get_a_good_answer_or_a_4xx(server: Server, data: st.DataObject) -> None:
    request_with(server, PAGE_PARAMETERS, data, api=False)


@pytest.mark.parametrize("path", [
    "/api/organizations/%00", "/api/organizations/%ff%fe", "/api/organizations/" + "a" * 300,
    "/api/registry?as_of=%00", "/api/registry?known_at=" + "9" * 40, "/api/registry?known_at=99999999999999999999",
    "/api/changes?since=99999999999999999999999", "/api/registry?status=" + "&status=".join(["certified"] * 20),
    "/api/reports/0", "/api/reports/10000", "/api/reports/%00", "/api/registry?limit=1e3", "/api/registry?offset=-1",
    "/api/registry?known_at=9999-12-31T23:59:59-14:00", "/api/registry?known_at=0001-01-01T00:00:00%2B14:00",
    "/api/registry?as_of=9999-12-31", "/api/organizations/xss?as_of=0001-01-01", "/api/registry?%ff=%fe",
    "/api/registry?as_of=2019-07-01&as_of=2020-01-01", "/api/changes?limit=", "/api//registry", "/api/registry/",
    "/organizations/%00", "/reports/%ff", "/?status=nope&status=%00", "/changes?since=-5",
    "/api/certificates/%00", "/api/certificates/%ff%fe", "/api/certificates/" + "N" * 1500, "/api/certificates/..%2F..",
    "/api/certificates/a/b/c", "/api/certificates/%2F", "/api/organizations/xss/findings?open=%00",
    "/api/organizations/xss/findings?open=1&open=0", "/api/registry?expiring_within=" + "9" * 30,
    "/api/registry?expiring_within=1e3", "/api/registry?q=%25%25%5F%5C", "/api/registry?region=%E2%80%A8",
    "/certificates/%00", "/certificates/%ff", "/certificates/", "/verify?as_of=%00", "/?expiring_within=-1",
    "/?q=" + "%F0%9D%94%98" * 100, "/organizations/xss?as_of=9999-12-31", "/organizations/xss?as_of=0001-01-01",
])
def test_awkward_requests_are_answered_without_a_5xx(server: Server, path: str) -> None:
    response = server.client.get(server.url + path)
    assert_answered_well(response, api=path.startswith("/api/"))


@pytest.mark.parametrize("raw", [
    b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
    b"GET /api/registry HTTP/1.1\r\nHost: x\r\nContent-Length: many\r\n\r\n",
    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",  # a TLS hello sent to the plain-HTTP port
    b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
    "GET /api/registry?q=aurífera HTTP/1.1\r\nHost: x\r\n\r\n".encode(),  # as curl sends a typed accent
], ids=["not-http", "bad-header", "bad-length", "tls-hello", "nul-in-target", "raw-utf8-in-target"])
def test_a_request_that_is_not_http_gets_a_400_json_error(server: Server, raw: bytes) -> None:
    status, headers, body = raw_exchange(server, raw)
    assert status == "HTTP/1.1 400 Bad Request"
    assert headers["content-type"] == "application/json"
    assert headers["x-ledger-position"] == server.get("/api/head").headers["x-ledger-position"]
    assert json.loads(body) == {"error": "the request is not well-formed HTTP/1.1 (its request line, its headers or "
                                         "their size); an address is ASCII, with any other character %-escaped as "
                                         "UTF-8"}


@pytest.mark.parametrize("path", ["/api/registry", "/"])
def test_header_fields_over_16_kib_in_all_are_refused_with_431(server: Server, path: str) -> None:
    many = {f"x-filler-{n}": "f" * 1000 for n in range(17)}  # each field well-formed, together too many
    refused = server.client.get(server.url + path, headers=many)
    assert refused.status_code == 431 and "X-Ledger-Position" in refused.headers
    message = "the request's header fields are longer than 16384 bytes in all"
    if path.startswith("/api/"):
        assert refused.json() == {"error": message}
    else:
        assert "header fields are longer than 16384 bytes in all" in refused.text
    assert server.client.get(server.url + path, headers=dict(list(many.items())[:14])).status_code == 200


@pytest.mark.parametrize("path, part", [
    ("/api/certificates/%FF%FE", "path"), ("/api/organizations/%C3", "path"), ("/certificates/%ff", "path"),
    ("/api/registry?q=%FF%FE", "query string"), ("/?q=caf%E9", "query string"), ("/api/registry?%ff=1", "query string"),
])
def test_an_address_that_is_not_utf8_once_decoded_is_400(server: Server, path: str, part: str) -> None:
    response = server.client.get(server.url + path)
    assert response.status_code == 400 and "X-Ledger-Position" in response.headers
    assert f"the {part} is not UTF-8 text once its %-escapes are decoded" in response.text


def test_an_address_in_utf8_escapes_is_read(server: Server) -> None:
    assert server.client.get(server.url + "/api/registry?q=aur%C3%ADfera").status_code == 200


def test_a_server_whose_ledger_went_away_still_answers_4xx(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    record_hostile_organization(str(db))
    with serving(str(db), tmp_path) as running:
        assert running.get("/api/organizations/xss").status_code == 200
        for leftover in tmp_path.glob("ledger.db*"):
            leftover.unlink()
        for path in ("/api/registry", "/api/organizations/xss", "/", "/api/head"):
            response = running.get(path)
            assert response.status_code < 500 and "Traceback" not in response.text


def test_hostile_certificate_numbers_are_escaped_in_the_verify_table_and_verbatim_in_its_csv(server: Server) -> None:
    lines = f"\"{HOSTILE_NUMBER}\",2018-06-01\n{SCRIPT}\n"
    page = server.client.post("/verify", data={"certificates": lines})
    assert page.status_code == 200
    for raw in ("<script", "<svg onload"):
        assert raw not in page.text
    assert "&lt;svg onload=alert(4)&gt;" in page.text and ESCAPED in page.text
    download = server.client.post("/verify.csv", data={"certificates": lines})
    assert HOSTILE_NUMBER in download.text and SCRIPT in download.text
    assert download.headers["x-content-type-options"] == "nosniff"
    api = server.client.post("/api/verify", json={"certificates": [{"certificate": HOSTILE_NUMBER,
                                                                    "date": "2018-06-01"}]}).json()
    assert api["items"][0]["certificate"] == HOSTILE_NUMBER and api["items"][0]["state"] == "valid"


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True), hostile_text),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.sampled_from(["certificate", "date", "certificates", "x"]) | hostile_text,
                                               children, max_size=4)),
    max_leaves=12,
)
entries = st.one_of(
    st.fixed_dictionaries({"certificate": st.one_of(st.sampled_from([HOSTILE_NUMBER, "fm-pe-1"]), hostile_text)},
                          optional={"date": st.one_of(st.none(), hostile_text), "extra": json_values}),
    json_values,
)
verify_bodies = st.one_of(
    st.builds(lambda items: {"certificates": items}, st.lists(entries, max_size=6)),
    st.integers(990, 1010).map(lambda n: {"certificates": [{"certificate": "x"}] * n}),
    json_values,
)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(body=st.one_of(verify_bodies.map(lambda document: json.dumps(document).encode()), st.binary(max_size=200)),
       params=st.lists(st.tuples(st.sampled_from(["as_of", "known_at", "date"]), hostile_text), max_size=2))
def test_hostile_verify_requests_get_an_answer_or_a_4xx_json_error(server: Server, body: bytes,
                                                                   params: list[tuple[str, str]]) -> None:
    try:
        response = server.client.post("/api/verify", content=body, params=params,
                                      headers={"content-type": "application/json"})
    except httpx.InvalidURL:
        return
    assert_answered_well(response, api=True)
    if response.status_code == 413:
        assert json.loads(body)["certificates"].__len__() > 1000
    if response.status_code == 200:
        document = json.loads(body)
        assert len(response.json()["items"]) == len(document["certificates"]) <= 1000


csv_cells = st.one_of(st.sampled_from([HOSTILE_NUMBER, "FM-PE-1", "certificate", "date", "2018-06-01", '"', "",
                                       "\x00", "\r", "\ufeff"]), hostile_text)
csv_texts = st.lists(st.lists(csv_cells, min_size=1, max_size=3).map(",".join), max_size=8).map("\n".join)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(text=csv_texts, upload=st.one_of(st.none(), csv_texts.map(lambda t: t.encode("utf-8", "surrogatepass")),
                                        st.binary(max_size=300)),
       download=st.booleans(), day=st.one_of(st.none(), hostile_text))
def test_hostile_lists_and_uploads_to_the_verify_page_get_a_page_or_a_4xx(server: Server, text: str,
                                                                         upload: bytes | None, download: bool,
                                                                         day: str | None) -> None:
    data = {"certificates": text, **({"as_of": day} if day is not None else {})}
    files = {"file": ("list.csv", upload, "text/csv")} if upload is not None else None
    try:
        response = server.client.post("/verify.csv" if download else "/verify", data=data, files=files)
    except (httpx.InvalidURL, UnicodeEncodeError):
        return  # a value no client can send in a form
    assert_answered_well(response, api=download and response.status_code >= 400)
    if not download:
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        for raw in ("<script", "<svg onload"):
            assert raw not in response.text
    elif response.status_code == 200:
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.text.startswith("certificate,date,found,state,")


def test_a_certificate_page_whose_number_holds_url_characters_keeps_its_own_path_in_its_forms(server: Server) -> None:
    """The point-in-time form sends the number back as it came: decoded, ``/``, ``#``, ``?`` or ``%`` would name
    another page."""
    path = "/certificates/" + quote(PATH_LIKE_NUMBER, safe="")
    first = server.get(path)
    assert first.status_code == 200 and html.escape(PATH_LIKE_NUMBER) in first.text
    (action,) = re.findall(r'<form class="timebar[^"]*" method="get" action="([^"]*)"', first.text)
    assert html.unescape(action) == path
    chosen = server.get(html.unescape(action), params={"as_of": "2019-06-01"})
    assert chosen.status_code == 200 and html.escape(PATH_LIKE_NUMBER) in chosen.text


def raw_exchange(server: Server, raw: bytes) -> tuple[str, dict[str, str], bytes]:
    """Send ``raw`` as it is; the status line, the headers (names in lower case) and the body of the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as connection:
        connection.sendall(raw)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *fields = head.decode("latin-1").split("\r\n")
    return status, {name.lower(): value for name, value in (field.split(": ", 1) for field in fields)}, body


def test_a_target_in_absolute_form_is_read_as_its_path_and_other_targets_are_400_json(server: Server) -> None:
    status, headers, body = raw_exchange(
        server, b"GET http://registry.example/api/head HTTP/1.1\r\nHost: elsewhere\r\nConnection: close\r\n\r\n")
    assert status == "HTTP/1.1 200 OK", "HTTP/1.1 servers must accept the absolute form (RFC 9112, 3.2.2)"
    assert json.loads(body) == server.get("/api/head").json()
    for target in (b"api/head", b"*"):
        status, headers, body = raw_exchange(
            server, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert status == "HTTP/1.1 400 Bad Request" and headers["content-type"] == "application/json"
        assert json.loads(body) == {"error": "the request target is not a path (it must start with /)"}
        assert headers["x-ledger-position"].isdigit()


def test_a_path_with_a_slash_too_many_is_404_not_a_redirect(server: Server) -> None:
    for path in ("/api/registry/", "/api/organizations/xss/", "/reports/2018/"):
        response = server.client.get(server.url + path, headers={"Host": "evil.example"})
        assert response.status_code == 404 and "location" not in response.headers, path


@pytest.mark.parametrize("path", ["/api/registry", "/", "/api/organizations/xss"])
def test_a_405_names_head_beside_get(server: Server, path: str) -> None:
    response = server.client.post(server.url + path, content=b"")
    assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD"
    assert server.client.head(server.url + path).status_code == 200


def test_static_files_are_served_whole_and_only_a_served_file_may_be_cached(server: Server) -> None:
    whole = server.get("/static/registry.css")
    assert whole.status_code == 200 and whole.headers["cache-control"] == "public, max-age=3600"
    assert "accept-ranges" not in whole.headers
    for asked in ("bytes=x", "bytes=5-1", "bytes=999999-", "bytes=0-9"):
        response = server.get("/static/registry.css", headers={"Range": asked})
        assert response.status_code == 200 and response.content == whole.content, asked
    missing = server.get("/static/nothing.css")
    assert missing.status_code == 404 and missing.headers["cache-control"] == "no-cache"


def test_a_download_pinned_to_a_day_and_position_is_cached_as_its_page(server: Server) -> None:
    position = server.get("/api/head").headers["x-ledger-position"]
    pinned = {"as_of": "2019-01-01", "known_at": position}
    for path in ("/", "/registry.csv", "/registry.json"):
        assert server.get(path, params=pinned).headers["cache-control"] == "public, max-age=86400", path
        assert server.get(path, params={"as_of": "2019-01-01"}).headers["cache-control"] == "no-cache", path


def test_a_verify_body_not_in_utf8_is_refused_whatever_json_could_read(server: Server) -> None:
    document = json.dumps({"certificates": [{"certificate": HOSTILE_NUMBER}]})
    assert server.client.post("/api/verify", content=document.encode()).status_code == 200
    assert server.client.post("/api/verify", content=b"\xef\xbb\xbf" + document.encode()).status_code == 200
    for encoding in ("utf-16", "utf-32"):
        response = server.client.post("/api/verify", content=document.encode(encoding))
        assert response.status_code == 400 and "not UTF-8 text" in response.json()["error"], encoding


@pytest.mark.parametrize("body", [b"certificates=FM-%ff%fe", b"certificates=FM-\xff\xfe", b"certificates=%ed%a0%80"])
def test_a_verify_form_not_in_utf8_is_refused_not_read_with_replacements(server: Server, body: bytes) -> None:
    for path in ("/verify", "/verify.csv"):
        response = server.client.post(server.url + path, content=body,
                                      headers={"content-type": "application/x-www-form-urlencoded"})
        assert response.status_code == 400, (path, response.text[:200])
        assert "the form is not UTF-8 text once its %-escapes are decoded" in response.text
    typed = server.client.post(server.url + "/verify.csv", content="certificates=FM-%C3%BF".encode(),
                               headers={"content-type": "application/x-www-form-urlencoded"})
    assert typed.status_code == 200 and "FM-ÿ" in typed.text


def test_pages_past_the_end_lead_back_to_the_last_one(server: Server) -> None:
    total = server.get("/api/registry").json()["total"]
    beyond = server.get("/", params={"offset": 5000, "limit": 1})
    assert beyond.status_code == 200 and f"there are {total} in all" in beyond.text
    (previous,) = re.findall(r'<a href="([^"]*)" rel="prev">', beyond.text)
    assert f"offset={total - 1}" in html.unescape(previous)
    head = int(server.get("/api/head").headers["x-ledger-position"])
    changes = server.get("/changes", params={"since": head + 10_000, "limit": 2})
    (older,) = re.findall(r'<a href="([^"]*)" rel="prev">', changes.text)
    assert f"since={max(head - 2, 0)}&" in html.unescape(older) + "&"
