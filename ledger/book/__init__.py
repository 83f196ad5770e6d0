"""The book: the one writer (load, decide, persist), its signature pool, batch ingest and upgrades."""
