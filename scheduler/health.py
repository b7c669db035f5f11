"""Container health check: healthy while some scheduler holds a live lease."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from core.settings import get_settings
from db.session import make_engine, make_sessionmaker

from scheduler.lease import current_holder


def main() -> int:
    engine = make_engine(get_settings().database_url)
    try:
        holder = current_holder(make_sessionmaker(engine))
    finally:
        engine.dispose()
    if holder is None or holder[1] <= datetime.now(UTC):
        print("no scheduler holds a live lease", file=sys.stderr)
        return 1
    print(f"lease held by {holder[0]} until {holder[1].isoformat()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
