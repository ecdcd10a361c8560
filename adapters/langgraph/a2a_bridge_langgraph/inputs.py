"""Turning an A2A turn into graph input: messages, state fields, or a resume."""

from __future__ import annotations

import base64
from typing import Any

from langchain_core.messages import HumanMessage
from langgraph.types import Command

from a2a_bridge import FilePart, Turn

__all__ = ["UnsupportedFile", "graph_input"]


class UnsupportedFile(ValueError):
    """A file the graph's models cannot take."""


def _file_block(file: FilePart) -> dict[str, Any]:
    media = file.media_type or "application/octet-stream"
    name = file.name or "file"
    if media.startswith("image/"):
        if file.url:
            return {"type": "image_url", "image_url": {"url": file.url}}
        encoded = base64.b64encode(file.content or b"").decode()
        return {"type": "image_url", "image_url": {"url": f"data:{media};base64,{encoded}"}}
    if media.startswith("text/") or media in ("application/json", "application/xml"):
        if file.content is None:
            raise UnsupportedFile(f"file {name!r} is a link to text; send its content inline")
        return {"type": "text", "text": f"[{name}]\n{file.content.decode('utf-8', errors='replace')}"}
    raise UnsupportedFile(f"files of type {media} ({name!r}) are not supported; send images or text files")


def graph_input(turn: Turn, *, messages: bool, channels: frozenset[str] = frozenset()) -> Any:
    """The input for ``graph.astream``.

    - A turn that answers an interrupt resumes the graph with its data, or its text.
    - Otherwise the data part becomes the input state, and the text (with any
      files as content blocks) becomes a human message when the graph has a
      ``messages`` channel.
    - A data part with one text field the graph has no channel for, such as the
      tutorial's ``{"query": ...}``, is the message text of a messages graph.
    """
    if turn.resuming:
        return Command(resume=dict(turn.data) if turn.data is not None else turn.text)
    state: dict[str, Any] = dict(turn.data or {})
    text = turn.text
    foreign = [key for key, value in state.items() if key not in channels and isinstance(value, str)]
    if messages and not text and len(foreign) == 1 and len(state) == 1:
        text = state.pop(foreign[0])
    if messages and "messages" not in state:
        blocks = [_file_block(file) for file in turn.files]
        if not text and not blocks:
            raise UnsupportedFile("the message has no text for the graph's messages")
        content: Any = [{"type": "text", "text": text}, *blocks] if blocks else text
        state["messages"] = [HumanMessage(content=content)]
    elif turn.files:
        raise UnsupportedFile("this graph has no messages channel to put files in")
    return state
