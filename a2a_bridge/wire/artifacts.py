"""The names of the artifacts a served agent writes, which callers read back.

``response``  the answer text, streamed in chunks and replaced by the whole text at the end
``output``    the structured output, one data part matching the card's output schema
"""

from __future__ import annotations

__all__ = ["OUTPUT_ARTIFACT", "RESPONSE_ARTIFACT"]

RESPONSE_ARTIFACT = "response"
OUTPUT_ARTIFACT = "output"
