"""A draft's bytes as a download."""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi import Response


def download(filename: str, content: bytes) -> Response:
    """``content`` as an attachment of type octet-stream: never shown inline, whatever the
    file holds; the name in UTF-8 (RFC 6266), with an ASCII stand-in for old clients."""
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", filename) or "revision"
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
    return Response(
        content,
        media_type="application/octet-stream",
        headers={"Content-Disposition": disposition},
    )
