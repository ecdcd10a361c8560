import os

# The crews under test must not try to reach CrewAI's telemetry servers: this machine talks to 127.0.0.1 only.
os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
os.environ.setdefault("CREWAI_DISABLE_TRACKING", "true")

pytest_plugins = ["a2a_bridge.testing.fixtures"]
