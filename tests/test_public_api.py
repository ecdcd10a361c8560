"""The public surface: ``__all__`` is exact, and every name in it imports."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

import a2a_bridge

EXPECTED = {
    "a2a_bridge": {
        "Adapted", "Adapter", "AdapterNotFound", "AgentCardView", "AgentProfile", "AgentRegistry",
        "Artifact", "Backend", "BackendError", "BackendUnavailable", "ModelNotServed", "TIERS",
        "TierProfile", "Topology", "BridgeError", "CardError", "ConfigurationError", "Done", "Event", "Failed",
        "FieldError", "FilePart", "InputValidationError", "NeedsAuth", "NeedsInput", "Progress", "Rejected",
        "RegistryEntry", "DirectReply",
        "RemoteAgent", "RemoteAgentError", "RemoteArtifact", "RemoteAuthError", "RemoteInputError",
        "RemoteResult", "RemoteTimeout", "RemoteUnavailable", "Runner", "Skill", "TaskNotFound", "TaskPage",
        "TextDelta", "TraceContext", "Turn", "UnsupportedOperation", "Usage", "__version__",
        "serve", "to_a2a", "run_worker", "enable_tracing", "AccessTokens", "ClientCredentials", "CardKeys",
    },
    "a2a_bridge.testing": {"LiveServer", "RecordedRequest", "Reply", "ScriptedBackend", "ToolCall"},
}  # fmt: skip


@pytest.mark.parametrize("module_name", sorted(EXPECTED))
def test_all_is_exactly_the_public_surface(module_name):
    module = importlib.import_module(module_name)
    assert set(module.__all__) == EXPECTED[module_name]
    for name in module.__all__:
        assert hasattr(module, name), f"{module_name}.{name} is listed but missing"


def test_public_names_not_in_all_are_private():
    public = {
        name
        for name, value in vars(a2a_bridge).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    }
    assert public - set(a2a_bridge.__all__) == set()


def test_error_tree():
    for remote_error in (
        a2a_bridge.CardError, a2a_bridge.RemoteAuthError, a2a_bridge.RemoteInputError, a2a_bridge.TaskNotFound,
        a2a_bridge.UnsupportedOperation, a2a_bridge.RemoteTimeout, a2a_bridge.RemoteUnavailable,
    ):  # fmt: skip
        assert issubclass(remote_error, a2a_bridge.RemoteAgentError)
    assert issubclass(a2a_bridge.RemoteAgentError, a2a_bridge.BridgeError)
    assert issubclass(a2a_bridge.AdapterNotFound, a2a_bridge.ConfigurationError)
    assert issubclass(a2a_bridge.ConfigurationError, a2a_bridge.BridgeError)
    assert issubclass(a2a_bridge.InputValidationError, a2a_bridge.BridgeError)
