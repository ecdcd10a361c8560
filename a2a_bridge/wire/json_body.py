"""Reading and writing the JSON bodies of the bridge's own short paths, with orjson.

The standard library's json took 7 us to write a small task and 4 us to read a
SendMessage, about a twentieth of a request (bench/). orjson does both in under
2 us. A body orjson refuses (another encoding, a NaN) is read again by the
standard library, so what is accepted, and the errors, stay json's.

Except for values no task can hold. The standard library reads a lone UTF-16
surrogate (``"\\ud800"``), ``1e400`` and integers of any length, where
orjson refuses them. Such a value cannot be stored, logged or written out
again, so the slow path refuses it by its place in the document
(:class:`UnholdableValueError`). The fast path pays nothing for the check: orjson
has made it already. Nor can a task hold arrays and objects nested past
:data:`MAX_NESTING`; a body is walked for that only when it has more brackets
than the limit.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson
from starlette.responses import JSONResponse

from a2a_bridge.support.fast_paths import fallback

__all__ = ["MAX_DEPTH_MESSAGE", "MAX_NESTING", "FastJSONResponse", "UnholdableValueError", "read_json"]


class FastJSONResponse(JSONResponse):
    """A JSONResponse written by orjson: the same compact, UTF-8 JSON."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


MAX_DEPTH_MESSAGE = "the JSON is nested too deeply"
# How deeply a request's arrays and objects may nest. Protobuf decodes no message nested past 100 levels, and
# a JSON object in a Struct takes three (Struct, map entry, Value): nested deeper, a message parses but its
# task cannot be copied, stored or sent.
MAX_NESTING = 32
_NOT_A_NUMBER = "not a JSON number (JSON has no NaN or Infinity)"
_OUT_OF_RANGE = "number out of range: a JSON number here must fit a double (at most about 1.8e308)"
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTAINERS = frozenset({dict, list})


class UnholdableValueError(ValueError):
    """A JSON value no task can hold, named by its place in the document.

    Attributes:
        field: Where it is, as ``params.message.parts[0].text``; empty for the document itself.
        problem: What is wrong with it.
        document: The whole document as read, to take a request id from.
    """

    def __init__(self, field: str, problem: str, document: Any) -> None:
        super().__init__(f"{field}: {problem}" if field else problem)
        self.field = field
        self.problem = problem
        self.document = document


class _Unholdable:
    """Stands in for a number while the document is read, so the walk can say where it was."""

    def __init__(self, problem: str) -> None:
        self.problem = problem


_NAN = _Unholdable(_NOT_A_NUMBER)
_HUGE = _Unholdable(_OUT_OF_RANGE)


def _integer(text: str) -> Any:
    # Python refuses to read an integer past 4300 digits; no double holds one past 309.
    if len(text) > 310:
        return _HUGE
    number = int(text)
    try:
        float(number)
    except OverflowError:
        return _HUGE
    return number


def _not_a_number(text: str) -> Any:
    return _NAN


def _float(text: str) -> Any:
    number = float(text)
    return number if math.isfinite(number) else _HUGE


def read_json(body: bytes, *, allow_nan: bool = True, max_depth: int | None = None) -> Any:
    """``json.loads(body)``, faster, refusing values no task can hold.

    Args:
        body: The request body.
        allow_nan: Read ``NaN`` and ``Infinity`` as json.loads does, for a check further on to refuse by
            name; False refuses them here.
        max_depth: How deeply arrays and objects may nest (:data:`MAX_NESTING` for a request); None for as
            deeply as the parsers manage.

    Raises:
        ValueError: json.JSONDecodeError or UnicodeDecodeError, as json.loads does,
            :data:`MAX_DEPTH_MESSAGE` for arrays and objects nested past Python's recursion limit, or
            :class:`UnholdableValueError`.
    """
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        fallback("json_body.read", str(exc))
    else:
        # A body with fewer brackets than the limit cannot nest past it: most are never walked.
        if max_depth is None or body.count(b"[") + body.count(b"{") <= max_depth or not _deeper(document, max_depth):
            return document
        if (found := _unholdable(document, max_depth)) is not None:
            raise UnholdableValueError(*found, document)
        return document
    try:
        constant = float if allow_nan else _not_a_number
        document = json.loads(body, parse_int=_integer, parse_float=_float, parse_constant=constant)
    except RecursionError:
        raise ValueError(MAX_DEPTH_MESSAGE) from None
    if (found := _unholdable(document, max_depth)) is not None:
        raise UnholdableValueError(*found, document)
    return document


def _deeper(document: Any, max_depth: int) -> bool:
    """Whether arrays and objects nest past ``max_depth``: a level at a time, containers only, no paths."""
    level = [document] if type(document) in _CONTAINERS else []
    for _ in range(max_depth):
        # type() against a set, not isinstance: half the time, and orjson makes plain dicts and lists only.
        level = [item for value in level for item in (value.values() if type(value) is dict else value)
                 if type(item) in _CONTAINERS]  # fmt: skip
        if not level:
            return False
    return True


def _unholdable(document: Any, max_depth: int | None) -> tuple[str, str] | None:
    """The place and problem of the first value no task can hold, in document order, or None."""
    # A stack, not recursion: the document may be nested as deeply as json.loads allows.
    stack: list[tuple[Any, str, int]] = [(document, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            if (problem := _lone_surrogate(value)) is not None:
                return path, problem
        elif isinstance(value, _Unholdable):
            return path, value.problem
        elif max_depth is not None and depth > max_depth and isinstance(value, dict | list):
            return path, f"nested too deeply: a request nests arrays and objects at most {max_depth} deep"
        elif isinstance(value, dict):
            children: list[tuple[Any, str, int]] = []
            for key, item in value.items():
                name = f"{path}.{_printable(key)}" if path else _printable(key)
                if (problem := _lone_surrogate(key)) is not None:
                    return name, f"the key {problem}"
                children.append((item, name, depth + 1))
            stack.extend(reversed(children))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{index}]", depth + 1) for index, item in reversed(list(enumerate(value))))
    return None


def _lone_surrogate(text: str) -> str | None:
    """What is wrong with ``text`` if it holds half of a UTF-16 surrogate pair, or None."""
    if text.isascii() or (found := _SURROGATE.search(text)) is None:
        return None
    return f"holds a lone surrogate (\\u{ord(found.group()):04x}), which is not Unicode text"


def _printable(key: str) -> str:
    """A key as it can appear in an error: its lone surrogates written as ``\\udXXX``."""
    return key if key.isascii() else key.encode("utf-8", "backslashreplace").decode("utf-8")
