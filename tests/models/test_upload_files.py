"""Reading conversion files: rows become postback queries; only the file's shape is judged."""

from urllib.parse import parse_qsl

import pytest

from models.upload_files import (
    MAX_FILE_BYTES,
    MAX_LINE_BYTES,
    MAX_ROWS,
    UploadFileError,
    read_upload,
)


def _params(query: str) -> dict[str, str]:
    return dict(parse_qsl(query, keep_blank_values=True))


def test_csv_with_bom_crlf_semicolons_and_quotes_reads_each_line_as_a_query():
    upload = read_upload(
        b"\xef\xbb\xbfClick_ID ; Payout;TXID;Status\r\n"
        b'abc;1.50;"T;1";approved\r\n'
        b"\r\n"
        b'def;"2";"say ""hi""";\r\n'
    )
    assert upload.format == "csv"
    assert [row.line for row in upload.rows] == [2, 4]
    assert _params(upload.rows[0].query) == {
        "click_id": "abc",
        "payout": "1.50",
        "txid": "T;1",
        "status": "approved",
    }
    # Empty values are left out, as a postback's empty parameters say nothing.
    assert _params(upload.rows[1].query) == {"click_id": "def", "payout": "2", "txid": 'say "hi"'}


def test_unreadable_lines_are_refused_alone_with_their_line_number():
    upload = read_upload(
        b'clickid,sum\na,"unterminated\nb,1,extra\nc,' + b"9" * MAX_LINE_BYTES + b"\nd,1\n"
    )
    refusals = [(row.line, row.refusal) for row in upload.rows]
    assert refusals == [(2, "bad_row"), (3, "bad_row"), (4, "line_too_long"), (5, None)]
    assert upload.rows[1].refusal_detail == "line 3: 3 values; the header names 2"
    assert upload.rows[1].raw == "b,1,extra"
    # An excerpt only of a long line.
    assert upload.rows[2].raw is not None
    assert len(upload.rows[2].raw) == 512


def test_nul_and_invalid_utf8_are_left_to_the_postback_rules_percent_encoded():
    upload = read_upload(b"clickid,sum\nx\x00y,1\nbad\xff,2\n")
    assert upload.rows[0].query == "clickid=x%00y&sum=1"
    assert upload.rows[1].refusal is None
    assert "%ED%B3%BF" in upload.rows[1].query  # not UTF-8: the postback path refuses it


def test_json_lines_take_numbers_as_written_and_refuse_anything_but_flat_objects():
    upload = read_upload(
        b'{"ClickID": "a", "sum": 1e3, "note": null}\n'
        b"[1]\n"
        b'{"a": {"b": 1}}\n'
        b'{"a": true}\n'
        b'{"a": NaN}\n' + b"[" * 5000 + b"\n"
    )
    assert upload.format == "jsonl"
    assert _params(upload.rows[0].query) == {"clickid": "a", "sum": "1e3"}
    assert [row.refusal for row in upload.rows[1:]] == ["bad_row"] * 5


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_file"),
        (b"\n\r\n  \n", "empty_file"),
        (b"clickid,sum\n", "empty_file"),
        (b"\xff\xfec\x00l\x00", "bad_encoding"),
        (b"click\xff,sum\nx,1\n", "bad_encoding"),
        (b"sum,txid\n1,2\n", "missing_click_id_column"),
        (b"clickid,sum,SUM\nx,1,2\n", "bad_header"),
        (b"clickid,,sum\nx,1,2\n", "bad_header"),
        (b'clickid,"sum\nx,1\n', "bad_header"),
        (
            ("clickid," + ",".join(f"c{i}" for i in range(1000)) + "\nx\n").encode(),
            "too_many_columns",
        ),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(data: bytes, code: str):
    with pytest.raises(UploadFileError) as refused:
        read_upload(data)
    assert refused.value.code == code


def test_limits_on_size_and_rows_refuse_the_file():
    with pytest.raises(UploadFileError, match="split it") as refused:
        read_upload(b"clickid\n" + b"x\n" * (MAX_ROWS + 1))
    assert refused.value.code == "too_many_rows"
    with pytest.raises(UploadFileError) as refused:
        read_upload(b"clickid\n" + b"x" * MAX_FILE_BYTES)
    assert refused.value.code == "file_too_large"
