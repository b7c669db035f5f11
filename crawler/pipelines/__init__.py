"""Item pipelines, one job each: normalise → deduplicate → store → match topics."""
