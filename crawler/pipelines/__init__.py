"""Item pipelines, one job each: normalise → deduplicate → store.

Matching stories to topics is the first step of every alerts pass
(``alerts.matching.match_all_pending``), not a crawl stage.
"""
