"""The API answers what the command line answers: over the examples ledger (and a few later events), at
several as-of dates and known-at points, every API answer equals the CLI's ``--json`` answer (the envelope
aside), and every refusal carries the CLI's ``Error:`` message. Both backends; the server is a real process.
"""

from __future__ import annotations

import functools
import itertools
import json
from typing import Any, Iterator
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from cli import cli
from registry_server import BACKENDS, LATER_EVENTS, Server, examples_server

AS_OF = [None, "2016-06-30", "2019-07-01", "2020-04-01", "2022-02-28"]
ORGS = ["cecomip", "coodmilla", "san-luis", "la-cascada", "duush-mandal"]
# Every state of SPEC section 9 somewhere among these numbers and days (letter case aside, and one unknown).
NUMBERS = ["FM-PE-2016-01", "fm-co-2017-01", "FM-PE-2012-01", "FM-CO-2017-03", "FM-PE-2018-01", "FM-PE-2022-07",
           "NOPE-1"]
CERTIFICATE_DAYS = [None, "2013-10-01", "2016-06-30", "2019-07-01", "2022-03-15", "2022-09-01"]
REGISTRY_FILTERS: list[list[tuple[str, str]]] = [
    [("q", "aurifera")], [("q", "FM-CO-2017")], [("q", "ÍQUIRA")], [("q", "zzz")], [("region", "puno")],
    [("region", "narino")], [("expiring_within", "0")], [("expiring_within", "60")],
    [("expiring_within", "120"), ("country", "CO")], [("q", "a"), ("status", "certified"), ("region", "Ayacucho")],
]


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with examples_server(request.param, tmp_path_factory.mktemp("parity"), extra=LATER_EVENTS) as running:
        yield running


@pytest.fixture(scope="module")
def known_at_points(server: Server) -> list[str | None]:
    """Now, ledger positions (before and after the COODMILLA retraction, 0, before the later events and between
    them), a recorded instant, a bare date."""
    recorded = server.get("/api/changes", params={"since": 119, "limit": 1}).json()["items"][0]["recorded_at"]
    return [None, "60", "100", "0", "155", "157", recorded, "2000-01-01"]


@functools.cache
def cli_answer(db: str, *args: str) -> tuple[int, Any]:
    """(0, the parsed --json answer), or (1, the message after ``Error:``). Remembered: the ledgers of this
    module do not change once served, and several tests ask the command line the same question."""
    result = CliRunner().invoke(cli, ["--db", db, *args, "--json"], catch_exceptions=False)
    if result.exit_code == 0:
        return 0, json.loads(result.stdout)
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert result.exit_code == 1 and errors, result.output
    return 1, errors[0][len("Error: "):]


def api_answer(server: Server, path: str, params: dict[str, Any] | list[tuple[str, str]]) -> tuple[int, Any]:
    pairs = params.items() if isinstance(params, dict) else params
    response = server.get(path, params=[(k, v) for k, v in pairs if v is not None])
    if response.status_code == 200:
        return 0, response.json()
    assert response.status_code in (400, 404), response.text
    return 1, response.json()["error"]


def time_options(as_of: str | None, known_at: str | None) -> list[str]:
    return [*(["--as-of", as_of] if as_of else []), *(["--known-at", known_at] if known_at else [])]


def comparable(answer: Any, known_at: str | None) -> Any:
    """Two questions about "now" are asked at two instants: only then is ``known_at`` left out."""
    if known_at is not None:
        return answer
    if isinstance(answer, list):
        return [comparable(item, known_at) for item in answer]
    if isinstance(answer, dict):
        return {k: v for k, v in answer.items() if k != "known_at"}
    return answer


def assert_same(cli_result: tuple[int, Any], api_result: tuple[int, Any], known_at: str | None) -> None:
    assert api_result[0] == cli_result[0], (cli_result, api_result)
    if api_result[0]:
        assert api_result[1] == cli_result[1]
        return
    api = api_result[1]
    items = api["items"] if isinstance(api, dict) and "items" in api else api
    assert comparable(items, known_at) == comparable(cli_result[1], known_at)


def test_registry_and_streaks_equal_the_cli_at_every_point(server: Server, known_at_points: list[str | None]) -> None:
    for as_of, known_at in itertools.product(AS_OF, known_at_points):
        for command, path in (("registry", "/api/registry"), ("streaks", "/api/streaks")):
            assert_same(cli_answer(server.db, command, *time_options(as_of, known_at)),
                        api_answer(server, path, {"as_of": as_of, "known_at": known_at, "limit": 1000}), known_at)


@pytest.mark.parametrize(("options", "params"), [
    (["--status", "certified", "--status", "suspended"], [("status", "certified"), ("status", "suspended")]),
    (["--country", "CO"], [("country", "CO")]),
    (["--standard", "ecological", "--status", "expired"], [("standard", "ecological"), ("status", "expired")]),
])
def test_registry_filters_equal_the_cli(server: Server, options: list[str], params: list[tuple[str, str]]) -> None:
    for as_of in AS_OF[1:]:
        cli_result = cli_answer(server.db, "registry", *options, "--as-of", as_of)
        response = server.get("/api/registry", params=[*params, ("as_of", as_of)])
        assert_same(cli_result, (0, response.json()), None)


def test_status_of_each_organization_equals_the_cli(server: Server, known_at_points: list[str | None]) -> None:
    for org, as_of, known_at in itertools.product(ORGS, AS_OF, known_at_points):
        assert_same(cli_answer(server.db, "status", org, *time_options(as_of, known_at)),
                    api_answer(server, f"/api/organizations/{org}", {"as_of": as_of, "known_at": known_at}), known_at)


def test_history_equals_the_cli(server: Server, known_at_points: list[str | None]) -> None:
    for org, known_at in itertools.product(ORGS, known_at_points):
        assert_same(cli_answer(server.db, "history", org, *time_options(None, known_at)),
                    api_answer(server, f"/api/organizations/{org}/history", {"known_at": known_at, "limit": 1000}),
                    None)


def test_reports_equal_the_cli(server: Server, known_at_points: list[str | None]) -> None:
    for known_at in known_at_points:
        for year in (2016, 2019, 2020):
            assert_same(cli_answer(server.db, "report", "--year", str(year), *time_options(None, known_at)),
                        api_answer(server, f"/api/reports/{year}", {"known_at": known_at}), None)
        assert_same(cli_answer(server.db, "report", "--from", "2019-07-01", "--to", "2020-06-30",
                               *time_options(None, known_at)),
                    api_answer(server, "/api/reports", {"from": "2019-07-01", "to": "2020-06-30",
                                                        "known_at": known_at}), None)


def test_changes_equal_the_cli(server: Server, known_at_points: list[str | None]) -> None:
    for (since, limit), known_at in itertools.product([(0, 100), (40, 10), (150, 100), (155, 5)], known_at_points):
        assert_same(cli_answer(server.db, "changes", "--since", str(since), "--limit", str(limit),
                               *time_options(None, known_at)),
                    api_answer(server, "/api/changes", {"since": since, "limit": limit, "known_at": known_at}), None)


def test_the_csv_download_is_the_cli_csv(server: Server) -> None:
    for as_of in AS_OF[1:]:
        result = CliRunner().invoke(cli, ["--db", server.db, "registry", "--as-of", as_of, "--known-at", "150",
                                          "--csv"])
        response = server.get("/registry.csv", params={"as_of": as_of, "known_at": "150"})
        assert response.status_code == 200 and response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.text == result.stdout


def options_of(params: list[tuple[str, str]]) -> list[str]:
    return [part for name, value in params for part in (f"--{name.replace('_', '-')}", value)]


def test_registry_search_filters_equal_the_cli(server: Server, known_at_points: list[str | None]) -> None:
    found = set()
    for filters, as_of, known_at in itertools.product(REGISTRY_FILTERS, AS_OF, known_at_points[:4]):
        params = [*filters, *([("as_of", as_of)] if as_of else []), *([("known_at", known_at)] if known_at else []),
                  ("limit", "1000")]
        cli_result = cli_answer(server.db, "registry", *options_of(filters), *time_options(as_of, known_at))
        assert_same(cli_result, api_answer(server, "/api/registry", params), known_at)
        if cli_result[1]:
            found.add(str(filters))
    # Every filter finds someone somewhere but "zzz", and "0 days" (no certificate ends on one of these days).
    assert len(found) == len(REGISTRY_FILTERS) - 2


def test_a_registry_page_is_that_slice_of_the_cli_answer(server: Server, known_at_points: list[str | None]) -> None:
    for filters, as_of, known_at in itertools.product([[], [("status", "certified")], [("q", "co")]],
                                                     AS_OF[1:], known_at_points[:5]):
        whole = cli_answer(server.db, "registry", *options_of(filters), *time_options(as_of, known_at))[1]
        for limit, offset in [(3, 0), (3, 2), (5, 7), (1, max(len(whole) - 1, 0)), (4, len(whole)), (0, 0), (2, 500)]:
            params = [*filters, ("as_of", as_of), ("limit", str(limit)), ("offset", str(offset)),
                      *([("known_at", known_at)] if known_at else [])]
            body = server.get("/api/registry", params=params).json()
            assert body["total"] == len(whole), (filters, as_of, known_at, limit, offset)
            assert comparable(body["items"], known_at) == comparable(whole[offset:offset + limit], known_at)


def test_certificate_answers_equal_the_cli(server: Server, known_at_points: list[str | None]) -> None:
    for number, as_of, known_at in itertools.product(NUMBERS, CERTIFICATE_DAYS, known_at_points):
        assert_same(cli_answer(server.db, "certificate", number, *time_options(as_of, known_at)),
                    api_answer(server, f"/api/certificates/{quote(number, safe='')}",
                               {"as_of": as_of, "known_at": known_at}), known_at)


def test_each_verified_certificate_is_the_cli_answer_for_its_day(server: Server,
                                                                  known_at_points: list[str | None]) -> None:
    entries = [{"certificate": number, **({"date": day} if day else {})}
               for number, day in itertools.product(NUMBERS, CERTIFICATE_DAYS)]
    for known_at, as_of in [*((point, None) for point in known_at_points), (None, "2021-01-01"), ("157", "2016-06-30")]:
        params = {k: v for k, v in (("known_at", known_at), ("as_of", as_of)) if v}
        response = server.client.post("/api/verify", json={"certificates": entries}, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] == len(entries) == len(body["items"])
        assert response.headers["x-ledger-position"] == str(body["position"])
        for entry, item in zip(entries, body["items"]):
            code, expected = cli_answer(server.db, "certificate", entry["certificate"],
                                        *time_options(entry.get("date") or as_of, known_at))
            if code:
                assert expected == f"unknown certificate {entry['certificate']}"
                assert item == {"certificate": entry["certificate"], "found": False}
            else:
                assert comparable(item, known_at) == comparable(expected, known_at), entry


def test_findings_equal_the_cli(server: Server, known_at_points: list[str | None]) -> None:
    for org, as_of, known_at, only_open in itertools.product(
            ["cecomip", "aurelsa", "xamodx", "duush-mandal", "nobody"], [None, "2016-06-30", "2019-07-01", "2010-01-01"],
            known_at_points,
            [False, True]):
        assert_same(cli_answer(server.db, "findings", org, *(["--open"] if only_open else []),
                               *time_options(as_of, known_at)),
                    api_answer(server, f"/api/organizations/{org}/findings",
                               {"as_of": as_of, "known_at": known_at, "open": "true" if only_open else None,
                                "limit": 1000}), None)
