"""Lessons: recordings, their upload (tus and simple), ingest, sharing and media serving."""
