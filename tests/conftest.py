pytest_plugins = ["a2a_bridge.testing.fixtures"]
