"""The exception that carries a file-level rejection of a CSV upload (SPEC 2.1)."""

from __future__ import annotations

from subscription_pipeline.errors import FileError


class UploadRejected(Exception):
    """The whole upload is rejected; `rows_in` is the data-row count when it could be counted."""

    def __init__(self, code: FileError, message: str, rows_in: int = 0) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.rows_in = rows_in
