"""Import lines on disk: JSON Lines and CSV, read line by line and written back by ``export``.

Keys (CSV: header names) are the recording commands' option names with underscores
(SPEC "Import lines"); an export adds the read-only ``position``, ``version``,
``recorded_at`` and ``recorded_by``, which an import ignores.
"""

from __future__ import annotations

import csv
import json
from functools import cache
from typing import IO, Annotated, Any, Iterable, Iterator, Union

from pydantic import Field, TypeAdapter, ValidationError, create_model

from ledger.domain import commands as cmd
from ledger.transfer.strict_json import strict_json
from ledger.errors import InvalidInput
from ledger.transfer import FORMATS  # noqa: F401 - the formats are named here too

MAX_LINE_BYTES = 1 << 20
FINDING_SEPARATOR = "|"
METADATA_KEYS = cmd.READ_ONLY_KEYS
UTF8_BOM = b"\xef\xbb\xbf"  # ignored at the start of a file (an editor may write one)


def _line_model(command: type[cmd.Command]) -> type[cmd.Command]:
    """The command as an import line: the read-only keys an export writes are accepted and ignored."""
    return create_model(f"{command.__name__}Line", __base__=command,
                        **{key: (Any, Field(default=None, exclude=True)) for key in METADATA_KEYS})


@cache
def line_model() -> TypeAdapter[cmd.Command]:
    """Built on first use: commands that read no import lines start faster without it."""
    return TypeAdapter(Annotated[Union[tuple(_line_model(command) for command in cmd.COMMANDS.values())],  # type: ignore[misc]
                                 Field(discriminator="command")])


def _import_columns() -> list[str]:
    columns: list[str] = []
    for model in cmd.COMMANDS.values():
        for name in model.model_fields:
            if name not in columns:
                columns.append(name)
    return columns


IMPORT_COLUMNS: tuple[str, ...] = tuple(_import_columns())
EXPORT_COLUMNS: tuple[str, ...] = IMPORT_COLUMNS + METADATA_KEYS
KNOWN_KEYS = frozenset(EXPORT_COLUMNS)


EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl"}


def named_format(path: str, explicit: str | None = None) -> str | None:
    """The file format as given, else as the file's extension names it; None when neither says
    (standard input, another extension): an import then decides by content (``format_by_content``)."""
    if explicit:
        return explicit
    if path == "-":
        return None
    return next((fmt for extension, fmt in EXTENSIONS.items() if path.lower().endswith(extension)), None)


def format_of(path: str, explicit: str | None = None) -> str:
    """The file format: as given, else by the file's extension, else JSON Lines (an export's default)."""
    return named_format(path, explicit) or "jsonl"


def format_by_content(first_line: bytes) -> str:
    """CSV when the first line reads as a CSV header naming a ``command`` column (also in a spelling
    ``check_header`` corrects, so that its hint is shown), else JSON Lines: a JSON object, and any
    other line, is read as JSON Lines, so that a bad first line gets the JSON error it always got."""
    text = first_line.removeprefix(UTF8_BOM).decode("utf-8", "replace").strip(BLANK)
    if text.startswith("{"):
        return "jsonl"
    try:
        header = next(csv.reader([text]), [])
    except csv.Error:
        return "jsonl"
    return "csv" if any(_key_like(name) == "command" for name in header) else "jsonl"


# ---------------------------------------------------------------- reading

# What a blank line may hold: JSON's whitespace. (str.strip() would also take a line of control
# characters such as U+001C, or of Unicode spaces, for blank, and silently skip it.)
BLANK = " \t\r\n"

class LineReader:
    """Physical lines of a byte stream, decoded as UTF-8, counting bytes for the progress bar.

    A line that is not UTF-8 is yielded with replacement characters and its problem kept in
    ``bad`` (by line number), so that a check can report it and go on to the next line.
    """

    def __init__(self, stream: IO[bytes]):
        self.stream = stream
        self.bytes_read = 0
        self.number = 0
        self.bad: dict[int, str] = {}
        self._peeked: bytes | None = None

    def peek(self) -> bytes:
        """The first line's raw bytes, read ahead without being counted: iterating still starts with it.

        Only the line is read, so standard input stays a stream (it cannot be rewound).
        """
        if self._peeked is None:
            self._peeked = self.stream.readline(MAX_LINE_BYTES + 1)
        return self._peeked

    def __iter__(self) -> Iterator[str]:
        readline = self.stream.readline
        while True:
            if self._peeked is not None:
                raw, self._peeked = self._peeked, None
            else:
                raw = readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            self.number += 1
            self.bytes_read += len(raw)
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                # Not held whole: the rest of the line is read past, and the line is reported like any bad one.
                while raw and not raw.endswith(b"\n"):
                    raw = readline(MAX_LINE_BYTES + 1)
                    self.bytes_read += len(raw)
                self.bad[self.number] = f"longer than {MAX_LINE_BYTES} bytes"
                yield TOO_LONG
                continue
            if self.number == 1 and raw.startswith(UTF8_BOM):
                raw = raw[len(UTF8_BOM):]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as error:
                if self.number == 1 and raw.startswith((b"\xff\xfe", b"\xfe\xff")):
                    raise InvalidInput("line 1: not valid UTF-8: the file is UTF-16; re-save the file as UTF-8") from None
                self.bad[self.number] = not_utf8(raw, error)
                yield raw.decode("utf-8", "replace")

    def problem(self, first: int, last: int | None = None) -> tuple[int, InvalidInput] | None:
        """The first line from ``first`` to ``last`` that could not be read (a CSV row may span several), and why."""
        for number in range(first, (last if last is not None else first) + 1):
            if number in self.bad:
                return number, InvalidInput(self.bad.pop(number))
        return None


def not_utf8(raw: bytes, error: UnicodeDecodeError) -> str:
    """Which byte is not UTF-8, the word it is in as an older encoding would read it, and what to do."""
    start, end = error.start, error.start + 1
    while start > 0 and raw[start - 1:start] not in WORD_ENDS:
        start -= 1
    while end < len(raw) and raw[end:end + 1] not in WORD_ENDS:
        end += 1
    try:
        guess = f" (in Windows-1252 that would be {raw[start:end].decode('cp1252')!r})"
    except UnicodeDecodeError:
        guess = ""
    return (f"not valid UTF-8: byte {error.start + 1} of the line is 0x{raw[error.start]:02X}{guess}; re-save the "
            "file as UTF-8")


# What a line too long to hold reads as: a blank line, whose problem the reader keeps (``LineReader.bad``).
TOO_LONG = "\n"
WORD_ENDS = frozenset(bytes([b]) for b in b' \t\r\n",;:{}[]')


def decode_json(text: str) -> Any:
    """The line's JSON value, or the InvalidInput that says why it has none (a check goes on to the next line)."""
    text = text.rstrip("\r\n")
    try:
        return strict_json(text)
    except RecursionError:
        return InvalidInput("not valid JSON: nested too deeply")
    except json.JSONDecodeError as error:
        where = "at the end of the line" if error.pos >= len(text) else f"at character {error.pos + 1}"
        return InvalidInput(f"not valid JSON: {error.msg} {where}")
    except ValueError as error:
        return InvalidInput(f"not valid JSON: {error}")


def jsonl_commands(reader: LineReader) -> Iterator[tuple[int, Any]]:
    """(line number, command) for every non-blank line: a validated Command, or the decoded value.

    Every line is read strictly first (``strict_json``: a key given twice is refused, which pydantic's
    parser would take as its last value). A well-formed line (with or without an export's read-only
    keys) is then validated straight from its JSON text, in one pass of pydantic's parser; any other
    line is left, decoded, to ``parse_command``, which words the errors.
    """
    for text in reader:
        problem = reader.problem(reader.number)
        if problem is not None:
            yield problem
            continue
        if not text.strip(BLANK):
            continue
        value = decode_json(text)
        if isinstance(value, InvalidInput):
            yield reader.number, value
            continue
        try:
            yield reader.number, line_model().validate_json(text)
        except ValidationError:
            yield reader.number, misnamed_keys(value) or value


def csv_lines(reader: LineReader) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, fields) for every data row; empty cells are absent, ``finding`` splits on ``|``."""
    rows = csv.reader(reader, strict=True)
    header: list[str] | None = None
    ended = 0
    try:
        for row in rows:
            number, ended = ended + 1, rows.line_num
            problem = reader.problem(number, ended)
            if problem is not None and header is None:
                raise InvalidInput(f"line {problem[0]}: {problem[1]}")
            if problem is not None:
                yield problem
                continue
            if not any(cell.strip(BLANK) for cell in row):
                continue
            if header is None:
                header = [name.strip() for name in row]
                check_header(header, number)
                continue
            if len(row) > len(header):
                yield number, InvalidInput(f"{len(row)} cells, but the header names {len(header)} columns")
                continue
            yield number, {name: _csv_value(name, cell) for name, cell in zip(header, row) if cell != ""}
    except csv.Error as error:
        raise InvalidInput(f"line {rows.line_num}: not valid CSV: {error}") from None


DELIMITERS = {";": "';'", "\t": "tabs", "|": "'|'"}


def check_header(header: list[str], number: int) -> None:
    """A header that names the import keys, once each; the likely cause when it does not."""
    if len(header) == 1:
        for delimiter, called in DELIMITERS.items():
            if delimiter in header[0]:
                raise InvalidInput(f"line {number}: the header is split by {called}, not by commas: certledger reads "
                                   "comma-separated CSV; save the file again with ',' as the delimiter")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise InvalidInput(f"line {number}: duplicate column {', '.join(duplicates)}")
    misnamed = [(name, key) for name in header if name not in KNOWN_KEYS
                for key in [_key_like(name)] if key in KNOWN_KEYS]
    if misnamed:
        raise InvalidInput(f"line {number}: " + "; ".join(f"column {name!r} should be {key!r}" for name, key in misnamed)
                           + " (header names are the import keys: lower case, with underscores)")


def misnamed_keys(value: Any) -> InvalidInput | None:
    """A JSON line whose keys are import keys in another spelling (``Command``, ``valid-until``)."""
    if not isinstance(value, dict):
        return None
    misnamed = [(name, key) for name in value if isinstance(name, str) and name not in KNOWN_KEYS
                for key in [_key_like(name)] if key in KNOWN_KEYS and key not in value]
    if not misnamed:
        return None
    return InvalidInput("; ".join(f"key {name!r} should be {key!r}" for name, key in misnamed)
                        + " (import keys are lower case, with underscores)")


def _key_like(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def _csv_value(name: str, cell: str) -> Any:
    if name == "finding":
        return cell.split(FINDING_SEPARATOR)
    return cell


def read_lines(stream: IO[bytes], fmt: str | None) -> tuple[LineReader, Iterator[tuple[int, Any]]]:
    """The lines of ``stream`` in ``fmt``; None (nothing named the format): decided by the first line."""
    reader = LineReader(stream)
    if fmt is None:
        fmt = format_by_content(reader.peek())
    lines = csv_lines(reader) if fmt == "csv" else jsonl_commands(reader)
    return reader, lines


# ---------------------------------------------------------------- writing


def write_jsonl(lines: Iterable[dict[str, Any]], out: IO[str]) -> int:
    count = 0
    for line in lines:
        out.write(json.dumps(line, ensure_ascii=False))
        out.write("\n")
        count += 1
    return count


def write_csv(lines: Iterable[dict[str, Any]], out: IO[str]) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for line in lines:
        writer.writerow([_csv_cell(line, name) for name in EXPORT_COLUMNS])
        count += 1
    return count


def _csv_cell(line: dict[str, Any], name: str) -> Any:
    value = line.get(name)
    if value is None:
        return ""
    if name == "finding" and isinstance(value, list):  # an audit's findings (close-finding's is one id)
        if any(FINDING_SEPARATOR in finding for finding in value):
            raise InvalidInput(f"position {line.get('position')}: a finding contains '{FINDING_SEPARATOR}', "
                               "which a CSV cell cannot carry; export as JSON Lines instead")
        return FINDING_SEPARATOR.join(value)
    return value
