"""What each column of an upload's header is for, or why the header rejects the upload.

Names are compared trimmed and case-insensitively. `<group>_subscription_status` for any group
other than a channel is an email subscription group, named in lower case. The consent-evidence
columns (`csv_evidence.CONSENT_COLUMNS`) are valid in any upload and judged by no vector.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from subscription_pipeline.errors import FileError
from subscription_pipeline.ingest.csv_errors import UploadRejected
from subscription_pipeline.ingest.csv_evidence import CONSENT_COLUMNS
from subscription_pipeline.ingest.csv_read import field_column
from subscription_pipeline.vocabulary import (
    CHANNEL_STATUS_COLUMNS,
    GROUP_COLUMN_SUFFIX,
    IDENTIFIER_COLUMNS,
)

# The identifier column that a vector's statuses need.
VECTOR_KEYS = {"email": "email", "phone": "phone"}


@dataclass(frozen=True)
class StatusColumn:
    column: str  # frame column (`c<i>`)
    name: str  # header field as written in the file
    vector: str  # 'email' | 'phone'
    channel: str
    group: str | None  # None = the channel itself


@dataclass(frozen=True)
class CsvLayout:
    header: tuple[str, ...]
    identifiers: dict[str, str]  # 'email'|'phone'|'user_id'|'anonymous_id' -> frame column
    identifier_names: dict[str, str]  # the same -> header field as written in the file
    statuses: tuple[StatusColumn, ...]
    consent: dict[str, str]  # consent column name (lower case) -> frame column

    def vector_statuses(self, vector: str) -> tuple[StatusColumn, ...]:
        return tuple(status for status in self.statuses if status.vector == vector)


def _status_column(position: int, raw: str, name: str) -> StatusColumn | None:
    column = field_column(position)
    if name in CHANNEL_STATUS_COLUMNS:
        channel = CHANNEL_STATUS_COLUMNS[name]
        vector = "email" if channel == "email" else "phone"
        return StatusColumn(column, raw, vector, channel, None)
    group = name.removesuffix(GROUP_COLUMN_SUFFIX)
    if name.endswith(GROUP_COLUMN_SUFFIX) and group.strip():
        return StatusColumn(column, raw, "email", "email", group.strip())
    return None


def classify_header(header: list[str]) -> CsvLayout:
    """The layout of a valid header; UploadRejected (rows_in 0) for an invalid one."""
    names = [field.strip().lower() for field in header]
    blank = [i + 1 for i, name in enumerate(names) if not name]
    if blank:
        raise UploadRejected(FileError.EMPTY_HEADER, f"header field {blank[0]} is blank")
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    if repeated:
        raise UploadRejected(FileError.DUPLICATE_HEADER, f"column {repeated[0]!r} appears twice")
    identifiers: dict[str, str] = {}
    identifier_names: dict[str, str] = {}
    statuses: list[StatusColumn] = []
    consent: dict[str, str] = {}
    for position, (raw, name) in enumerate(zip(header, names, strict=True)):
        if name in IDENTIFIER_COLUMNS:
            identifiers[name] = field_column(position)
            identifier_names[name] = raw
            continue
        if name in CONSENT_COLUMNS:
            consent[name] = field_column(position)
            continue
        status = _status_column(position, raw, name)
        if status is None:
            raise UploadRejected(
                FileError.UNKNOWN_COLUMN,
                f"column {raw!r} is neither an identifier ({', '.join(IDENTIFIER_COLUMNS)}), "
                f"a consent column ({', '.join(CONSENT_COLUMNS)}) "
                f"nor a status column (*{GROUP_COLUMN_SUFFIX})",
            )
        statuses.append(status)
    if "email" not in identifiers and "phone" not in identifiers:
        raise UploadRejected(
            FileError.NO_CONTACT_COLUMN, "the header has neither an email nor a phone column"
        )
    for status in statuses:
        if VECTOR_KEYS[status.vector] not in identifiers:
            raise UploadRejected(
                FileError.MISSING_CONTACT_COLUMN,
                f"column {status.name!r} needs a {VECTOR_KEYS[status.vector]!r} column",
            )
    return CsvLayout(tuple(header), identifiers, identifier_names, tuple(statuses), consent)
