"""Long work (ingest, clips, reels) as jobs: a ``jobs`` table, ``enqueue()``, and workers."""
