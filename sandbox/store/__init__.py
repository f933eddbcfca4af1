"""Persistence: the embedded SQLite registry and the content-addressed code artifacts."""
