"""Serving an agent over A2A: to_a2a, serve, run_worker and the app they build.

The entry points (publish.py, worker.py) import no SDK, so ``import a2a_bridge`` stays light.

bindings/   the ways in: JSON-RPC, HTTP+JSON, gRPC, the tutorial's /tasks/send, and the errors callers see
handling/   the request handler: input checks, request guards, what a request carries to its turn
turns/      a turn from the executor to the task store: the runner's events become task updates
observers/  what watches calls and turns: /metrics, spans, the cost recorder
auth/       who the caller is: bearer secrets, access tokens, skill scopes
push/       push notifications: webhook policy and delivery
stores/     task stores by URL: memory, SQLite, Postgres; leases on running tasks
queue/      queue mode: the front door, the Redis work queue, the worker

Nothing here calls another agent; nothing in client/ imports this folder.
"""
