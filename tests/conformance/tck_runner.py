"""A runner that acts out the A2A TCK's scenarios, chosen by the incoming message's id.

The TCK (``scenarios/*.feature`` in the kit) names what the agent does for each
messageId prefix. Every outcome a runner can give appears here once: a
completed task with text, artifacts of text, data, file bytes and a file URL,
streamed steps, a question back (input-required), a refusal (rejected), a
request to authenticate (auth-required), a message instead of a task, and a
task that runs long enough to be resubscribed to.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from a2a_bridge import (
    Artifact,
    DirectReply,
    Event,
    FilePart,
    NeedsAuth,
    NeedsInput,
    Progress,
    Rejected,
    TextDelta,
    Turn,
)

# The TCK's resubscribe scenario runs for twice its 2 s streaming timeout.
LONG_TASK_SECONDS = 4.0
TEXT_FILE = FilePart(name="output.txt", media_type="text/plain", content=b"tck")
TEXT_FILE_URL = FilePart(name="output.txt", media_type="text/plain", url="https://example.com/output.txt")

# Longer prefixes first: "tck-artifact-file-url" also starts with "tck-artifact-file".
STREAMED_TEXT = {
    "tck-stream-artifact-text": "Streamed text content",
    "tck-stream-ordering-001": "Ordered output",
    "tck-stream-001": "Stream hello from TCK",
    "tck-stream-003": "Stream task lifecycle",
}


class TckRunner:
    """The TCK's system under test, as a plain runner."""

    # It may answer with a message and no task (the "tck-message-response" scenario).
    direct_replies = True

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        prefix = turn.message_id
        if prefix.startswith("tck-message-response"):
            yield DirectReply("Direct message response")
        elif prefix.startswith("tck-input-required"):
            yield NeedsInput("The TCK asks for more input.")
        elif prefix.startswith("tck-auth-required"):
            yield NeedsAuth(
                "Sign in to the TCK's service first.", data={"authorizationUrl": "https://example.com/auth"}
            )
        elif prefix.startswith("tck-reject-task"):
            yield Rejected("rejected")
        elif prefix.startswith("tck-artifact-text"):
            yield Artifact(name="text", text="Generated text content")
        elif prefix.startswith("tck-artifact-file-url"):
            yield Artifact(name="file", file=TEXT_FILE_URL)
        elif prefix.startswith(("tck-artifact-file", "tck-stream-artifact-file")):
            yield Artifact(name="file", file=TEXT_FILE)
        elif prefix.startswith("tck-artifact-data"):
            yield Artifact(name="data", data={"key": "value", "count": 42})
        elif prefix.startswith("tck-stream-artifact-chunked"):
            yield TextDelta("chunk-1 ")
            yield TextDelta("chunk-2")
        elif prefix.startswith("test-resubscribe-message-id"):
            yield Progress("working on a long task")
            await asyncio.sleep(LONG_TASK_SECONDS)
        elif text := next((text for name, text in STREAMED_TEXT.items() if prefix.startswith(name)), None):
            yield Progress("streaming")
            yield TextDelta(text)
        elif prefix.startswith("tck-complete-task"):
            # The same prefix completes a new task, or one that waited for the caller.
            yield TextDelta(f"Resumed with: {turn.text}" if turn.resuming else "Hello from TCK")
        elif not prefix.startswith("tck-stream-002"):
            yield TextDelta(f"Unhandled messageId prefix: {prefix}")
