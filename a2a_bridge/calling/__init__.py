"""Calling remote A2A agents: :class:`RemoteAgent`, failover, the registry, results and card views.

Nothing here serves an agent; the wire work is in ``protocol/client``, loaded
on the first call over A2A.
"""
