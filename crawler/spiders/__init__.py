"""Spiders: they fetch and parse, and yield items; nothing here writes to the database."""
