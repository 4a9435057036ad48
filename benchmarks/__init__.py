"""Benchmarks: tools that measure the pipeline; not part of the product."""
