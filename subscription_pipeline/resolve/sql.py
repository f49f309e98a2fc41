"""The resolution's SQL files: the replay's statements and engine.sql's named sections."""

from __future__ import annotations

from subscription_pipeline.warehouse.sql_file import SqlFile

PACKAGE = "subscription_pipeline.resolve"
ENGINE = SqlFile(PACKAGE, "engine.sql")
