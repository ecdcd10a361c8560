"""Reading a JSON object from a file, with errors that name the file and the line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from a2a_bridge.errors import BridgeError, ConfigurationError

__all__ = ["read_json_object"]


def read_json_object(
    path: str | Path, *, what: str = "file", error: type[BridgeError] = ConfigurationError
) -> dict[str, Any]:
    """The JSON object in ``path``; ``error`` says what is wrong with it, calling it ``what``."""
    file = Path(path)
    try:
        body = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"cannot read {what} {file}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise error(f"{what} {file} is not JSON: {exc.msg} at line {exc.lineno}") from None
    except UnicodeDecodeError:
        raise error(f"{what} {file} is not UTF-8 text") from None
    if not isinstance(body, dict):
        raise error(f"{what} {file} does not hold a JSON object")
    return body
