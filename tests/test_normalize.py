"""Normalisation: batch parsing by parse key gives exactly the per-value results, and the
warehouse cache parses each raw value once."""

from __future__ import annotations

import multiprocessing
import multiprocessing.queues
from pathlib import Path

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subscription_pipeline import normalize
from subscription_pipeline.normalize import (
    compact_phone,
    fill_normalization_cache,
    is_valid_nanp_number,
    normalize_email,
    normalize_phone,
    normalize_values,
    parse_values,
)
from subscription_pipeline.warehouse.connection import connect
from tests.hypothesis_profiles import examples

EMAILS = [
    "Jo@Example.COM",
    " jo@example.com ",
    "JO@EXAMPLE.COM",
    "jo@example.com",
    "\tjo@example.com\n",
    "not-an-email",
    "two@@example.com",
    "",
    "   ",
    "a..b@example.com",
    "ÉLODIE@exämple.fr",
]
PHONES = [
    "(201) 200-5858",
    "201.200.5858",
    "1-201-200-5858",
    "+1 201 200 5858",
    "+1 (201) 200-5858",
    "+12012005858",
    " 201-200-5858 ",
    "555",
    "0 8",
    "555-0100",
    "+44 20 7946 0958",
    "020 7946 0958",
    "+1 201 200 5858 ext. 12",
    "201-200-5858#",
    "1-800-FLOWERS",
    "++1 201 200 5858",
    "2 4 (77+1081657",
    "(((201)))",
    "",
]


@pytest.mark.parametrize("region", ["US", "GB", "DE"])
def test_batch_parse_equals_each_value_parsed_alone(region: str) -> None:
    assert parse_values("email", EMAILS, region) == [normalize_email(e) for e in EMAILS]
    assert parse_values("phone", PHONES, region) == [normalize_phone(p, region) for p in PHONES]


@pytest.mark.parametrize("region", ["US", "GB"])
def test_spread_parse_equals_the_serial_parse(region: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Slices parsed by spawned workers come back complete and in order."""
    monkeypatch.setattr(normalize, "PARALLEL_MIN_PHONES", 10)
    values = [f"{spelling} {i}" if i % 3 == 0 else spelling for i, spelling in enumerate(PHONES)]
    values = values * 7 + [f"+1 201 200 {5800 + i:04d}" for i in range(40)]
    serial = parse_values("phone", values, region)
    assert normalize.parse_values_spread("phone", values, region, cores=3) == serial
    assert normalize.parse_values_spread("phone", values[:1], region, cores=3) == serial[:1]
    assert any(result[0] for result in serial) and any(result[1] for result in serial)


def _spread_in_a_daemon(values: list[str], results: multiprocessing.queues.Queue) -> None:
    normalize.PARALLEL_MIN_PHONES = 10  # this forked process's copy only
    try:
        results.put(normalize.parse_values_spread("phone", values, "US", cores=3))
    except BaseException as exc:  # the parent asserts on what came back
        results.put(repr(exc))


def test_spread_parse_in_a_daemon_process_parses_serially() -> None:
    """A Celery pool process is a daemon and may not start workers: it parses alone."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    values = PHONES * 3
    worker = context.Process(target=_spread_in_a_daemon, args=(values, results), daemon=True)
    worker.start()
    got = results.get(timeout=120)
    worker.join(timeout=60)
    assert got == parse_values("phone", values, "US")


def test_compact_phone_only_for_well_formed_spellings() -> None:
    assert compact_phone(" +1 (201) 200-5858 ") == "+12012005858"
    assert compact_phone("201.200.5858") == "2012005858"
    assert compact_phone("2 4 (77+1081657") is None  # a plus inside: parsed as written
    assert compact_phone("201--200-5858") is None  # doubled separator
    assert compact_phone("0 8") is None  # too short to be a number
    assert compact_phone("1-800-FLOWERS") is None


_GROUP = st.text("0123456789", min_size=1, max_size=5).map(
    lambda digits: digits if len(digits) % 3 else f"({digits})"
)
_SPELLING = st.builds(
    lambda plus, parts, last: plus + "".join(g + sep for g, sep in parts) + last,
    st.sampled_from(["", "+", " +"]),
    st.lists(st.tuples(_GROUP, st.sampled_from(["", " ", "-", "."])), min_size=1, max_size=4),
    _GROUP,
)
_NANP = st.builds(
    lambda prefix, a, b, c, fmt: prefix + fmt.format(a=a, b=b, c=c),
    st.sampled_from(["", "1", "1-", "+1 ", "+1", "+44 ", "0"]),
    st.from_regex(r"[2-9]\d\d", fullmatch=True),
    st.from_regex(r"[2-9]\d\d", fullmatch=True),
    st.from_regex(r"\d{4}", fullmatch=True),
    st.sampled_from(["({a}) {b}-{c}", "{a}.{b}.{c}", "{a}-{b}-{c}", "{a}{b}{c}", "{a} {b} {c}"]),
)


def test_the_nanp_shortcut_relies_on_the_us_being_tried_first_by_validity() -> None:
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1]
    assert regions[0] == "US"
    assert phonenumbers.PhoneMetadata.metadata_for_region("US").leading_digits is None


@settings(max_examples=examples(500), deadline=None)
@given(
    st.one_of(
        st.integers(0, 10**10 - 1),
        # Caribbean and Canadian area codes, whose regions come after the US.
        st.builds(
            lambda area, rest: area * 10**7 + rest,
            st.sampled_from(
                [
                    204,
                    226,
                    242,
                    246,
                    264,
                    268,
                    284,
                    340,
                    441,
                    473,
                    649,
                    658,
                    671,
                    684,
                    721,
                    758,
                    767,
                    784,
                    787,
                    809,
                    829,
                    849,
                    868,
                    869,
                    876,
                    939,
                ]
            ),
            st.integers(0, 10**7 - 1),
        ),
    )
)
def test_nanp_validity_shortcut_equals_libphonenumber(national_number: int) -> None:
    number = phonenumbers.PhoneNumber(country_code=1, national_number=national_number)
    assert is_valid_nanp_number(number) == phonenumbers.is_valid_number(number)


@settings(max_examples=examples(300), deadline=None)
@given(
    st.lists(st.one_of(_SPELLING, _NANP), min_size=1, max_size=8),
    st.sampled_from(["US", "CA", "GB", "DE", "IT", "BR", "AU", "IN"]),
)
def test_phone_parse_keys_never_change_a_result(spellings: list[str], region: str) -> None:
    assert parse_values("phone", spellings, region) == [
        normalize_phone(s, region) for s in spellings
    ]


_LABEL = st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,12}[a-zA-Z0-9])?", fullmatch=True)
_ADDRESS = st.builds(
    lambda pad, local, labels, tld, end: f"{pad}{local}@{'.'.join(labels)}.{tld}{end}",
    st.sampled_from(["", " ", "\t"]),
    st.from_regex(r"[a-zA-Z0-9_+-]{1,8}(\.[a-zA-Z0-9_+.-]{1,8}){0,3}", fullmatch=True),
    st.lists(
        st.one_of(_LABEL, st.sampled_from(["xn--bcher-kva", "a--b", "local", "test"])),
        min_size=1,
        max_size=4,
    ),
    st.one_of(
        st.from_regex(r"[a-zA-Z]{1,26}", fullmatch=True),
        st.sampled_from(["arpa", "invalid", "local", "localhost", "onion", "test", "c0m", "123"]),
    ),
    st.sampled_from(["", " ", "\n"]),
)


@settings(max_examples=examples(500), deadline=None)
@given(st.lists(_ADDRESS, min_size=1, max_size=6))
def test_plain_email_shortcut_equals_email_validator(addresses: list[str]) -> None:
    """Addresses near the shortcut's edges (lengths, special-use names, hyphens, dots, Punycode
    labels, odd TLDs) normalise exactly as email-validator alone would."""
    assert parse_values("email", addresses) == [normalize_email(a) for a in addresses]


def test_cache_parses_each_new_value_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    con = connect(tmp_path / "w.duckdb")
    calls: list[str] = []
    original = normalize._normalize_email_fast
    monkeypatch.setattr(
        normalize, "_normalize_email_fast", lambda raw: calls.append(raw) or original(raw)
    )
    con.execute("CREATE TEMP TABLE raws AS SELECT unnest(?) AS raw", [[*EMAILS, None]])
    parsed = fill_normalization_cache(con, "email", "SELECT raw FROM raws")
    assert parsed == len(set(EMAILS))
    # Case and surrounding spaces share one parse; the cache still keys every raw spelling.
    assert calls.count("jo@example.com") == 1
    cached = dict(
        con.execute(
            "SELECT raw, (normalized, error_message) FROM normalized_identifiers "
            "WHERE kind = 'email' AND region = ''"
        ).fetchall()
    )
    assert cached == {e: normalize_email(e) for e in EMAILS}
    calls.clear()
    assert fill_normalization_cache(con, "email", "SELECT raw FROM raws") == 0
    assert calls == []
    # Old and new values together: only the new ones are added, each key stays unique.
    con.execute(
        "INSERT INTO raws VALUES ('new@example.com'), ('new@example.com'), (' Jo@Example.COM')"
    )
    assert fill_normalization_cache(con, "email", "SELECT raw FROM raws") == 2
    [(rows, keys)] = con.execute(
        "SELECT count(*), count(DISTINCT (kind, region, raw)) FROM normalized_identifiers"
    ).fetchall()
    assert rows == keys == len(set(EMAILS)) + 2


def test_normalize_values_maps_through_the_cache_per_region(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    raws = ["020 7946 0958", "201.200.5858", "555"]
    us = normalize_values(con, "phone", raws, "US")
    gb = normalize_values(con, "phone", raws, "GB")
    assert dict(us.select("raw", "normalized").rows()) == {
        "020 7946 0958": None,
        "201.200.5858": "+12012005858",
        "555": None,
    }
    assert dict(gb.select("raw", "normalized").rows()) == {
        raw: normalize_phone(raw, "GB")[0] for raw in raws
    }
    assert gb.filter(raw="020 7946 0958")["normalized"].item() == "+442079460958"
    rows = con.execute(
        "SELECT region, count(*) FROM normalized_identifiers GROUP BY ALL"
    ).fetchall()
    assert sorted(rows) == [("GB", 3), ("US", 3)]
