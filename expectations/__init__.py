"""Contracts of the staging tables (column descriptions) and their Great Expectations suites."""
