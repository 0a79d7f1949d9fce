"""Persistence: SQLModel tables, the engine and its transactions, migrations, all SQL."""
