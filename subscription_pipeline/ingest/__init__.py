"""Reading and validating inputs into the observation store."""
