"""Co-production measurement pipeline: survey exports in, suppressed Parquet marts out."""
