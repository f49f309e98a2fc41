"""The DuckDB warehouse: its schema, connections and the single-writer rule."""
