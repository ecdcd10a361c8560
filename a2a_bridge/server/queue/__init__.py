"""Queue mode: a front door that queues each turn, and workers that take and run them (docs/queue.md)."""
