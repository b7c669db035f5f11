"""Scrapy settings for wirewatch's crawler.

Scrapy no longer reads environment variables, so this module copies what the
crawler needs from wirewatch's own settings object (environment, config
file, defaults). Network-safety settings come from ``crawler.middlewares``.
"""

from __future__ import annotations

from core.settings import get_settings
from scrapy.settings import default_settings

from crawler.middlewares import safety_settings

_settings = get_settings()

BOT_NAME = "wirewatch"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
# Our `crawl` exits non-zero when the crawl had to stop (crawler/exitcodes.py).
COMMANDS_MODULE = "crawler.commands"

ITEM_PIPELINES = {
    "crawler.pipelines.normalize.NormalizePipeline": 100,
    "crawler.pipelines.dedupe.DedupePipeline": 200,
    "crawler.pipelines.store.StorePipeline": 300,
}
# The two consoles run code inside the crawler process: off by their settings
# (crawler.middlewares) and left out of Scrapy's base list as well, because Scrapy
# imports every extension a setting names, even one set to None, and the
# remote-control server's module imports aiohttp (a fifth of a second of every
# crawl's start).
_consoles = {
    "scrapy.extensions.telnet.TelnetConsole",
    "scrapy.extensions.remote_control.RemoteControl",
}
EXTENSIONS_BASE = {
    path: order for path, order in default_settings.EXTENSIONS_BASE.items() if path not in _consoles
}
EXTENSIONS = {
    "crawler.extensions.CrawlRunRecorder": 500,
}

WIREWATCH_DATABASE_URL = _settings.database_url
WIREWATCH_FOLLOW_ARTICLE_LINKS = _settings.follow_article_links
WIREWATCH_TELEGRAM_BACKFILL_PAGES = _settings.telegram_backfill_pages
WIREWATCH_EXTRACTION_WORKERS = _settings.extraction_workers
WIREWATCH_EXTRACTION_TIME_LIMIT = _settings.extraction_time_limit
WIREWATCH_EXTRACTION_MAX_BYTES = _settings.extraction_max_bytes
WIREWATCH_SOURCE_PAUSE_AFTER_HOURS = _settings.source_pause_after_hours
WIREWATCH_ADAPTIVE_POLLING = _settings.adaptive_polling
WIREWATCH_POLL_MIN_MINUTES = _settings.poll_min_minutes
WIREWATCH_POLL_MAX_MINUTES = _settings.poll_max_minutes
WIREWATCH_POLL_JITTER = _settings.poll_jitter
WIREWATCH_SITEMAP_WINDOW_HOURS = _settings.sitemap_window_hours
WIREWATCH_MAX_NEW_LINKS = _settings.max_new_links_per_source
WIREWATCH_EVENTS_FOLLOW_LOOKBACK_DAYS = _settings.events_follow_lookback_days
WIREWATCH_STORE_BATCH_SIZE = _settings.store_batch_size
WIREWATCH_STORE_BATCH_SECONDS = _settings.store_batch_seconds
# Scrapy starts this many asyncio tasks for every callback's output, however few
# items it yields (an article page yields one). Items of one response past a full
# store batch only wait for that batch, so more than a batch is idle tasks: at most
# a batch, and never more than Scrapy's default of 100.
CONCURRENT_ITEMS = min(_settings.store_batch_size, 100)

FEED_EXPORT_ENCODING = "utf-8"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
LOG_LEVEL = _settings.log_level
# AutoThrottle adapts the delay to each site's latency, starting from the
# configured politeness delay; with no delay configured it stays off.
AUTOTHROTTLE_ENABLED = _settings.download_delay > 0
AUTOTHROTTLE_START_DELAY = _settings.download_delay

globals().update(safety_settings(_settings))

# Distributed crawling: with WIREWATCH_REDIS_URL set, requests are shared
# between crawler processes through scrapy-redis instead of each process
# keeping its own queue.
if _settings.redis_url:
    SCHEDULER = "scrapy_redis.scheduler.Scheduler"
    DUPEFILTER_CLASS = "scrapy_redis.dupefilter.RFPDupeFilter"
    SCHEDULER_PERSIST = True
    REDIS_URL = _settings.redis_url
