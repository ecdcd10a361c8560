"""Serving an agent: ``to_a2a`` and ``serve``, bearer secrets, body limits and input schemas.

Nothing here calls another agent; the A2A bindings are in ``protocol/server``,
loaded when an app is built.
"""
