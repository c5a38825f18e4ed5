"""The pages for people (SPEC section 10), over HTTP from the real server on both backends: what each shows,
that it works without JavaScript (forms are plain GET), and that it is accessible and safe to serve."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
import json
from datetime import datetime, timezone
from html.parser import HTMLParser
from typing import Iterator
from urllib.parse import parse_qsl, urlsplit

import pytest

from click.testing import CliRunner

from cli import cli
from registry_server import BACKENDS, Server, examples_server

ATOM = "{http://www.w3.org/2005/Atom}"
PAGES = ["/", "/?as_of=2019-07-01&status=certified", "/?q=co&region=narino&expiring_within=400&as_of=2019-07-01",
         "/organizations/cecomip", "/organizations/coodmilla?known_at=60", "/certificates/FM-PE-2016-01",
         "/certificates/fm-co-2017-01?as_of=2016-06-30&known_at=60", "/verify", "/reports/2019",
         "/reports?from=2019-07-01&to=2020-06-30", "/changes", "/changes?since=10&limit=5"]


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with examples_server(request.param, tmp_path_factory.mktemp("pages")) as running:
        yield running


class Page(HTMLParser):
    """The parts of a page the tests look at: tags with their attributes, labels, text."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.wrapped_controls = 0
        self._label_depth = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.tags.append((tag, attributes))
        if tag == "label":
            self._label_depth += 1
        elif tag in ("input", "select") and self._label_depth and attributes.get("type") != "hidden":
            self.wrapped_controls += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._label_depth -= 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str, **attributes: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attributes.items())]

    def words(self) -> str:
        return " ".join(" ".join(self.text).split())


def page(server: Server, path: str, status: int = 200) -> Page:
    response = server.get(path)
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    return Page(response.text)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_the_as_of_and_known_at_selectors_with_labels(server: Server, path: str) -> None:
    html = page(server, path)
    for name in ("as_of", "known_at"):
        (field,) = html.all("input", name=name)
        assert html.all("label", **{"for": field["id"]}), f"{name} has no label on {path}"


@pytest.mark.parametrize("path", PAGES)
def test_every_page_is_plain_html_with_no_inline_script_or_style(server: Server, path: str) -> None:
    assert_plain_page(server.get(path).text)


def assert_plain_page(text: str) -> None:
    """No script, no inline style, one h1, unique ids, every form field labelled."""
    assert "<script" not in text and "<style" not in text
    assert not re.search(r"\sstyle=", text)
    html = Page(text)
    assert len(html.all("h1")) == 1
    assert html.all("html", lang="en") and html.all("main", id="main")
    ids = [a["id"] for _, a in html.tags if "id" in a]
    assert len(ids) == len(set(ids)), "ids repeat"
    controls = [a for t, a in html.tags
                if t in ("input", "select", "textarea") and a.get("type") not in ("hidden", "checkbox")]
    labelled = {a["for"] for a in html.all("label") if "for" in a}
    assert all(c.get("id") in labelled for c in controls), "a form field has no label"


def test_the_search_finds_the_eight_of_the_2019_article_and_links_each(server: Server) -> None:
    html = page(server, "/?as_of=2019-07-01&status=certified")
    assert "8 organizations on 2019-07-01" in html.words()
    links = [a["href"] for a in html.all("a") if a.get("href", "").startswith("/organizations/")]
    assert "/organizations/cecomip?as_of=2019-07-01" in links and len(links) == 8
    assert html.words().count("✓ Certified") == 8


def test_the_search_offers_its_own_answer_as_csv_and_json(server: Server) -> None:
    """The downloads are the page's whole answer: its filters, on its day and at the ledger position it used."""
    shown = page(server, "/?as_of=2019-07-01&status=certified&country=pe")
    position = shown_position(server, "/?as_of=2019-07-01&status=certified&country=pe")
    query = {("as_of", "2019-07-01"), ("status", "certified"), ("country", "PE"), ("known_at", position)}
    downloads = {urlsplit(a["href"]).path: set(parse_qsl(urlsplit(a["href"]).query)) for a in shown.all("a")
                 if a.get("href", "").startswith(("/registry.", "/api/registry"))}
    assert downloads == {"/registry.csv": query, "/registry.json": query}
    asked = {"status": "certified", "country": "PE", "as_of": "2019-07-01", "known_at": position}
    csv = server.get("/registry.csv", params=asked)
    assert csv.headers["content-disposition"] == 'attachment; filename="registry-2019-07-01.csv"'
    assert [line.split(",")[0] for line in csv.text.splitlines()] == ["org", "cecomip", "oro-puno", "san-luis"]
    as_json = server.get("/registry.json", params=asked)
    assert as_json.headers["content-disposition"] == 'attachment; filename="registry-2019-07-01.json"'
    printed = CliRunner().invoke(cli, ["--db", server.db, "registry", "--as-of", "2019-07-01", "--status", "certified",
                                       "--country", "PE", "--known-at", position, "--json"])
    assert as_json.json() == json.loads(printed.stdout), "the JSON download is what registry --json prints"


def test_a_search_without_a_day_or_a_moment_downloads_the_day_and_position_it_showed(server: Server) -> None:
    shown = page(server, "/?status=certified")
    (csv_link,) = [a["href"] for a in shown.all("a") if a.get("href", "").startswith("/registry.csv")]
    query = dict(parse_qsl(urlsplit(csv_link).query))
    assert query["known_at"] == shown_position(server, "/?status=certified")
    assert query["as_of"] == datetime.now(timezone.utc).date().isoformat()


def shown_position(server: Server, path: str) -> str:
    return server.get(path).headers["x-ledger-position"]


def test_the_search_pages_through_long_answers(server: Server) -> None:
    html = page(server, "/?as_of=2022-02-28&limit=5")
    assert len(html.all("tr")) == 6
    assert any(a.get("rel") == "next" for a in html.all("a"))
    assert "1 to 5 of" in html.words()


def test_the_organization_page_shows_the_status_card_and_streak_on_the_chosen_day(server: Server) -> None:
    words = page(server, "/organizations/cecomip?as_of=2019-07-01").words()
    assert "Status at the end of 2019-07-01" in words and "✓ Certified" in words
    assert "4 consecutive years certified" in words and "3 recertifications in a row" in words
    assert "FM-PE-2016-01" in words and "2019-06-15 to 2020-06-14" in words


def periods_of(server: Server, org: str, known_at: str | None = None) -> list[str]:
    params = {"limit": 1000, **({"known_at": known_at} if known_at else {})}
    history = server.get(f"/api/organizations/{org}/history", params=params).json()["items"]
    return [e["fields"]["valid_from"] for e in history
            if e["type"] in ("CertificationGranted", "Recertified") and not e["retracted"]]


@pytest.mark.parametrize("org", ["cecomip", "coodmilla", "la-cascada", "aurelsa", "iquira", "duush-mandal"])
def test_the_timeline_draws_one_bar_per_period(server: Server, org: str) -> None:
    html = page(server, f"/organizations/{org}")
    drawn = [g["data-start"] for g in html.all("g", **{"class": "tl-period"})]
    assert drawn == periods_of(server, org)
    (svg,) = html.all("svg")
    assert svg["role"] == "img" and svg["aria-labelledby"] == "tl-title tl-desc"


def test_the_timeline_marks_suspensions_extensions_denials_and_withdrawals(server: Server) -> None:
    def marks(org: str) -> set[str]:
        return {a["class"] for _, a in page(server, f"/organizations/{org}").tags
                if a.get("class", "").startswith(("tl-mark ", "tl-suspension", "tl-extension"))}

    assert "tl-mark tl-mark-withdrawn" in marks("la-cascada")
    assert "tl-mark tl-mark-denied" in marks("aurifera-yani")
    assert {"tl-suspension", "tl-mark tl-mark-registered"} <= marks("aurelsa")
    assert {"tl-extension", "tl-mark tl-mark-extended"} <= marks("cecomip")


def test_the_timeline_has_a_text_alternative(server: Server) -> None:
    words = page(server, "/organizations/la-cascada").words()
    assert "The timeline in words" in words
    assert "Withdrawn on 2019-06-14 (voluntary)" in words


def test_a_retracted_entry_stays_in_the_history_struck_through_with_who_recorded_it(server: Server) -> None:
    response = server.get("/organizations/coodmilla")
    row = re.search(r'<tr id="v2" class="retracted">(.*?)</tr>', response.text, re.S)
    assert row, "the retracted grant is not in the history"
    assert "<del>Certification granted</del>" in row.group(1) and 'href="#v4"' in row.group(1)
    assert "by registry-office" in row.group(1)


def test_a_chosen_known_at_is_marked_and_shows_what_the_registry_said_then(server: Server) -> None:
    html = page(server, "/organizations/coodmilla?as_of=2016-06-30&known_at=60")
    words = html.words()
    assert "As the registry knew it on" in words and "(ledger position 60)" in words
    assert "✓ Certified" in words
    assert [g["data-start"] for g in html.all("g", **{"class": "tl-period"})] == periods_of(server, "coodmilla", "60")
    assert "retracted by" not in words  # the retraction was not recorded yet
    assert "As the registry knew it on" not in page(server, "/organizations/coodmilla?as_of=2016-06-30").words()


def test_the_moment_before_the_first_entry_is_named_as_such_not_as_a_date(server: Server) -> None:
    words = page(server, "/?known_at=0").words()
    assert "As the registry stood before its first entry" in words and "(ledger position 0)" in words
    assert "1970" not in words


def test_links_keep_the_chosen_point_in_time(server: Server) -> None:
    html = page(server, "/?as_of=2019-07-01&known_at=100")
    assert "/organizations/cecomip?as_of=2019-07-01&known_at=100" in {a.get("href") for a in html.all("a")}


def test_the_yearly_report_tells_the_2019_news(server: Server) -> None:
    words = page(server, "/reports/2019").words()
    assert "2019 in the registry" in words and "10 organizations certified at the end of 2019-12-31" in words
    assert "Recertified: 5" in words and "Denied: 3" in words and "Withdrawn: 1" in words


def test_the_reports_page_without_a_year_goes_to_this_years(server: Server) -> None:
    response = server.get("/reports", follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == f"/reports/{datetime.now(timezone.utc).year}"


def test_the_reports_page_without_a_year_goes_to_the_chosen_days_year(server: Server) -> None:
    """Every page's links carry the chosen day: the reports link of a page about 2019 opens 2019's report."""
    response = server.get("/reports", params={"as_of": "2019-07-01", "known_at": "150"}, follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == "/reports/2019?as_of=2019-07-01&known_at=150"


def test_a_period_report_page_with_one_end_says_what_the_command_line_says(server: Server) -> None:
    words = page(server, "/reports?from=2019-01-01", status=400).words()
    assert "give --year YYYY, or both --from DATE and --to DATE" in words and "''" not in words


def test_an_error_pages_search_link_keeps_the_chosen_day_and_moment(server: Server) -> None:
    missing = page(server, "/organizations/nobody?as_of=2019-07-01&known_at=150", status=404)
    assert "/?as_of=2019-07-01&known_at=150" in [a["href"] for a in missing.all("a")]


def test_the_latest_changes_come_newest_first(server: Server) -> None:
    html = page(server, "/changes?limit=5")
    cells = [row.split("</td>")[0] for row in server.get("/changes?limit=5").text.split("<tr")[2:]]
    assert [int(re.sub(r"\D", "", c)) for c in cells] == [155, 154, 153, 152, 151]
    assert any(a.get("rel") == "prev" for a in html.all("a"))


def test_the_atom_feed_is_valid_atom_newest_first(server: Server) -> None:
    response = server.get("/feed.atom")
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    feed = ElementTree.fromstring(response.content)
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{required}") is not None, required
    assert feed.find(f"{ATOM}link[@rel='self']") is not None
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 50
    updated = []
    for entry in entries:
        for required in ("id", "title", "updated", "content"):
            assert (entry.findtext(f"{ATOM}{required}") or "").strip(), required
        updated.append(datetime.fromisoformat(entry.findtext(f"{ATOM}updated", "").replace("Z", "+00:00")))
    assert updated == sorted(updated, reverse=True)
    assert len({entry.findtext(f"{ATOM}id") for entry in entries}) == 50


def test_the_atom_ids_stay_the_same_whatever_address_the_feed_is_read_at(server: Server) -> None:
    """RFC 4287: an atom:id never changes when the document is relocated. The links follow the address the feed
    is read at; the ids name the ledger and the position."""
    def read(host: str) -> tuple[list[str], str]:
        feed = ElementTree.fromstring(server.get("/feed.atom", headers={"Host": host}).content)
        ids = [feed.findtext(f"{ATOM}id", "")] + [e.findtext(f"{ATOM}id", "") for e in feed.findall(f"{ATOM}entry")]
        return ids, feed.find(f"{ATOM}link[@rel='self']").get("href", "")

    here, here_self = read("127.0.0.1")
    there, there_self = read("registry.example.org")
    assert here == there
    assert there_self == "http://registry.example.org/feed.atom" and here_self != there_self
    assert all(re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", i) for i in here) and len(set(here)) == 51


def test_errors_are_pages_for_people(server: Server) -> None:
    missing = page(server, "/organizations/no-such-org", status=404)
    assert "unknown organization no-such-org" in missing.words()
    bad = page(server, "/?as_of=2019-13-01", status=400)
    assert "--as-of:" in bad.words()
    assert "no such page: /nothing" in page(server, "/nothing", status=404).words()


def test_a_timeline_as_of_a_far_year_stays_a_small_picture(server: Server) -> None:
    """A year's tick each up to a century; past it, the labelled years only (not 8,000 ticks for the year 9999)."""
    far = server.get("/organizations/cecomip", params={"as_of": "9999-12-31"})
    assert far.status_code == 200
    svg = far.text.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert svg.count("<line") < 200 and "9999" in svg


def test_an_empty_page_of_changes_names_no_positions(server: Server) -> None:
    last = server.get("/api/changes", params={"limit": 1}).json()["position"]
    words = page(server, f"/changes?since={last}").words()
    assert "newest first." in words and f"positions {last + 1} to {last}" not in words


@pytest.mark.parametrize(("path", "cached"), [
    ("/organizations/cecomip?as_of=2019-07-01&known_at=150", True),
    ("/?as_of=2019-07-01&status=certified&known_at=150", True),
    ("/certificates/FM-PE-2016-01?as_of=2019-07-01&known_at=150", True),
    ("/reports/2019?known_at=150", True),
    ("/changes?known_at=150", True),
    ("/organizations/cecomip?as_of=2019-07-01", False),
    ("/organizations/cecomip?known_at=150", False),
    ("/reports/2019", False),
])
def test_a_page_about_a_fixed_day_and_position_is_cached_as_the_api_is(server: Server, path: str, cached: bool) -> None:
    response = server.get(path)
    assert response.status_code == 200
    assert response.headers["cache-control"] == ("public, max-age=86400" if cached else "no-cache")
