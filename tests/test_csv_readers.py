"""The bulk reader (DuckDB) and the reference reader (Python's csv) agree on every file.

`parse_upload` uses the bulk reader when it answers; each odd file below must give exactly the
reference reader's header and rows, or its file-level error (code, message, row count).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subscription_pipeline.ingest.csv_errors import UploadRejected
from subscription_pipeline.ingest.csv_fallback import check_row_count, read_records
from subscription_pipeline.ingest.csv_fast import read_fast
from subscription_pipeline.ingest.csv_read import parse_upload
from tests.hypothesis_profiles import examples

MAX_ROWS = 1000


def _outcome(read) -> tuple:
    """(header, rows) of a read, or (code, message, rows_in) of its file-level error."""
    try:
        header, frame = read()
    except UploadRejected as error:
        return (error.code.value, error.message, error.rows_in)
    return (header, frame.rows())


def _parsed(data: bytes) -> tuple:
    def read():
        upload = parse_upload(data, MAX_ROWS)
        return upload.header, upload.rows.drop("row_number")

    return _outcome(read)


def _reference(data: bytes) -> tuple:
    return _outcome(lambda: read_records(data, MAX_ROWS))


def _fast(data: bytes) -> tuple | None:
    found = read_fast(data)
    if found is None:
        return None

    def read():
        check_row_count(found[1].height, MAX_ROWS)
        return found

    return _outcome(read)


# name: (content, does the bulk reader answer?)
ODD_FILES = {
    "plain": (b"email,email_subscription_status\na@x.com,true\nb@x.com,false\n", True),
    "crlf": (b"email,phone\r\na@x.com,1\r\nb@x.com,2\r\n", True),
    "bom": (b"\xef\xbb\xbfemail,phone\na@x.com,1\n", True),
    "bom_crlf_quoted_newline": (
        b'\xef\xbb\xbfemail,user_id\r\na@x.com,"one\r\ntwo, three"\r\nb@x.com,\r\n',
        True,
    ),
    "quoted_newlines": (b'email,user_id\na@x.com,"x\n\ny"\n"b@x.com","\n"\n', True),
    "doubled_quotes": (b'email,user_id\na@x.com,"x""y"""\n', True),
    "doubled_quotes_beside_spaces": (b'email,user_id\na@x.com,"say ""hi"""\n', True),
    "spaces_inside_quotes": (b'email,user_id\n" a@x.com "," u1 "\n', True),
    "two_spaces_after_quote": (b'email,phone\n"a@x.com"  ,1\n', False),
    "space_then_empty_quotes": (b'email,phone\na@x.com, ""\n', False),
    "trailing_empty_field_too_many": (b"email,phone\na@x.com,1,\nb@x.com,2\n", False),
    "last_field_empty": (b'email,phone\na@x.com,\nb@x.com,""\n', True),
    "quoted_commas": (b'email,user_id\n"a,b@x.com","1,2,"\n', True),
    "quote_inside_unquoted": (b'email,user_id\na@x.com,x"y\n', True),
    "no_final_newline": (b"email,phone\na@x.com,1", True),
    "empty_lines": (b"\n\nemail,phone\n\na@x.com,1\n\n\nb@x.com,2\n\n", True),
    "empty_fields": (b'email,phone\n,\n"",""\na@x.com,\n', True),
    "header_only": (b"email,phone\n", True),
    "lone_cr": (b"email,phone\ra@x.com,1\rb@x.com,2\r", False),
    "lone_cr_beside_crlf": (b'a,"b\r\nc"\r \t,x\r', False),
    "mixed_line_ends": (b"email,phone\na@x.com,1\r\nb@x.com,2\n", False),
    "ragged_short": (b"email,phone\na@x.com\nb@x.com,2\n", False),
    "ragged_long": (b"email,phone\na@x.com,1,2\n", False),
    "ragged_after_quoted_newline": (b'email,phone\n"a@x.com","1\n2"\nb@x.com\n', False),
    "spaces_line": (b"email,phone\na@x.com,1\n   \nb@x.com,2\n", False),
    "tab_line": (b"email,phone\n\t\na@x.com,1\n", False),
    "space_before_quote": (b'email,phone\n "a@x.com",1\n', False),
    "space_after_quote": (b'email,phone\n"a@x.com" ,1\n', False),
    "text_after_quote": (b'email,phone\n"a@x.com"x,1\n', False),
    "open_quote": (b'email,phone\n"a@x.com,1\n', False),
    "invalid_utf8": (b"email,phone\na@x.com,\xff\n", False),
    "utf8_surrogate": (b"email,phone\na@x.com,\xed\xa0\x80\n", False),
    "one_column": (b'email\na@x.com\n\n  \n""\nb@x.com\n', False),
    "empty": (b"", False),
    "only_blank_lines": (b"\n  \n\r\n", False),
    "big_cell": (b"email,user_id\na@x.com," + b"u" * 300_000 + b"\nb@x.com,u2\n", True),
    "huge_cell": (b"email,user_id\na@x.com," + b"u" * 3_000_000 + b"\n", False),
    "nul_byte": (b"email,phone\na@x.com,1\x00\n", True),
}


@pytest.mark.parametrize("name", list(ODD_FILES))
def test_bulk_and_reference_readers_agree(name: str) -> None:
    content, bulk_answers = ODD_FILES[name]
    assert (read_fast(content) is not None) == bulk_answers
    assert _parsed(content) == _reference(content)


def test_too_many_rows_is_the_same_on_both_paths() -> None:
    content = b"email,phone\n" + b"a@x.com,1\n" * (MAX_ROWS + 3)
    assert read_fast(content) is not None
    assert (
        _parsed(content)
        == _reference(content)
        == (
            "TOO_MANY_ROWS",
            f"{MAX_ROWS + 3} data rows, over the limit of {MAX_ROWS}",
            MAX_ROWS + 3,
        )
    )


# Small pieces that make every CSV corner likely: quotes, separators, line ends, spaces, BOMs.
PIECES = ["a", "b", ",", '"', '""', "\n", "\r\n", "\r", " ", "\t", "é", "\ufeff", "x,y\n"]


@settings(max_examples=examples(200), deadline=None)
@given(
    header=st.sampled_from(["e,p\n", "e,p,q\n", "\ufeffe,p\r\n", "e\n", "\n e,p\n"]),
    body=st.lists(st.sampled_from(PIECES), max_size=30).map("".join),
)
def test_bulk_reader_never_disagrees_with_the_reference(header: str, body: str) -> None:
    data = (header + body).encode("utf-8")
    fast = _fast(data)
    if fast is not None:
        assert fast == _reference(data)
    assert _parsed(data) == _reference(data)
