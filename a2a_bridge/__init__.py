"""a2a-bridge: publish LangGraph graphs and CrewAI crews as A2A agents, and call any A2A agent.

The core is framework-neutral: frameworks plug in through adapters registered
under the ``a2a_bridge.adapters`` entry-point group.
"""

from a2a_bridge.backends.backend import Backend
from a2a_bridge.backends.tiers import TIERS, TierProfile
from a2a_bridge.backends.topology import Topology
from a2a_bridge.client.card_keys import CardKeys
from a2a_bridge.client.card_view import AgentCardView
from a2a_bridge.client.client_credentials import ClientCredentials
from a2a_bridge.client.registry import AgentRegistry, RegistryEntry
from a2a_bridge.client.remote_agent import RemoteAgent
from a2a_bridge.client.results import RemoteArtifact, RemoteResult, TaskPage
from a2a_bridge.errors import (
    AdapterNotFound,
    BackendError,
    BackendUnavailable,
    BridgeError,
    CardError,
    ConfigurationError,
    FieldError,
    InputValidationError,
    ModelNotServed,
    RemoteAgentError,
    RemoteAuthError,
    RemoteInputError,
    RemoteTimeout,
    RemoteUnavailable,
    TaskNotFound,
    UnsupportedOperation,
)
from a2a_bridge.observability.telemetry import enable_tracing
from a2a_bridge.plugins import Adapted, Adapter
from a2a_bridge.profile import AgentProfile, Skill
from a2a_bridge.runner import (
    Artifact,
    DirectReply,
    Done,
    Event,
    Failed,
    FilePart,
    NeedsAuth,
    NeedsInput,
    Progress,
    Rejected,
    Runner,
    TextDelta,
    TraceContext,
    Turn,
    Usage,
)
from a2a_bridge.server.auth.tokens import AccessTokens
from a2a_bridge.server.publish import serve, to_a2a
from a2a_bridge.server.worker import run_worker

__version__ = "0.1.0"

__all__ = [
    "AccessTokens",
    "Adapted",
    "Adapter",
    "AdapterNotFound",
    "AgentCardView",
    "AgentProfile",
    "AgentRegistry",
    "Artifact",
    "Backend",
    "BackendError",
    "BackendUnavailable",
    "BridgeError",
    "CardError",
    "CardKeys",
    "ClientCredentials",
    "ConfigurationError",
    "DirectReply",
    "Done",
    "Event",
    "Failed",
    "FieldError",
    "FilePart",
    "InputValidationError",
    "ModelNotServed",
    "NeedsAuth",
    "NeedsInput",
    "Progress",
    "Rejected",
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
    "TIERS",
    "TaskNotFound",
    "TaskPage",
    "TextDelta",
    "TierProfile",
    "Topology",
    "TraceContext",
    "Turn",
    "UnsupportedOperation",
    "Usage",
    "__version__",
    "enable_tracing",
    "run_worker",
    "serve",
    "to_a2a",
]
