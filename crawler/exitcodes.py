"""How a crawl process says it had to stop: close reasons and exit codes.

Scrapy's ``crawl`` exits 0 whatever made the spider close (and 1 only when the
crawl could not start). wirewatch's ``crawl`` command (``crawler/commands``)
exits with the code below when the spider closed for one of these reasons, and
the runner writes the meaning on the crawl run: the crawl may not have been
able to write it there itself (a full disk). No Scrapy import here: the runner
is used by processes that never load Scrapy.
"""

from __future__ import annotations

DATABASE_FULL = "database_full"

# Close reason -> exit code, and exit code -> what the runner records.
EXIT_CODES = {DATABASE_FULL: 3}
MEANINGS = {3: "the database disk is full"}
