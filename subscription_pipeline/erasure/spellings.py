"""Every spelling of a contact that a file or a table may hold (searched case-insensitively)."""

from __future__ import annotations

import duckdb
import phonenumbers


def contact_spellings(contact: str, con: duckdb.DuckDBPyConnection | None = None) -> list[str]:
    """The normalised contact, its usual phone formats, and every raw spelling the warehouse's
    normalisation cache maps to it; lower-cased, longest first."""
    found = {contact.lower()}
    if not contact.count("@"):
        number = phonenumbers.parse(contact, None)
        for style in (
            phonenumbers.PhoneNumberFormat.NATIONAL,
            phonenumbers.PhoneNumberFormat.INTERNATIONAL,
        ):
            found.add(phonenumbers.format_number(number, style).lower())
        found.add(contact.lstrip("+"))
        found.add(str(number.national_number))
    if con is not None:
        rows = con.execute(
            "SELECT DISTINCT lower(trim(raw)) FROM normalized_identifiers WHERE normalized = ?",
            [contact],
        ).fetchall()
        found.update(raw for (raw,) in rows if raw)
    return sorted(found, key=lambda s: (-len(s), s))
