"""Hostile import lines: one bad line rejects the whole file with one ``Error:`` line naming it, and writes nothing.

A file of valid lines for a new organization gets exactly one line spoiled: bytes that are
not JSON, not UTF-8, nested 100,000 deep or longer than a line may be; or a JSON object with
one field of the wrong type, an impossible or far-future date, an empty, 100,000-character,
control-character or lone-surrogate text, an unknown field or command, or a missing field.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from cli import cli
from harness import assert_clean_refusal, error_lines, hostile_examples, ledger_digest, run_certledger, seed_ledger


VALID_LINES = [
    {"command": "register", "org": "imp-org", "date": "2016-01-10", "name": "Imported Cooperative",
     "country": "BO", "legal_form": "cooperative"},
    {"command": "audit", "org": "imp-org", "date": "2016-05-20", "body": "IMO Swiss AG", "kind": "initial",
     "finding": ["minor:health-safety:first aid kits incomplete"]},
    {"command": "certify", "org": "imp-org", "date": "2016-06-15", "standard": "fairmined", "certificate": "IMP-1",
     "valid_until": "2017-06-14"},
    {"command": "suspend", "org": "imp-org", "date": "2016-09-01", "reason": "records missing",
     "resolve_by": "2016-12-31"},
    {"command": "reinstate", "org": "imp-org", "date": "2016-10-01"},
    {"command": "extend", "org": "imp-org", "date": "2017-05-01", "until": "2017-09-30", "reason": "halted"},
    {"command": "retract", "org": "imp-org", "target": 2, "date": "2017-06-01", "reason": "recorded twice"},
]
TEXT_FIELDS = {"name", "body", "reason", "certificate"}
OPTIONAL_FIELDS = {"legal_form", "finding", "certificate", "valid_until", "resolve_by"}
DATE_FIELDS = {"date"}
END_DATE_FIELDS = {"valid_until", "resolve_by", "until"}
HUGE = "x" * 100_000
NESTED = "[" * 100_000 + "]" * 100_000

WRONG_TYPES = st.sampled_from([None, 0, -1, 3.5, 1e308, True, [], ["a"], {}, {"a": {"b": [1]}},
                               json.loads("[" * 50 + "]" * 50)])
BAD_TEXT = st.sampled_from(["", "   ", "\t", HUGE, "a" * 501, "a\x00b", "a\x1bb", "a\nb", "a\x85b", "a\ud800b"])
IMPOSSIBLE_DATES = st.sampled_from(["2023-02-29", "2019-04-31", "2019-13-01", "0000-01-01", "2019-1-1",
                                    "20190101", "2019-01-01T00:00:00", "", HUGE, "a\ud800b",
                                    "'; DROP TABLE stored_events; --"])
FAR_FUTURE = st.dates(min_value=date.today() + timedelta(days=2)).map(date.isoformat)

RAW_LINES = st.one_of(
    st.sampled_from([b"{", b"}", b"not json", b"[1, 2]", b"null", b"42", b'"register"', b"{'command': 'audit'}",
                     b'{"command": "audit",}', NESTED.encode(), ("{" + '"a":' * 1 + NESTED + "}").encode(),
                     b"\xff\xfe", b"caf\xe9", b"\xc0\xaf", b"\xed\xa0\x80", b"\x00", b"x" * (1 << 20 + 1),
                     b'{"command": "audit", "org": "imp-org", "date": "2016-05-20", "body": NaN, "kind": "initial"}',
                     b'{"command": "register", "org": "imp-org", "command": "audit"}']),
    st.binary(min_size=1, max_size=40).filter(lambda raw: b"\n" not in raw and b"\r" not in raw
                                              and raw.strip() not in (b"",) and not raw.strip().startswith(b"{")),
)


@st.composite
def spoiled_object(draw: st.DrawFn, line: dict) -> bytes:
    line = dict(line)
    fields = [key for key in line if key != "command"]
    how = draw(st.sampled_from(["wrong type", "bad value", "unknown field", "unknown command", "missing field"]))
    if how == "unknown field":
        line[draw(st.sampled_from(["bogus", "key", "stage", "valid_from", "Org", "org "]))] = "x"
    elif how == "unknown command":
        line["command"] = draw(st.sampled_from(["delete", "REGISTER", "", "drop table", None, 1]))
    elif how == "missing field":
        required = [key for key in ("org", "date", "name", "country", "body", "kind", "standard", "reason",
                                    "until", "target", "command") if key in line]
        del line[draw(st.sampled_from(required))]
    else:
        field = draw(st.sampled_from(fields))
        if how == "wrong type":
            value = draw(WRONG_TYPES)
            if (value is None and field in OPTIONAL_FIELDS) or (value == [] and field == "finding"):
                value = 0  # null for an optional field means "absent", and no findings is an empty list
            if field == "target" and isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 1:
                value = "two"  # a number is the right type for a target
        elif field in DATE_FIELDS:
            value = draw(st.one_of(IMPOSSIBLE_DATES, FAR_FUTURE))
        elif field in END_DATE_FIELDS:
            value = draw(IMPOSSIBLE_DATES)
        elif field == "org":
            value = draw(st.sampled_from(["", "Imp-Org", "imp org", "x" * 65, HUGE, "imp-org\x00", "ghost-org"]))
        elif field == "finding":
            value = [draw(st.sampled_from(["nocolon", "critical:x:y", "minor::y", "minor:x:a\x00b", HUGE]))]
        elif field == "target":
            value = draw(st.sampled_from([0, -1, 1, 10**30, "two"]))
        elif field in TEXT_FIELDS:
            value = draw(BAD_TEXT)
        else:
            value = draw(st.sampled_from(["", "x", HUGE, "a\ud800b", "PE-X"]))
        line[field] = value
    return json.dumps(line).encode()


@st.composite
def spoiled_file(draw: st.DrawFn) -> tuple[bytes, int]:
    """A file of the valid lines with one spoiled; and that line's number."""
    index = draw(st.integers(min_value=0, max_value=len(VALID_LINES) - 1))
    bad = draw(st.one_of(RAW_LINES, spoiled_object(VALID_LINES[index])))
    lines = [json.dumps(line).encode() for line in VALID_LINES]
    lines[index] = bad
    return b"\n".join(lines) + b"\n", index + 1


@pytest.fixture
def seeded(db_url: str) -> str:
    seed_ledger(db_url)
    return db_url


def test_the_unspoiled_file_imports(tmp_path) -> None:
    db = str(tmp_path / "ledger.db")
    seed_ledger(db)
    data = "".join(json.dumps(line) + "\n" for line in VALID_LINES)
    result = CliRunner().invoke(cli, ["--db", db, "import", "-"], input=data)
    assert result.exit_code == 0, result.output


def test_a_file_with_one_hostile_line_is_refused_naming_the_line_and_nothing_is_written(seeded: str) -> None:
    @hostile_examples(seeded)
    @given(case=spoiled_file())
    def refused(case: tuple[bytes, int]) -> None:
        data, number = case
        before = ledger_digest(seeded)
        result = CliRunner().invoke(cli, ["--db", seeded, "import", "-"], input=data)
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert_clean_refusal(result.exit_code, result.stdout, result.stderr)
        named = re.search(r"line (\d+)", error_lines(result.stderr)[0])
        assert named is not None and int(named.group(1)) >= number  # (a line that reads as blank fails a later one)
        assert ledger_digest(seeded) == before

    refused()


@pytest.mark.parametrize("data", [
    b"command,org,date\nregister,imp-org\n",
    b"command,org,date,name,country,bogus\nregister,imp-org,2016-01-10,Imported,BO,x\n",
    b'command,org,date,name,country\nregister,imp-org,2016-01-10,"unterminated,BO\n',
    b"command,org,date,name,country\nregister,imp-org,2016-02-30,Imported,BO\n",
    b"command,org,date,name,country\nregister,imp-org,2016-01-10,Imp\x00orted,BO\n",
    b"command,org,date,name,country\nregister,imp-org,2016-01-10,Imp\xfforted,BO\n",
    b"\xff\xfe\x00c\x00o\x00m\x00m\x00a\x00n\x00d\x00\n",
], ids=["short row", "unknown column", "unterminated quote", "impossible date", "NUL", "invalid UTF-8", "UTF-16"])
def test_a_hostile_csv_file_is_refused_and_nothing_is_written(tmp_path, data: bytes) -> None:
    db = tmp_path / "ledger.db"
    seed_ledger(db)
    before = ledger_digest(db)
    source = tmp_path / "hostile.csv"
    source.write_bytes(data)
    completed = run_certledger(db, "import", str(source))
    assert_clean_refusal(completed.returncode, completed.stdout, completed.stderr)
    assert ledger_digest(db) == before


@pytest.mark.parametrize("line", ["\x1c", "\x1f", "\x0b", "\u3000", "\u2028"],
                         ids=["file separator", "unit separator", "vertical tab", "ideographic space", "line separator"])
def test_a_line_of_control_characters_or_unicode_spaces_is_not_a_blank_line(seeded: str, line: str) -> None:
    """Found by the property above: such a line was silently skipped as blank."""
    lines = [json.dumps(VALID_LINES[0]), line, json.dumps(VALID_LINES[1])]
    before = ledger_digest(seeded)
    result = CliRunner().invoke(cli, ["--db", seeded, "import", "-"], input="\n".join(lines) + "\n")
    assert_clean_refusal(result.exit_code, result.stdout, result.stderr, mentions="line 2")
    assert ledger_digest(seeded) == before
