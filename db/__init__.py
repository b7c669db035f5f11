"""Storage: models, engine/session factories, queries and migrations."""
