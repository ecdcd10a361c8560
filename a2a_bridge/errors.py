"""The exceptions a2a-bridge raises.

BridgeError
 ├── ConfigurationError         bad arguments to to_a2a / serve / RemoteAgent / the CLI
 │    └── AdapterNotFound       no installed adapter (or several) claims the object
 ├── InputValidationError       a task's input does not match the input schema (FieldError each)
 ├── BackendError               an OpenAI-compatible model server is not usable
 │    ├── BackendUnavailable    it cannot be reached, or answers with an error
 │    └── ModelNotServed        it is up but serves other models
 └── RemoteAgentError           calling a remote A2A agent failed
      ├── CardError             its card cannot be fetched, read or understood
      ├── RemoteAuthError       it refused the credentials, or needs a secret we lack
      ├── RemoteInputError      it rejected the request as invalid (FieldError each)
      ├── TaskNotFound          it does not know the task
      ├── UnsupportedOperation  it offers no way to do this
      ├── RemoteTimeout         no answer in time, on every replica tried
      └── RemoteUnavailable     unreachable or failing, after every retry and replica
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AdapterNotFound",
    "BackendError",
    "BackendUnavailable",
    "BridgeError",
    "CardError",
    "ConfigurationError",
    "FieldError",
    "InputValidationError",
    "ModelNotServed",
    "RemoteAgentError",
    "RemoteAuthError",
    "RemoteInputError",
    "RemoteTimeout",
    "RemoteUnavailable",
    "TaskNotFound",
    "UnsupportedOperation",
]


class BridgeError(Exception):
    """Base class of every error a2a-bridge raises on purpose."""


class ConfigurationError(BridgeError):
    """An argument, file or flag given to a2a-bridge is not usable."""


class AdapterNotFound(ConfigurationError):
    """No adapter, or more than one, claims the object to serve."""


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field, e.g. ``input.max_sources``."""

    field: str
    message: str


class InputValidationError(BridgeError):
    """A task's input does not match the agent's input schema.

    Attributes:
        errors: One entry per offending field, in a stable order.
    """

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


class BackendError(BridgeError):
    """An OpenAI-compatible model server (vLLM, SGLang) is not usable."""


class BackendUnavailable(BackendError):
    """The model server cannot be reached, or answers with an error."""


class ModelNotServed(BackendError):
    """The model server is up but does not serve the requested model.

    Attributes:
        served: The model names it does serve.
    """

    def __init__(self, message: str, *, served: list[str]) -> None:
        self.served = served
        super().__init__(message)


class RemoteAgentError(BridgeError):
    """Calling a remote A2A agent failed.

    Attributes:
        agent: The remote's name (or URL, before its card is known).
        url: The URL of the replica the error came from, if any.
    """

    def __init__(self, message: str, *, agent: str = "", url: str = "") -> None:
        self.agent = agent
        self.url = url
        super().__init__(message)


class CardError(RemoteAgentError):
    """The Agent Card cannot be fetched, read or understood."""


class RemoteAuthError(RemoteAgentError):
    """The remote refused the credentials, or it needs a secret we were not given."""


class RemoteInputError(RemoteAgentError):
    """The remote rejected the request as invalid.

    Attributes:
        errors: The field errors the remote named, if it named any.
    """

    def __init__(self, message: str, *, errors: list[FieldError] | None = None, agent: str = "", url: str = "") -> None:
        self.errors = errors or []
        super().__init__(message, agent=agent, url=url)


class TaskNotFound(RemoteAgentError):
    """The remote does not know the task."""


class UnsupportedOperation(RemoteAgentError):
    """The remote offers no way to do this."""


class RemoteTimeout(RemoteAgentError):
    """No answer within the timeout, on every replica tried."""


class RemoteUnavailable(RemoteAgentError):
    """The remote could not be reached, or kept failing, after every retry and replica."""
