"""a2a-bridge: publish LangGraph graphs and CrewAI crews as A2A agents, and call any A2A agent.

The core is framework-neutral: frameworks plug in through adapters registered
under the ``a2a_bridge.adapters`` entry-point group.
"""

from a2a_bridge.cards import AgentCardView
from a2a_bridge.errors import (
    AdapterNotFound,
    BridgeError,
    CardError,
    ConfigurationError,
    FieldError,
    InputValidationError,
    RemoteAgentError,
    RemoteAuthError,
    RemoteInputError,
    RemoteTimeout,
    RemoteUnavailable,
    TaskNotFound,
    UnsupportedOperation,
)
from a2a_bridge.plugins import Adapted, Adapter
from a2a_bridge.profile import AgentProfile, Skill
from a2a_bridge.registry import AgentRegistry, RegistryEntry
from a2a_bridge.remote import RemoteAgent
from a2a_bridge.results import RemoteArtifact, RemoteResult
from a2a_bridge.runner import (
    Artifact,
    Done,
    Event,
    Failed,
    FilePart,
    NeedsInput,
    Progress,
    Runner,
    TextDelta,
    TraceContext,
    Turn,
    Usage,
)
from a2a_bridge.server import serve, to_a2a

__version__ = "0.1.0"

__all__ = [
    "Adapted",
    "Adapter",
    "AdapterNotFound",
    "AgentCardView",
    "AgentProfile",
    "AgentRegistry",
    "Artifact",
    "BridgeError",
    "CardError",
    "ConfigurationError",
    "Done",
    "Event",
    "Failed",
    "FieldError",
    "FilePart",
    "InputValidationError",
    "NeedsInput",
    "Progress",
    "RegistryEntry",
    "RemoteAgent",
    "RemoteAgentError",
    "RemoteArtifact",
    "RemoteAuthError",
    "RemoteInputError",
    "RemoteResult",
    "RemoteTimeout",
    "RemoteUnavailable",
    "Runner",
    "Skill",
    "TaskNotFound",
    "TextDelta",
    "TraceContext",
    "Turn",
    "UnsupportedOperation",
    "Usage",
    "__version__",
    "serve",
    "to_a2a",
]
