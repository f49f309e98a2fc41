"""Subscription-state pipeline: marketing consent per email address and phone number."""
