"""Error and warning codes, as SPEC sections 2 and 3 name them."""

from __future__ import annotations

from enum import StrEnum


class FileError(StrEnum):
    """A defect that rejects a whole file: nothing from it is applied."""

    EMPTY_FILE = "EMPTY_FILE"
    INVALID_ENCODING = "INVALID_ENCODING"
    CSV_PARSE_ERROR = "CSV_PARSE_ERROR"
    EMPTY_HEADER = "EMPTY_HEADER"
    DUPLICATE_HEADER = "DUPLICATE_HEADER"
    UNKNOWN_COLUMN = "UNKNOWN_COLUMN"
    NO_CONTACT_COLUMN = "NO_CONTACT_COLUMN"
    MISSING_CONTACT_COLUMN = "MISSING_CONTACT_COLUMN"
    TOO_MANY_ROWS = "TOO_MANY_ROWS"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    NOT_A_REGULAR_FILE = "NOT_A_REGULAR_FILE"
    CORRUPT_FILE = "CORRUPT_FILE"
    # A folder under segment-logs/<source>/ that is not a received day, or a day outside the
    # log partitions: rejected on its own, the other days go on.
    INVALID_DAY_FOLDER = "INVALID_DAY_FOLDER"
    DAY_OUT_OF_RANGE = "DAY_OUT_OF_RANGE"


class RecordError(StrEnum):
    """A defect of one row, line or entry: only that contact vector is rejected."""

    INVALID_EMAIL = "INVALID_EMAIL"
    INVALID_PHONE = "INVALID_PHONE"
    INVALID_SUBSCRIPTION_STATUS = "INVALID_SUBSCRIPTION_STATUS"
    MISSING_IDENTIFIER = "MISSING_IDENTIFIER"
    INVALID_JSON = "INVALID_JSON"
    INVALID_CHANNEL = "INVALID_CHANNEL"
    INVALID_GROUP = "INVALID_GROUP"
    INVALID_MESSAGE = "INVALID_MESSAGE"
    # messaging_subscriptions (or an EMAIL entry's groups) of the wrong JSON type.
    INVALID_SUBSCRIPTIONS = "INVALID_SUBSCRIPTIONS"
    VALUE_TOO_LONG = "VALUE_TOO_LONG"  # a CSV cell of no vector (user_id, consent_*) over the limit


class RepairWarning(StrEnum):
    """A defect that was repaired: the record is applied and the repair recorded."""

    MISSING_TIMESTAMP = "MISSING_TIMESTAMP"
    INVALID_TIMESTAMP = "INVALID_TIMESTAMP"
    FUTURE_TIMESTAMP = "FUTURE_TIMESTAMP"
    # receivedAt after the end of its received-day folder: clamped to that end.
    FUTURE_RECEIVED_AT = "FUTURE_RECEIVED_AT"


class Reason(StrEnum):
    """Why a replay step was blocked or ignored (SPEC 3)."""

    UNABLE_TO_SUBSCRIBE = "UNABLE_TO_SUBSCRIBE"
    LOCKED_NO_CHANGE = "LOCKED_NO_CHANGE"
    DNS_AFTER_DECISION = "DNS_AFTER_DECISION"
    GLOBAL_STATE_NOT_SUBSCRIBED = "GLOBAL_STATE_NOT_SUBSCRIBED"
