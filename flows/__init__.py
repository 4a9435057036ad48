"""Flows: Prefect orchestration of extract -> transform -> validate -> load -> export."""
