"""Showing a connection URL in a log or an error without its password."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = ["hide_password"]


def hide_password(url: str) -> str:
    """``redis://:s3cret@host/0`` -> ``redis://:***@host/0``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
