"""Seeing what the fleet does: OpenTelemetry spans, trace headers, enabling tracing, and the cost ledger (costs/).

Nothing here imports the a2a-sdk or a framework; the server's /metrics and its turn observers are in server/observers.
"""
