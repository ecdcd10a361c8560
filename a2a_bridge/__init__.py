"""a2a-bridge: publish LangGraph graphs and CrewAI crews as A2A agents, and call any A2A agent.

The core is framework-neutral: frameworks plug in through adapters registered
under the ``a2a_bridge.adapters`` entry-point group.
"""

from a2a_bridge.backends.backend import Backend
from a2a_bridge.backends.tiers import TIERS, TierProfile
from a2a_bridge.backends.topology import Topology
from a2a_bridge.calling.card_keys import CardKeys
from a2a_bridge.calling.card_view import AgentCardView
from a2a_bridge.calling.client_credentials import ClientCredentials
from a2a_bridge.calling.registry import AgentRegistry, RegistryEntry
from a2a_bridge.calling.remote_agent import RemoteAgent
from a2a_bridge.calling.results import RemoteArtifact, RemoteResult, TaskPage
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
from a2a_bridge.serving.publish import serve, to_a2a
from a2a_bridge.serving.tokens import AccessTokens
from a2a_bridge.serving.worker import run_worker
from a2a_bridge.telemetry import enable_tracing

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
