"""Serialise cluster decisions between processes that may see each other's copies.

Two crawler processes storing two copies of one agency report at the same
moment would each look up the band index, see nothing (the other's insert is
not committed yet) and each create a cluster: the story would appear twice.

* PostgreSQL: before the lookup, the transaction takes transaction-scoped
  advisory locks on its band keys (``queries.lock_and_read_cluster``), in
  sorted order (so two transactions cannot deadlock on them). Two
  near-duplicates share at least one band, so
  the second waits until the first commits; under READ COMMITTED (the
  default) its lookup then sees the first one's bands and joins its cluster.
  Stories with no band in common never wait for each other.
* SQLite: the engines made by ``db.session.make_engine`` begin every
  transaction with ``BEGIN IMMEDIATE``, so writers are already serialised and
  each sees everything committed before it started.

Under REPEATABLE READ or SERIALIZABLE on PostgreSQL the snapshot is older than
the lock, so the guarantee above does not hold; keep the store transaction at
READ COMMITTED.
"""

from __future__ import annotations

# High 32 bits of every dedup advisory lock key, so other advisory-lock users
# (with their own namespace) cannot collide with ours.
LOCK_NAMESPACE = 0x5D1B_0001  # fits a signed 32-bit int


def lock_keys(bands: tuple[int, ...]) -> list[int]:
    """Signed 32-bit lock keys, one per (band, hash), sorted; unrelated stories rarely share one."""
    keys = set()
    for band, value in enumerate(bands):
        mixed = (value ^ (band * 0x9E3779B97F4A7C15)) & 0xFFFF_FFFF
        keys.add(mixed - (1 << 32) if mixed >= 1 << 31 else mixed)
    return sorted(keys)
