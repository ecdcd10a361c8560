"""Scripted replies written as JSON, for a scripted backend in another process.

A script file holds ``{"replies": [...]}``; ``POST /scripted/replies`` takes one
entry or a list. Each entry is one :meth:`ScriptedBackend.reply` call::

    {"text": "Paris."}
    {"json": {"steps": []}, "when": {"system": "plan"}, "times": null}
    {"tool_calls": [{"name": "search", "arguments": {"q": "H200"}}]}
    {"error": [503, "overloaded"]}
    {"text": "slow", "latency": 0.5, "token_latency": 0.01}

``when`` matches requests whose system prompt, last user message or whole
prompt contains the given text; ``times`` is how many requests the entry
answers (1 by default, ``null`` for every match).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from a2a_bridge.errors import ConfigurationError
from a2a_bridge.support.json_files import read_json_object

if TYPE_CHECKING:
    from a2a_bridge.testing.scripted_backend import RecordedRequest

__all__ = ["Contains", "load_reply_script", "reply_arguments"]

ANSWERS = ("text", "json", "tool_calls", "error")
ENTRY_KEYS = frozenset({*ANSWERS, "latency", "token_latency", "when", "times"})
WHEN_KEYS = ("system", "last_user", "prompt")


@dataclass(frozen=True, slots=True)
class Contains:
    """Matches a request whose parts contain every given text."""

    system: str | None = None
    last_user: str | None = None
    prompt: str | None = None

    def __call__(self, request: RecordedRequest) -> bool:
        wanted = (self.system, request.system), (self.last_user, request.last_user), (self.prompt, request.prompt_text)
        return all(text is None or text in seen for text, seen in wanted)


def _keys(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{where}: must be an object, got {type(value).__name__}")
    return value


def _seconds(entry: Mapping[str, Any], key: str, where: str) -> float | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigurationError(f"{where}.{key}: must be a number of seconds, at least 0")
    return float(value)


def _when(value: Any, where: str) -> Contains | None:
    if value is None:
        return None
    when = _keys(value, f"{where}.when")
    for key, text in when.items():
        if key not in WHEN_KEYS:
            raise ConfigurationError(f"{where}.when.{key}: unknown; expected one of {', '.join(WHEN_KEYS)}")
        if not isinstance(text, str):
            raise ConfigurationError(f"{where}.when.{key}: must be a string")
    return Contains(**when)


def _tool_calls(value: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise ConfigurationError(f"{where}.tool_calls: must be a non-empty list of {{name, arguments}}")
    calls = []
    for index, item in enumerate(value):
        call = _keys(item, f"{where}.tool_calls[{index}]")
        if not isinstance(call.get("name"), str) or not call["name"]:
            raise ConfigurationError(f"{where}.tool_calls[{index}].name: required, a non-empty string")
        arguments = call.get("arguments", {})
        if not isinstance(arguments, Mapping):
            raise ConfigurationError(f"{where}.tool_calls[{index}].arguments: must be an object")
        calls.append({"name": call["name"], "arguments": dict(arguments)})
    return calls


def _error(value: Any, where: str) -> tuple[int, str]:
    if isinstance(value, list) and len(value) == 2 and isinstance(value[1], str):
        status = value[0]
        if isinstance(status, int) and not isinstance(status, bool) and 400 <= status <= 599:
            return status, value[1]
    raise ConfigurationError(f'{where}.error: must be [STATUS, "message"] with a status from 400 to 599')


def reply_arguments(value: Any, where: str) -> dict[str, Any]:
    """One script entry as the keyword arguments of :meth:`ScriptedBackend.reply`."""
    entry = _keys(value, where)
    unknown = sorted(set(entry) - ENTRY_KEYS)
    if unknown:
        raise ConfigurationError(f"{where}.{unknown[0]}: unknown; expected one of {', '.join(sorted(ENTRY_KEYS))}")
    answers = [key for key in ANSWERS if key in entry]
    if len(answers) != 1:
        raise ConfigurationError(f"{where}: give exactly one of {', '.join(ANSWERS)}")
    times = entry.get("times", 1)
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise ConfigurationError(f"{where}.times: must be a whole number of at least 1, or null for every match")
    arguments: dict[str, Any] = {
        "latency": _seconds(entry, "latency", where),
        "token_latency": _seconds(entry, "token_latency", where),
        "when": _when(entry.get("when"), where),
        "times": times,
    }
    answer = answers[0]
    if answer == "text":
        if not isinstance(entry["text"], str):
            raise ConfigurationError(f"{where}.text: must be a string")
        arguments["text"] = entry["text"]
    elif answer == "json":
        if entry["json"] is None:
            raise ConfigurationError(f"{where}.json: must not be null")
        arguments["json"] = entry["json"]
    elif answer == "tool_calls":
        arguments["tool_calls"] = _tool_calls(entry["tool_calls"], where)
    else:
        arguments["error"] = _error(entry["error"], where)
    return arguments


def load_reply_script(path: str | Path) -> list[dict[str, Any]]:
    """A script file's entries, each checked, as :meth:`ScriptedBackend.reply` arguments."""
    script = read_json_object(path, what="reply script")
    unknown = sorted(set(script) - {"replies"})
    if unknown:
        raise ConfigurationError(f'reply script {path}: unknown key {unknown[0]!r}; it holds {{"replies": [...]}}')
    replies = script.get("replies")
    if not isinstance(replies, list):
        raise ConfigurationError(f'reply script {path}: "replies" must be a list of replies')
    return [reply_arguments(entry, f"{path}: replies[{index}]") for index, entry in enumerate(replies)]
