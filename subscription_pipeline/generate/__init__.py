"""Synthetic landing-zone generator: Segment S3 logs and Engage CSV uploads, deterministic."""

from subscription_pipeline.generate.landing_zone import GenerateSummary, generate_landing_zone

__all__ = ["GenerateSummary", "generate_landing_zone"]
