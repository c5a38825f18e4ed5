"""The API answers what the command line answers: over the examples ledger, at several as-of dates and
known-at points, every API answer equals the CLI's ``--json`` answer (the envelope aside), and every
refusal carries the CLI's ``Error:`` message. Both backends; the server is a real process.
"""

from __future__ import annotations

import itertools
import json
from typing import Any, Iterator

import pytest
from click.testing import CliRunner

from cli import cli
from registry_server import BACKENDS, Server, examples_server

AS_OF = [None, "2016-06-30", "2019-07-01", "2020-04-01", "2022-02-28"]
ORGS = ["cecomip", "coodmilla", "san-luis", "la-cascada", "duush-mandal"]


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with examples_server(request.param, tmp_path_factory.mktemp("parity")) as running:
        yield running


@pytest.fixture(scope="module")
def known_at_points(server: Server) -> list[str | None]:
    """Now, ledger positions (before and after the COODMILLA retraction, 0), a recorded instant, a bare date."""
    recorded = server.get("/api/changes", params={"since": 119, "limit": 1}).json()["items"][0]["recorded_at"]
    return [None, "60", "100", "0", recorded, "2000-01-01"]


def cli_answer(db: str, *args: str) -> tuple[int, Any]:
    """(0, the parsed --json answer), or (1, the message after ``Error:``)."""
    result = CliRunner().invoke(cli, ["--db", db, *args, "--json"], catch_exceptions=False)
    if result.exit_code == 0:
        return 0, json.loads(result.stdout)
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert result.exit_code == 1 and errors, result.output
    return 1, errors[0][len("Error: "):]


def api_answer(server: Server, path: str, params: dict[str, Any]) -> tuple[int, Any]:
    response = server.get(path, params={k: v for k, v in params.items() if v is not None})
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
