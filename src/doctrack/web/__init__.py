"""The web UI and the REST API (``doctrack serve``): an interface over the same use cases as
the command line. Imported only by ``serve`` and by uvicorn, never by other commands."""
