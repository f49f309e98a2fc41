"""Reports written for people: the per-upload error CSV."""
