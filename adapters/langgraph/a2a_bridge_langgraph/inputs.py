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


def graph_input(turn: Turn, *, messages: bool) -> Any:
    """The input for ``graph.astream``.

    - A turn that answers an interrupt resumes the graph with its data, or its text.
    - Otherwise the data part becomes the input state, and the text (with any
      files as content blocks) becomes a human message when the graph has a
      ``messages`` channel.
    """
    if turn.resuming:
        return Command(resume=dict(turn.data) if turn.data is not None else turn.text)
    state: dict[str, Any] = dict(turn.data or {})
    if messages and "messages" not in state:
        blocks = [_file_block(file) for file in turn.files]
        if not turn.text and not blocks:
            raise UnsupportedFile("the message has no text for the graph's messages")
        content: Any = [{"type": "text", "text": turn.text}, *blocks] if blocks else turn.text
        state["messages"] = [HumanMessage(content=content)]
    elif turn.files:
        raise UnsupportedFile("this graph has no messages channel to put files in")
    return state
