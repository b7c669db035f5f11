"""wirewatch: watch the news on a beat and email subscribers when new matching stories appear."""

__version__ = "0.1.0"
