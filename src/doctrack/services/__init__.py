"""Use cases; one database transaction per use case."""
