"""The A2A TCK against agents written on the public API (``docs/conformance.md``)."""
