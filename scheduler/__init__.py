"""The scheduler: decides when crawls and digests happen; one process, one job store."""
