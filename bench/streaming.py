"""Streaming through the bridge: tokens/s reaching an A2A client, and the first-token latency.

The runner emits tokens as fast as it can; the anchor is a plain SSE endpoint
sending the same tokens, one event each. Servers on core 0, client on core 1.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time

import httpx

from a2a_bridge import RemoteAgent, TextDelta
from bench.roundtrip import Server, pin, wait_listening


async def bridged(url: str, tokens: int) -> tuple[float, float, int]:
    async with RemoteAgent(url) as remote:
        await remote.card()
        start = time.perf_counter()
        first = None
        text = ""
        async for event in remote.stream(data={"tokens": tokens}):
            if isinstance(event, TextDelta):
                first = first or time.perf_counter()
                text += event.text
        end = time.perf_counter()
    assert first is not None
    return end - start, first - start, len(text.split())


async def raw(url: str, tokens: int) -> tuple[float, float, int]:
    async with httpx.AsyncClient(timeout=60) as http:
        start = time.perf_counter()
        first = None
        count = 0
        async with http.stream("POST", url + "/stream", json={"tokens": tokens}) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: {"):
                    first = first or time.perf_counter()
                    count += len(json.loads(line[6:])["text"].split())
        end = time.perf_counter()
    assert first is not None
    return end - start, first - start, count


def measure(*, tokens: int = 20000, rounds: int = 5) -> tuple[list[str], dict[str, float]]:
    pin(1)()
    bridge = Server("a2a-bridge", "bench.servers:streaming_app", {"OTEL_INSTRUMENTATION_A2A_SDK_ENABLED": "false"})
    anchor = Server("raw SSE", "bench.servers:raw_sse_app", {})
    bridge.start()
    anchor.start()
    try:
        for server in (bridge, anchor):
            wait_listening(server.url + "/")
        results: dict[str, list[tuple[float, float, int]]] = {"bridge": [], "raw": []}
        for _ in range(rounds):
            results["bridge"].append(asyncio.run(bridged(bridge.url, tokens)))
            results["raw"].append(asyncio.run(raw(anchor.url, tokens)))
    finally:
        bridge.stop()
        anchor.stop()
    numbers = {}
    for name, runs in results.items():
        if any(count != tokens for _, _, count in runs):
            raise SystemExit(f"{name}: tokens were lost")
        numbers[f"{name}_tps"] = statistics.median(tokens / total for total, _, _ in runs)
        numbers[f"{name}_ttft_ms"] = statistics.median(first * 1000 for _, first, _ in runs)
    lines = [
        "| path | tokens/s (median) | first token ms (median) |",
        "|---|---:|---:|",
        f"| a2a-bridge, A2A streaming (coalesced) | {numbers['bridge_tps']:,.0f} | {numbers['bridge_ttft_ms']:.1f} |",
        f"| plain SSE, one event per token | {numbers['raw_tps']:,.0f} | {numbers['raw_ttft_ms']:.1f} |",
    ]
    numbers["ttft_added_ms"] = numbers["bridge_ttft_ms"] - numbers["raw_ttft_ms"]
    return lines, numbers


if __name__ == "__main__":
    table, numbers = measure()
    print("\n".join(table))
    print(numbers)
