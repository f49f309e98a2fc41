"""Email and phone normalisation (SPEC 2.4), each distinct raw value parsed once and cached.

The parsers are slow (tens of microseconds a value), so a batch is parsed once per *parse key*,
not once per raw spelling:
- email: `raw.strip().lower()` is all `normalize_email` looks at, so spellings that differ only
  in case or surrounding spaces share one parse (exact by construction);
- email: a plain ASCII address (dot-atom local part, hostname labels, a letters-only TLD that
  is not special-use, 64 characters at most) is its own normalised form: email-validator would
  return it unchanged, so it is not called (tests/test_normalize.py checks the claim on random
  addresses); any other value is validated as before;
- phone: a well-formed number (digits, single ` .-` separators, parenthesised groups, a
  leading `+`) is parsed in its compact form (`+` and digits); its result is taken only when
  that compact form is a valid number, any other raw value is parsed as written. libphonenumber
  drops that punctuation before it reads the digits (tests/test_normalize.py checks the claim);
  spellings that parse to the same number are checked for validity once. A compact North
  American number (`+1` or, in a +1 region, nothing, then ten digits with an area code 2-9) is
  built without the parser, which would read exactly those digits; only its validity is checked.
The cache still holds one row per raw value, so lookups stay a plain join on `raw`.

A batch of at least PARALLEL_MIN_PHONES new phone values (a full rebuild, a backfill) is split
over the machine's cores: libphonenumber is pure Python and DuckDB waits while it runs. The
workers then stay for the life of the process, and smaller batches (PARALLEL_WARM_MIN_PHONES)
are split too.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import duckdb
import phonenumbers
import polars as pl
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

DEFAULT_REGION = "US"

Normalized = tuple[str | None, str | None]

_PHONE_SHAPE = re.compile(r"\+?(?:\d+|\(\d+\))(?:[ .-]?(?:\d+|\(\d+\)))*")
_NON_DIGITS = re.compile(r"\D")
# Already-normal email addresses (lower-case ASCII); see the module docstring.
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,24}"
)
_PLAIN_EMAIL_MAX = 64  # far below every length limit email-validator applies
_SPECIAL_USE_SUFFIXES = tuple("." + name for name in SPECIAL_USE_DOMAIN_NAMES)
# A North American number in compact form: optional "+1", area code 2-9, ten digits in all.
_NANP_COMPACT = re.compile(r"(\+1)?([2-9][0-9]{9})")
_CACHE_SCHEMA = {"raw": pl.String, "normalized": pl.String, "error_message": pl.String}
# Below this many values, starting a worker (~1 s to import the parsers) costs more than it saves.
PARALLEL_MIN_PHONES = 200_000
# Once started, the workers stay for the life of the process (each received day of a backfill
# is a batch): from this many values on, sending them a share is worth it.
PARALLEL_WARM_MIN_PHONES = 50_000
_WORKERS: dict[int, ProcessPoolExecutor] = {}  # by pid: a forked child never uses its parent's


def _first_region_without_leading_digits(country_code: int) -> str | None:
    """The region is_valid_number tries first for `country_code`, if it tries it by validity."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())
    if len(regions) < 2:
        return None
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(regions[0], None)
    return regions[0] if metadata is not None and metadata.leading_digits is None else None


# "US" in the libphonenumber releases we pin; None would only switch the shortcut below off.
_NANP_FIRST_REGION = _first_region_without_leading_digits(1)


def normalize_email(raw: str) -> Normalized:
    """(normalised email, None) or (None, reason). Trimmed, lower-cased, syntax only, no DNS."""
    candidate = raw.strip().lower()
    if not candidate:
        return None, "email is empty"
    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        return None, f"not a valid email address: {exc}"
    return result.normalized.lower(), None


def _plain_email(candidate: str) -> bool:
    """Is the (stripped, lower-cased) candidate an address email-validator returns unchanged?"""
    if len(candidate) > _PLAIN_EMAIL_MAX or not _PLAIN_EMAIL.fullmatch(candidate):
        return False
    domain = candidate.rpartition("@")[2]
    if "--" in domain:  # Punycode ("xn--") and other IDNA-reserved labels: validate them
        return False
    # `domain == d or domain.endswith("." + d)` for every special-use name, in one C call.
    return not ("." + domain).endswith(_SPECIAL_USE_SUFFIXES)


def _normalize_email_fast(candidate: str) -> Normalized:
    return (candidate, None) if _plain_email(candidate) else normalize_email(candidate)


def normalize_phone(raw: str, region: str = DEFAULT_REGION) -> Normalized:
    """(E.164 number, None) or (None, reason); national numbers parse in the default region."""
    return _PhoneBatch(region).normalize(raw)


class _PhoneBatch:
    """normalize_phone for many values: a number already checked is not checked again.

    Validity and the E.164 form depend only on the parsed number's country code and national
    significant number, so spellings that parse to the same number share one check.
    """

    def __init__(self, region: str) -> None:
        self.region = region
        self.checked: dict[tuple, Normalized] = {}
        self.in_nanp_region = phonenumbers.country_code_for_region(region) == 1

    def normalize(self, raw: str) -> Normalized:
        candidate = raw.strip()
        if not candidate:
            return None, "phone is empty"
        try:
            number = phonenumbers.parse(candidate, self.region)
        except phonenumbers.NumberParseException as exc:
            return None, f"not a phone number: {exc}"
        key = (
            number.country_code,
            number.national_number,
            number.italian_leading_zero,
            number.number_of_leading_zeros,
        )
        if key not in self.checked:
            self.checked[key] = (
                (phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None)
                if _is_valid_number(number)
                else (None, f"not a valid phone number in region {self.region}")
            )
        return self.checked[key]

    def nanp(self, compact: str) -> Normalized | None:
        """The result for a compact North American spelling, or None if it is not one."""
        match = _NANP_COMPACT.fullmatch(compact)
        if match is None or (match.group(1) is None and not self.in_nanp_region):
            return None
        key = (1, int(match.group(2)), None, None)
        if key not in self.checked:
            number = phonenumbers.PhoneNumber(country_code=1, national_number=key[1])
            self.checked[key] = (
                ("+1" + match.group(2), None)
                if is_valid_nanp_number(number)
                else (None, f"not a valid phone number in region {self.region}")
            )
        return self.checked[key]


def is_valid_nanp_number(number: phonenumbers.PhoneNumber) -> bool:
    """phonenumbers.is_valid_number of a +1 number, in half the time for a US number.

    is_valid_number finds the number's region first: the regions of +1 are tried in order, and
    the first (US) has no leading-digits pattern, so it is taken exactly when the number is valid
    for it; then the number is checked again for that region. A number valid for the US is
    therefore valid, and only the others need the full search.
    """
    first = _NANP_FIRST_REGION
    if first is not None and phonenumbers.is_valid_number_for_region(number, first):
        return True
    return phonenumbers.is_valid_number(number)


def _is_valid_number(number: phonenumbers.PhoneNumber) -> bool:
    if number.country_code == 1:
        return is_valid_nanp_number(number)
    return phonenumbers.is_valid_number(number)


def compact_phone(raw: str) -> str | None:
    """The `+`-and-digits form of a well-formed phone spelling, or None for any other shape."""
    candidate = raw.strip()
    if not _PHONE_SHAPE.fullmatch(candidate):
        return None
    digits = _NON_DIGITS.sub("", candidate)
    if not 7 <= len(digits) <= 15:  # E.164 lengths; shorter or longer: parse as written
        return None
    return ("+" if candidate.startswith("+") else "") + digits


def _parse_by_key(
    values: list[str], key: Callable[[str], str], parse: Callable[[str], Normalized]
) -> list[Normalized]:
    parsed: dict[str, Normalized] = {}
    results = []
    for value in values:
        k = key(value)
        if k not in parsed:
            parsed[k] = parse(k)
        results.append(parsed[k])
    return results


def parse_values(kind: str, values: list[str], region: str = DEFAULT_REGION) -> list[Normalized]:
    """normalize_email / normalize_phone of each value, each parse key parsed once."""
    if kind == "email":
        return _parse_by_key(values, lambda value: value.strip().lower(), _normalize_email_fast)
    if kind != "phone":
        raise ValueError(f"unknown normalisation kind {kind!r}")
    batch = _PhoneBatch(region)
    compact: dict[str, Normalized] = {}
    results = []
    for value in values:
        short = compact_phone(value)
        if short is not None:
            if short not in compact:
                compact[short] = batch.nanp(short) or batch.normalize(short)
            if compact[short][0] is not None:
                results.append(compact[short])
                continue
        results.append(batch.normalize(value))
    return results


def parse_values_spread(
    kind: str, values: list[str], region: str = DEFAULT_REGION, cores: int | None = None
) -> list[Normalized]:
    """parse_values, with a large phone batch split over `cores` (default: all usable).

    This process parses the first slice while spawned workers parse the others; spawn, not
    fork, because the caller holds DuckDB's threads. The results are parse_values', in order.
    """
    cores = min(cores or _usable_cores(), len(values))
    # A Celery worker's pool process is a daemon, and a daemon may not start processes.
    alone = multiprocessing.current_process().daemon
    warm = os.getpid() in _WORKERS
    least = PARALLEL_WARM_MIN_PHONES if warm else PARALLEL_MIN_PHONES
    if kind != "phone" or cores < 2 or len(values) < least or alone:
        return parse_values(kind, values, region)
    size = -(-len(values) // cores)
    slices = [values[start : start + size] for start in range(0, len(values), size)]
    workers = _workers(len(slices) - 1)
    try:
        rest = [workers.submit(parse_values, kind, part, region) for part in slices[1:]]
        results = parse_values(kind, slices[0], region)
        for future in rest:
            results.extend(future.result())
    except BrokenProcessPool:  # a worker died (killed, out of memory): parse here instead
        _WORKERS.pop(os.getpid(), None)
        return parse_values(kind, values, region)
    return results


def _workers(count: int) -> ProcessPoolExecutor:
    """This process's parser workers, started at the first large batch (shut down at exit)."""
    workers = _WORKERS.get(os.getpid())
    if workers is None:
        context = multiprocessing.get_context("spawn")
        workers = _WORKERS[os.getpid()] = ProcessPoolExecutor(count, mp_context=context)
        atexit.register(workers.shutdown, cancel_futures=True)
    return workers


def _usable_cores() -> int:
    # sched_getaffinity honours a CPU-limited container; it is Linux-only.
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _cache_region(kind: str, region: str) -> str:
    return region if kind == "phone" else ""


def parse_frame(kind: str, raw_values: Iterable[str], region: str = DEFAULT_REGION) -> pl.DataFrame:
    """Each distinct raw value parsed, as rows of the cache table `normalized_identifiers`
    (kind, region, raw, normalized, error_message), without any cache: for a staged partition,
    which holds no warehouse. The results are those the cache would give (the parse is pure)."""
    values = list(dict.fromkeys(raw_values))
    parsed = parse_values_spread(kind, values, region)
    return pl.DataFrame(
        {
            "kind": [kind] * len(values),
            "region": [_cache_region(kind, region)] * len(values),
            "raw": values,
            "normalized": [value for value, _ in parsed],
            "error_message": [error for _, error in parsed],
        },
        schema={"kind": pl.String, "region": pl.String, **_CACHE_SCHEMA},
    )


def fill_normalization_cache(
    con: duckdb.DuckDBPyConnection, kind: str, raw_sql: str, region: str = DEFAULT_REGION
) -> int:
    """Parse and cache every value of column `raw` of a query that the cache does not hold yet.

    `raw_sql` is code without parameters, never data. Only values never seen before reach the
    Python parsers; callers then look values up with a join on normalized_identifiers
    (kind, region, raw). Returns how many values were parsed.
    """
    cache_region = _cache_region(kind, region)
    missing = [
        row[0]
        for row in con.execute(
            f"""
            SELECT DISTINCT q.raw FROM ({raw_sql}) q
            ANTI JOIN (SELECT raw FROM normalized_identifiers WHERE kind = ? AND region = ?) c
              ON c.raw = q.raw
            WHERE q.raw IS NOT NULL
            """,  # raw_sql is code, values are parameters
            [kind, cache_region],
        ).fetchall()
    ]
    if not missing:
        return 0
    parsed = parse_values_spread(kind, missing, region)
    fresh = pl.DataFrame(
        {
            "raw": missing,
            "normalized": [value for value, _ in parsed],
            "error_message": [error for _, error in parsed],
        },
        schema=_CACHE_SCHEMA,
    )
    con.register("_fresh_normalized", fresh)
    try:
        con.execute(
            # `missing` holds distinct values the table lacks: a plain insert keeps keys unique.
            "INSERT INTO normalized_identifiers "
            "SELECT ?, ?, raw, normalized, error_message FROM _fresh_normalized",
            [kind, cache_region],
        )
    finally:
        con.unregister("_fresh_normalized")
    return len(missing)


def cached_values(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    raw_values: Iterable[str],
    region: str = DEFAULT_REGION,
) -> pl.DataFrame:
    """raw -> (normalized, error_message) of the values the cache holds (a read, no write)."""
    wanted = pl.DataFrame({"raw": list(raw_values)}, schema={"raw": pl.String}).unique()
    con.register("wanted_raw", wanted)
    try:
        return _cached(con, kind, region)
    finally:
        con.unregister("wanted_raw")


def _cached(con: duckdb.DuckDBPyConnection, kind: str, region: str) -> pl.DataFrame:
    # duckdb 2: `.pl()` lives on relations (con.sql), no longer on execute() results.
    return con.sql(
        """
        SELECT w.raw, c.normalized, c.error_message
        FROM wanted_raw w
        JOIN normalized_identifiers c ON c.raw = w.raw AND c.kind = ? AND c.region = ?
        """,
        params=[kind, _cache_region(kind, region)],
    ).pl()


def normalize_values(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    raw_values: Iterable[str],
    region: str = DEFAULT_REGION,
) -> pl.DataFrame:
    """Map raw -> (normalized, error_message) through the warehouse's cache table.

    Only values never seen before reach the Python parsers; the rest come from the cache.
    """
    wanted = pl.DataFrame({"raw": list(raw_values)}, schema={"raw": pl.String}).unique()
    con.register("wanted_raw", wanted)
    try:
        fill_normalization_cache(con, kind, "SELECT raw FROM wanted_raw", region)
        return _cached(con, kind, region)
    finally:
        con.unregister("wanted_raw")
