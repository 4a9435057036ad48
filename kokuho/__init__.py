"""kokuho-survey: ingest, validate and aggregate prefectures' 国保 measure surveys."""

__version__ = "0.1.0"
