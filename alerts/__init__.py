"""Alerting: match stored stories to topics, render digests, hand them to a mail transport."""
