"""PDF from the HTML report, with WeasyPrint: an optional extra (``doctrack[pdf]``).

WeasyPrint draws text through Pango, so it needs the system's Pango libraries and fonts
that cover the report's scripts (DejaVu covers Latin and Cyrillic; Noto CJK the Chinese and
Japanese titles). Without WeasyPrint, or without its libraries, :func:`html_to_pdf` raises
a one-line :class:`~doctrack.errors.UsageError` that says what to install.
"""

from __future__ import annotations

from typing import Any

from doctrack.errors import UsageError

INSTALL_HINT = (
    "PDF output needs WeasyPrint: pip install 'doctrack[pdf]' "
    "(on Debian it also needs: apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core)"
)


def _weasyprint() -> Any:
    try:
        import weasyprint
    except ImportError:
        raise UsageError(INSTALL_HINT) from None
    except OSError as exc:  # the package is there, a system library it loads is not
        raise UsageError(f"{INSTALL_HINT}; loading it failed: {exc}") from None
    return weasyprint


def require() -> None:
    """Raise the one-line install hint unless PDF output works here."""
    _weasyprint()


def available() -> bool:
    """Whether PDF output works here."""
    try:
        _weasyprint()
    except UsageError:
        return False
    return True


def html_to_pdf(html: str) -> bytes:
    """The HTML page laid out as PDF (it must be self-contained: nothing is fetched)."""
    weasyprint = _weasyprint()

    def refuse(url: str, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"the report refers to an outside resource: {url[:80]}")

    document = weasyprint.HTML(string=html, url_fetcher=refuse)
    result = document.write_pdf()
    assert isinstance(result, bytes)
    return result
