"""Workflow definitions, their machines and the named guards. No I/O."""
