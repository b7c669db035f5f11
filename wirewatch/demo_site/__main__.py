"""``python -m wirewatch.demo_site`` is the same as ``python -m wirewatch.demo_site.server``."""

from wirewatch.demo_site.server import main

main()
