"""Import formats (SPEC §8: JSON Lines, or CSV with a header row): --format and the .csv/.jsonl/.json
extensions decide; otherwise (standard input, another extension) the first line does: a CSV header
naming a ``command`` column means CSV, anything else JSON Lines, as before."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from cli import cli

CSV = ("command,org,date,name,country,standard\n"
       "register,cecomip,2016-01-10,CECOMIP,PE,\n"
       "certify,cecomip,2016-06-15,,,fairmined\n")
JSONL = "".join(json.dumps(line) + "\n" for line in [
    {"command": "register", "org": "cecomip", "name": "CECOMIP", "country": "PE", "date": "2016-01-10"},
    {"command": "certify", "org": "cecomip", "date": "2016-06-15", "standard": "fairmined"}])
NOT_JSON = "Error: line 1: not valid JSON: Expecting value at character 1"


def invoke(db: Path, *args: str, input: str | bytes | None = None) -> Result:
    return CliRunner().invoke(cli, ["--db", str(db), *args], input=input)


def events(db: Path) -> list[dict[str, Any]]:
    """The ledger's export, without the time of recording (two imports never share it)."""
    result = invoke(db, "export", "-")
    assert result.exit_code == 0, result.stderr
    return [{key: value for key, value in json.loads(line).items() if key != "recorded_at"}
            for line in result.stdout.splitlines()]


def test_csv_on_standard_input_is_imported_as_with_format_csv(tmp_path: Path) -> None:
    source = tmp_path / "lines.csv"
    source.write_text(CSV, encoding="utf-8")
    assert invoke(tmp_path / "named.db", "import", "--format", "csv", str(source)).exit_code == 0

    result = invoke(tmp_path / "piped.db", "import", "-", input=CSV)

    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Imported 2 events (0 skipped as already present) from stdin in ")
    assert events(tmp_path / "piped.db") == events(tmp_path / "named.db")
    assert len(events(tmp_path / "piped.db")) == 2


def test_csv_on_standard_input_after_a_byte_order_mark_is_imported(tmp_path: Path) -> None:
    result = invoke(tmp_path / "ledger.db", "import", "-", input=b"\xef\xbb\xbf" + CSV.encode())

    assert result.exit_code == 0, result.stderr
    assert len(events(tmp_path / "ledger.db")) == 2


def test_line_numbers_of_csv_on_standard_input_count_the_header(tmp_path: Path) -> None:
    bad = CSV + "certify,cecomip,2016-02-30,,,fairmined\n"

    result = invoke(tmp_path / "ledger.db", "import", "-", input=bad)

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: line 4: ")


def test_a_misspelt_csv_header_on_standard_input_gets_the_csv_hint(tmp_path: Path) -> None:
    result = invoke(tmp_path / "ledger.db", "import", "-", input=CSV.replace("command,", "Command,", 1))

    assert result.exit_code == 1
    assert "line 1: column 'Command' should be 'command'" in result.stderr


def test_a_csv_file_with_another_extension_is_imported(tmp_path: Path) -> None:
    source = tmp_path / "lines.txt"
    source.write_text(CSV, encoding="utf-8")

    result = invoke(tmp_path / "ledger.db", "import", str(source))

    assert result.exit_code == 0, result.stderr
    assert len(events(tmp_path / "ledger.db")) == 2


def test_json_lines_on_standard_input_still_import(tmp_path: Path) -> None:
    result = invoke(tmp_path / "ledger.db", "import", "-", input=JSONL)

    assert result.exit_code == 0, result.stderr
    assert [event["command"] for event in events(tmp_path / "ledger.db")] == ["register", "certify"]


def test_a_bad_first_line_on_standard_input_is_a_json_error_at_line_1(tmp_path: Path) -> None:
    result = invoke(tmp_path / "ledger.db", "import", "-", input="not json\n" + JSONL)

    assert result.exit_code == 1
    assert result.stderr.strip() == NOT_JSON


def test_format_jsonl_still_refuses_csv(tmp_path: Path) -> None:
    result = invoke(tmp_path / "ledger.db", "import", "--format", "jsonl", "-", input=CSV)

    assert result.exit_code == 1
    assert result.stderr.strip() == NOT_JSON


def test_an_empty_standard_input_imports_nothing(tmp_path: Path) -> None:
    result = invoke(tmp_path / "ledger.db", "import", "-", input="")

    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Imported 0 events (0 skipped as already present) from stdin in ")
    assert not (tmp_path / "ledger.db").exists()
