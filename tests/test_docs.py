"""The README stays true: every command is shown with an example, and the Python API snippet runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cli import cli

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_appears_in_the_readme_with_an_example(name: str) -> None:
    assert re.search(rf"^\s+certledger {re.escape(name)}\b", README, re.MULTILINE), \
        f"README has no example line for `certledger {name}`"


def test_the_readme_python_api_example_runs_and_its_comments_are_true(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    snippet = re.search(r"```python\n(.*?)```", README, re.DOTALL)
    assert snippet, "README lost its Python API example"
    monkeypatch.chdir(tmp_path)
    checked, asserted = [], 0
    for line in snippet.group(1).splitlines():
        code, _, comment = line.partition("  # ")
        expected = re.match(r"\s*(\d+|'[a-z]+')(?:$|[ :])", comment)
        if expected and not code.startswith(" ") and not code.startswith("print(") and " = " not in code:
            line = f"assert repr({code.strip()}) == {expected.group(1)!r}, {code.strip()!r}"
            asserted += 1
        checked.append(line)
    exec("\n".join(checked), {})
    assert asserted >= 2, "the README example should show some answers as comments"
    printed = re.search(r"^print\(.*?\)\s+# (.*)$", snippet.group(1), re.MULTILINE)
    assert printed and capsys.readouterr().out.strip() == printed.group(1).strip()


def test_the_import_format_example_imports_whole_and_a_second_time_records_nothing(tmp_path: Path) -> None:
    """docs/import-export.md shows one line per command: they must be a file the ledger takes, as they stand."""
    from click.testing import CliRunner

    doc = (Path(__file__).resolve().parent.parent / "docs" / "import-export.md").read_text(encoding="utf-8")
    rows = doc.splitlines()
    first = next(n for n, line in enumerate(rows) if line.startswith('    {"command": '))
    lines = []
    for line in rows[first:]:  # the first block of lines: the format's example (an export's line comes later)
        if not line.startswith('    {"command": '):
            break
        lines.append(line.strip())
    assert len(lines) >= 7, "the import format's example lost its lines"
    source = tmp_path / "example.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = str(tmp_path / "ledger.db")
    first = CliRunner().invoke(cli, ["--db", db, "import", str(source)])
    assert first.exit_code == 0, first.stderr
    assert first.stdout.startswith(f"Imported {len(lines)} events (0 skipped as already present)")
    again = CliRunner().invoke(cli, ["--db", db, "import", str(source)])
    assert again.stdout.startswith(f"Imported 0 events ({len(lines)} skipped as already present)")
