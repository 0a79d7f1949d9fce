"""A draft's bytes as a download."""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi import Response

#: A download is never a page: should a browser show it anyway, nothing in it runs.
DOWNLOAD_CSP = "default-src 'none'; sandbox"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_name(filename: str) -> str:
    """The last part of ``filename`` (after any ``/`` or ``\\``), in letters, digits,
    ``.``, ``_`` and ``-`` only, not starting with a dot: ``revision`` if nothing is left."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return _UNSAFE.sub("_", base).lstrip(".") or "revision"


def download(filename: str, content: bytes) -> Response:
    """``content`` as an attachment of type octet-stream: never shown inline, whatever the
    file holds; the name in UTF-8 (RFC 6266, every special character percent-encoded, so
    no quote, CR or LF reaches the header), with an ASCII stand-in for old clients."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    utf8 = quote(base, safe="")
    disposition = f"attachment; filename=\"{safe_name(filename)}\"; filename*=UTF-8''{utf8}"
    return Response(
        content,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": disposition,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": DOWNLOAD_CSP,
        },
    )
