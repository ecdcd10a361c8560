"""Calling remote A2A agents: RemoteAgent, failover, the registry, results, card views, credentials and card keys.

Nothing here serves an agent; nothing in server/ imports this folder. The a2a-sdk loads only on the first call
over A2A (connections/a2a.py).
"""
