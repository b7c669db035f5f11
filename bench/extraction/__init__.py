"""Benchmarks for article extraction: quality against ground truth and pages per second."""
