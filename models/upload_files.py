"""Reading a conversion file (CSV or JSON lines) into rows, each the postback query it stands for.

Only the file's shape is judged here: its size, encoding marks, header, and lines that cannot be
read as a row at all. Values are not: each row becomes the URL-encoded query a postback with the
same names would send (invalid UTF-8 and NUL bytes included, percent-encoded), so the postback
path refuses exactly what it refuses for a postback, with the same codes.

A record is one line (LF or CRLF): quoted CSV values may hold delimiters and doubled quotes,
not line breaks. That keeps line numbers exact, and a broken quote or an overlong line spoils
its own line only.
"""

import csv
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

from models.parameter_names import CLICK_ID

MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_ROWS = 200_000
# A postback's query may be 16 kB; a line holding as much is as long as a row may be.
MAX_LINE_BYTES = 16 * 1024
MAX_COLUMNS = 64
MAX_COLUMN_NAME = 64
# How much of a line that cannot be read is kept to show.
RAW_EXCERPT = 512

_DELIMITERS = (",", ";", "\t", "|")
_OTHER_BOMS = {
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}
_UTF8_BOM = b"\xef\xbb\xbf"


class UploadFileError(ValueError):
    """The whole file is refused; nothing of it is stored. ``code`` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class UploadLine:
    line: int
    # The row as a postback query string ("" for a line that could not be read).
    query: str
    raw: str | None = None
    refusal: str | None = None
    refusal_detail: str | None = None


@dataclass(frozen=True, slots=True)
class UploadFile:
    format: str
    digest: str
    rows: list[UploadLine]


def read_upload(data: bytes) -> UploadFile:
    """The file's rows, or an UploadFileError saying why the file as a whole is refused."""
    if len(data) > MAX_FILE_BYTES:
        raise UploadFileError(
            "file_too_large",
            f"the file is {len(data)} bytes; at most {MAX_FILE_BYTES} are taken: split it",
        )
    digest = hashlib.sha256(data).hexdigest()
    for bom, encoding in _OTHER_BOMS.items():
        if data.startswith(bom):
            raise UploadFileError(
                "bad_encoding", f"the file is {encoding}: save it as UTF-8 and upload it again"
            )
    body = data.removeprefix(_UTF8_BOM)
    lines = body.split(b"\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise UploadFileError("empty_file", "the file holds no rows")
    if lines[first].lstrip().startswith(b"{"):
        rows = list(_jsonl_rows(lines))
        file_format = "jsonl"
    else:
        rows = list(_csv_rows(lines, first))
        file_format = "csv"
    if not rows:
        raise UploadFileError("empty_file", "the file holds a header but no rows")
    return UploadFile(format=file_format, digest=digest, rows=rows)


def _count(rows: int) -> None:
    if rows > MAX_ROWS:
        raise UploadFileError("too_many_rows", f"the file has more than {MAX_ROWS} rows: split it")


def _csv_rows(lines: list[bytes], header_at: int) -> list[UploadLine]:
    header_line = lines[header_at].removesuffix(b"\r")
    if len(header_line) > MAX_LINE_BYTES:
        raise UploadFileError(
            "bad_header", f"the header line is longer than {MAX_LINE_BYTES} bytes"
        )
    try:
        header_text = header_line.decode("utf-8")
    except UnicodeDecodeError:
        raise UploadFileError("bad_encoding", "the header line is not valid UTF-8") from None
    delimiter = max(_DELIMITERS, key=header_text.count)
    names = _header(header_text, delimiter)
    rows: list[UploadLine] = []
    for index in range(header_at + 1, len(lines)):
        raw = lines[index].removesuffix(b"\r")
        if not raw.strip():
            continue
        _count(len(rows) + 1)
        rows.append(_csv_row(index + 1, raw, names, delimiter))
    return rows


def _header(text: str, delimiter: str) -> list[str]:
    try:
        fields = next(csv.reader((text,), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise UploadFileError("bad_header", f"the header line cannot be read: {exc}") from None
    if len(fields) > MAX_COLUMNS:
        raise UploadFileError(
            "too_many_columns", f"the header has {len(fields)} columns; at most {MAX_COLUMNS}"
        )
    names = [field.strip().lower() for field in fields]
    for position, name in enumerate(names, start=1):
        if not name or "\x00" in name or len(name) > MAX_COLUMN_NAME:
            raise UploadFileError(
                "bad_header",
                f"column {position} of the header needs a name of 1 to {MAX_COLUMN_NAME} "
                "characters without NUL",
            )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise UploadFileError("bad_header", f"columns named twice: {', '.join(repeated)}")
    if not set(names) & set(CLICK_ID):
        raise UploadFileError(
            "missing_click_id_column",
            f"the header has no click id column: name one {', '.join(CLICK_ID)}",
        )
    return names


def _csv_row(number: int, raw: bytes, names: list[str], delimiter: str) -> UploadLine:
    if len(raw) > MAX_LINE_BYTES:
        return _unreadable(number, raw, "line_too_long", f"longer than {MAX_LINE_BYTES} bytes")
    # Undecodable bytes are carried through to the query, where the postback rules refuse
    # them as they refuse them in a URL.
    text = raw.decode("utf-8", "surrogateescape")
    try:
        fields = next(csv.reader((text,), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        return _unreadable(number, raw, "bad_row", f"the line cannot be read as CSV: {exc}")
    if len(fields) > len(names):
        return _unreadable(
            number, raw, "bad_row", f"{len(fields)} values; the header names {len(names)}"
        )
    return UploadLine(number, _query(zip(names, fields, strict=False)))


def _jsonl_rows(lines: list[bytes]) -> list[UploadLine]:
    rows: list[UploadLine] = []
    for index, line in enumerate(lines):
        raw = line.removesuffix(b"\r")
        if not raw.strip():
            continue
        _count(len(rows) + 1)
        rows.append(_jsonl_row(index + 1, raw))
    return rows


def _jsonl_row(number: int, raw: bytes) -> UploadLine:
    if len(raw) > MAX_LINE_BYTES:
        return _unreadable(number, raw, "line_too_long", f"longer than {MAX_LINE_BYTES} bytes")
    try:
        # Numbers as written, so an amount meets the postback's rules for its text.
        pairs = json.loads(
            raw.decode("utf-8", "surrogateescape"),
            object_pairs_hook=_Pairs,
            parse_int=str,
            parse_float=str,
            parse_constant=_no_constant,
        )
    except (ValueError, RecursionError) as exc:
        return _unreadable(number, raw, "bad_row", f"the line is not a JSON object: {exc}")
    if not isinstance(pairs, _Pairs) or not all(
        isinstance(value, str | None) for _, value in pairs
    ):
        return _unreadable(
            number,
            raw,
            "bad_row",
            "the line must be one flat JSON object of strings, numbers and nulls",
        )
    if len(pairs) > MAX_COLUMNS:
        return _unreadable(number, raw, "bad_row", f"more than {MAX_COLUMNS} fields")
    return UploadLine(
        number,
        _query((name.lower(), value if isinstance(value, str) else "") for name, value in pairs),
    )


class _Pairs(list[tuple[str, object]]):
    """A JSON object's (name, value) pairs, told apart from an array."""


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number")


def _query(pairs: Iterable[tuple[str, str]]) -> str:
    # Empty values say nothing (as in a postback, where the aliases skip them); lone
    # surrogates (undecodable bytes, or \ud800 in JSON) go through as the bytes they stand
    # for, which the postback rules refuse as invalid UTF-8.
    return urlencode(
        [(name, value) for name, value in pairs if value != ""],
        encoding="utf-8",
        errors="surrogatepass",
    )


def _unreadable(number: int, raw: bytes, code: str, detail: str) -> UploadLine:
    excerpt = raw[:RAW_EXCERPT].decode("utf-8", "backslashreplace").replace("\x00", "\\x00")
    return UploadLine(
        number, "", raw=excerpt, refusal=code, refusal_detail=f"line {number}: {detail}"
    )
