"""Resolution: the stored observations replayed into subscription state and its history (SPEC 3)."""
