"""The synchronous update service (SPEC 2.3): Segment's Public API shape over a durable inbox."""
