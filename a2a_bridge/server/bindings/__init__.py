"""The ways a request comes in: JSON-RPC, HTTP+JSON, gRPC, the tutorial's /tasks/send, and their errors."""
