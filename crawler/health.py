"""Container health check of a crawler worker: the Redis queue it takes work from answers."""

from __future__ import annotations

import sys

import redis
from core.settings import get_settings

from crawler.worker import JOBS_KEY, QUEUE_KEY


def main() -> int:
    url = get_settings().redis_url
    if not url:
        print("WIREWATCH_REDIS_URL is not set: a crawler worker has no queue", file=sys.stderr)
        return 1
    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        jobs, requests = client.llen(JOBS_KEY), client.zcard(QUEUE_KEY)
    except redis.RedisError as exc:
        print(f"Redis does not answer: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    print(f"queue: {jobs} crawl job(s), {requests} request(s) waiting")
    return 0


if __name__ == "__main__":
    sys.exit(main())
