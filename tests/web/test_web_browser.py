"""A person with a real browser: Debian's chromium, driven by selenium, against the real server.

Types a search, opens an organization, reads its status and the timeline picture, downloads the CSV,
looks at the registry as it was known at an earlier position, pastes certificate numbers to verify and
downloads that table, and opens the API documentation; the browser's console must show no
Content-Security-Policy violation on the way.

Skipped (with the reason) when no chromium/chromedriver is installed; CI sets
``CERTLEDGER_REQUIRE_BROWSER=1``, which turns that skip into a failure. With
``CERTLEDGER_UPDATE_SCREENSHOTS=1`` the screenshots the README shows are written to docs/screenshots/.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from registry_server import ROOT, Server, examples_server

pytestmark = pytest.mark.browser

SCREENSHOTS = ROOT / "docs" / "screenshots"
WAIT = 20.0


def browser_unavailable() -> str | None:
    missing = [name for name in ("chromium", "chromedriver") if shutil.which(name) is None]
    if missing:
        return f"no browser for the browser tests: {' and '.join(missing)} not installed " \
               "(apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the browser tests need selenium (pip install 'certledger[test]')"
    return None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with examples_server("sqlite", tmp_path_factory.mktemp("browser")) as running:
        yield running


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory, downloads: Path) -> Iterator[Any]:
    reason = browser_unavailable()
    if reason:
        if os.environ.get("CERTLEDGER_REQUIRE_BROWSER") == "1":
            pytest.fail(f"a browser is required (CERTLEDGER_REQUIRE_BROWSER=1) but {reason}", pytrace=False)
        pytest.skip(reason)
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = str(shutil.which("chromium"))
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                     "--no-first-run", "--lang=en-US", "--window-size=1280,900",
                     f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options,
                              service=webdriver.ChromeService(executable_path=str(shutil.which("chromedriver"))))
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(condition: Callable[[], Any], what: str) -> Any:
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            found = condition()
        except (NoSuchElementException, StaleElementReferenceException):
            found = None  # the next page is still loading: its elements are not there yet
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"waited {WAIT} s for {what}")


def screenshot(browser: Any, name: str, tmp_path: Path) -> None:
    """Full-page screenshots for the README, written there only when asked (they change with every run)."""
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(max(height, 900), 2400))
    target = SCREENSHOTS if os.environ.get("CERTLEDGER_UPDATE_SCREENSHOTS") == "1" else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(target / f"{name}.png"))
    browser.set_window_size(1280, 900)


def policy_violations(browser: Any) -> list[str]:
    return [entry["message"] for entry in browser.get_log("browser") if "Content Security Policy" in entry["message"]]


def test_a_person_searches_opens_an_organization_and_reads_its_timeline(
        browser: Any, server: Server, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server.url + "/")
    browser.find_element(By.ID, "country").send_keys("pe")
    browser.find_element(By.CSS_SELECTOR, "input[name=status][value=certified]").click()
    day = browser.find_element(By.ID, "as_of")
    browser.execute_script("arguments[0].value = '2019-07-01'", day)  # typing into a date field depends on locale
    browser.find_element(By.CSS_SELECTOR, "form.search button[type=submit]").click()
    heading = wait_for(lambda: "on 2019-07-01" in browser.find_element(By.ID, "results-heading").text
                       and browser.find_element(By.ID, "results-heading").text, "the results")
    assert heading == "3 organizations on 2019-07-01"
    names = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "table.registry tbody th a")]
    assert names == ["Central de Cooperativas Minero Metalúrgicas de Puno Ltda. (CECOMIP)",
                     "Empresa Minera Oro Puno S.A.", "Minera Artesanal San Luis S.A."]
    screenshot(browser, "search", tmp_path)

    browser.find_element(By.LINK_TEXT, names[0]).click()
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".status-card"), "the organization page")
    assert browser.find_element(By.CSS_SELECTOR, ".status-card .status").text == "✓ Certified"
    assert "Status at the end of 2019-07-01" in browser.find_element(By.ID, "status-heading").text
    streak = browser.find_element(By.CSS_SELECTOR, ".streak").text
    assert "4 consecutive years certified" in streak and "3 recertifications in a row" in streak

    history = server.get("/api/organizations/cecomip/history", params={"limit": 1000}).json()["items"]
    periods = [e["fields"]["valid_from"] for e in history
               if e["type"] in ("CertificationGranted", "Recertified") and not e["retracted"]]
    bars = browser.find_elements(By.CSS_SELECTOR, "svg.timeline-svg g.tl-period")
    assert [bar.get_attribute("data-start") for bar in bars] == periods
    widths = [bar.find_element(By.TAG_NAME, "rect").rect["width"] for bar in bars]
    assert all(width > 20 for width in widths), widths
    lefts = [bar.find_element(By.TAG_NAME, "rect").rect["x"] for bar in bars]
    assert lefts == sorted(lefts)
    assert browser.find_elements(By.CSS_SELECTOR, "svg.timeline-svg g.tl-extension")
    screenshot(browser, "organization", tmp_path)
    assert policy_violations(browser) == []


def test_the_csv_download_is_the_same_query(browser: Any, server: Server, downloads: Path) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server.url + "/?as_of=2019-07-01&status=certified&known_at=155")
    browser.find_element(By.LINK_TEXT, "CSV").click()
    saved = wait_for(lambda: [p for p in downloads.glob("*.csv")], "the CSV download")
    assert [p.name for p in saved] == ["registry-2019-07-01.csv"]
    text = wait_for(lambda: saved[0].read_text(encoding="utf-8"), "the CSV content")
    query = {"as_of": "2019-07-01", "status": "certified", "known_at": "155"}
    assert text == server.get("/registry.csv", params=query).text
    assert len(text.splitlines()) == 9


def test_a_chosen_known_at_is_visibly_marked(browser: Any, server: Server) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server.url + "/organizations/coodmilla?as_of=2016-06-30")
    assert browser.find_element(By.CSS_SELECTOR, ".status-card .status").text == "· Registered"
    browser.find_element(By.ID, "tb-known-at").send_keys("60")
    browser.find_element(By.CSS_SELECTOR, "form.timebar button").click()
    banner = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "p.known-at"), "the known-at banner")[0]
    assert banner.is_displayed() and banner.text.startswith("As the registry knew it on ")
    assert "(ledger position 60)" in banner.text
    assert browser.find_element(By.CSS_SELECTOR, ".status-card .status").text == "✓ Certified"


def test_a_buyer_pastes_three_certificates_reads_their_states_and_downloads_the_table(
        browser: Any, server: Server, downloads: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    browser.get_log("browser")
    browser.get(server.url + "/")
    browser.find_element(By.LINK_TEXT, "Verify certificates").click()
    box = wait_for(lambda: browser.find_elements(By.ID, "certificates"), "the verify form")[0]
    box.send_keys("FM-PE-2016-01\nfm-co-2017-03, 2019-07-01\nFM-XX-0001")
    day = browser.find_element(By.ID, "as_of")
    browser.execute_script("arguments[0].value = '2019-12-31'", day)  # typing into a date field depends on locale
    browser.find_element(By.ID, "known_at").send_keys("155")
    browser.find_element(By.CSS_SELECTOR, "form.verify button[type=submit]:not([formaction])").click()
    heading = wait_for(lambda: browser.find_elements(By.ID, "results-heading"), "the table")[0]
    assert heading.text == "3 certificates checked"
    rows = [[cell.text for cell in row.find_elements(By.CSS_SELECTOR, "th, td")]
            for row in browser.find_elements(By.CSS_SELECTOR, "table.verify-table tbody tr")]
    assert [row[1:4] for row in rows] == [["FM-PE-2016-01", "2019-12-31", "✓ Valid"],
                                          ["FM-CO-2017-03", "2019-07-01", "✕ Withdrawn"],
                                          ["FM-XX-0001", "2019-12-31", "? Not found"]]
    assert rows[0][4].startswith("Central de Cooperativas Minero Metalúrgicas de Puno")
    screenshot(browser, "verify", tmp_path)

    browser.find_element(By.ID, "download-csv").click()
    saved = wait_for(lambda: [p for p in downloads.glob("certificates-*.csv")], "the CSV download")
    assert [p.name for p in saved] == ["certificates-2019-12-31.csv"]
    text = wait_for(lambda: saved[0].read_text(encoding="utf-8"), "the CSV content")
    same = server.client.post("/verify.csv", data={
        "certificates": "FM-PE-2016-01\nfm-co-2017-03,2019-07-01\nFM-XX-0001", "as_of": "2019-12-31",
        "known_at": "155"})
    assert text == same.text
    assert [line.split(",")[3] for line in text.splitlines()] == ["state", "valid", "withdrawn", ""]

    browser.find_element(By.LINK_TEXT, "FM-PE-2016-01").click()
    state = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".certificate-card .state"), "the card")[0]
    assert state.text == "✓ Valid"
    assert "At the end of 2019-12-31" in browser.find_element(By.ID, "state-heading").text
    assert policy_violations(browser) == []


def test_the_interactive_api_documentation_runs_under_the_content_security_policy(
        browser: Any, server: Server) -> None:
    from selenium.webdriver.common.by import By

    browser.get_log("browser")
    browser.get(server.url + "/api/docs")
    title = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".swagger-ui .info .title"), "Swagger UI")[0]
    assert "certledger public registry" in title.text
    assert wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path"), "the operations")
    assert policy_violations(browser) == []
