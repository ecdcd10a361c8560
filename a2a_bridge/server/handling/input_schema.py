"""Input and output schemas, as JSON schemas or pydantic models: checking them and validating task input.

Errors name the offending field with a dotted path rooted at ``input``
(``input.max_sources``, ``input.items[2].id``), so that a caller can fix a bad
request without reading server logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import exceptions as js_exceptions
from jsonschema.validators import validator_for

from a2a_bridge.errors import ConfigurationError, FieldError, InputValidationError
from a2a_bridge.profile import text_field_of
from a2a_bridge.server.handling.schema_precheck import compile_precheck

__all__ = ["InputSchema", "check_schema", "schema_model"]

_ROOT = "input"


def schema_model(schema: Any) -> Any | None:
    """``schema`` if it is a pydantic model class, else None (told by its methods: the core needs no pydantic)."""
    methods = ("model_json_schema", "model_validate")
    if isinstance(schema, type) and all(callable(getattr(schema, name, None)) for name in methods):
        return schema
    return None


def check_schema(schema: Any, *, what: str) -> dict[str, Any] | None:
    """Return ``schema`` as a plain JSON schema dict, or raise if it is neither one nor a pydantic model."""
    if schema is None:
        return None
    if (model := schema_model(schema)) is not None:
        schema = model.model_json_schema()
    if not isinstance(schema, Mapping):
        raise ConfigurationError(
            f"{what} must be a JSON schema object or a pydantic model class, got {type(schema).__name__}"
        )
    plain = dict(schema)
    try:
        validator_for(plain).check_schema(plain)
    except js_exceptions.SchemaError as exc:
        raise ConfigurationError(f"{what} is not a valid JSON schema: {exc.message}") from None
    return plain


def _path(parts: Any) -> str:
    out = _ROOT
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


_PYDANTIC_MESSAGES = {"missing": "required field is missing", "extra_forbidden": "unexpected field"}


def _model_errors(exc: ValueError) -> list[FieldError] | None:
    """A pydantic ValidationError's errors, one per field; None for any other ValueError."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return None
    return [FieldError(_path(e["loc"]), _PYDANTIC_MESSAGES.get(e["type"], e["msg"])) for e in errors()]


def _field_errors(error: js_exceptions.ValidationError) -> list[FieldError]:
    base = list(error.absolute_path)
    instance = error.instance
    if error.validator == "required" and isinstance(instance, Mapping):
        missing = [name for name in error.validator_value if name not in instance]
        return [FieldError(_path([*base, name]), "required field is missing") for name in missing]
    if error.validator == "additionalProperties" and isinstance(instance, Mapping):
        known = set(error.schema.get("properties", {}))
        extra = sorted(name for name in instance if name not in known)
        return [FieldError(_path([*base, name]), "unexpected field") for name in extra]
    return [FieldError(_path(base), error.message)]


class InputSchema:
    """A compiled input schema that validates task input before any model call.

    Given the pydantic model the schema came from, it validates with the model
    itself, so that its types, constraints and validators hold.
    """

    def __init__(self, schema: Mapping[str, Any], *, text_field: str | None = None, model: Any = None) -> None:
        checked = check_schema(schema, what="input_schema")
        assert checked is not None
        self.schema = checked
        self.model = model  # the pydantic model ``schema`` came from, to validate with instead
        self._validator = validator_for(checked)(checked) if model is None else None
        self._certainly_valid = compile_precheck(checked) if model is None else None
        if text_field is not None and text_field not in (checked.get("properties") or {}):
            raise ConfigurationError(f"text_field {text_field!r} is not a property of the input schema")
        self.text_field = text_field or text_field_of(checked)

    def validate(self, data: Any) -> None:
        """Raise :class:`InputValidationError` naming every offending field."""
        if self.model is not None:
            try:
                self.model.model_validate(data)
            except ValueError as exc:
                if (model_errors := _model_errors(exc)) is None:
                    raise
                raise InputValidationError(model_errors) from None
            return
        assert self._validator is not None
        if self._certainly_valid is not None and self._certainly_valid(data):
            return
        errors: list[FieldError] = []
        for error in sorted(self._validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
            for field_error in _field_errors(error):
                if field_error not in errors:
                    errors.append(field_error)
        if errors:
            raise InputValidationError(errors)

    def from_text(self, text: str) -> dict[str, Any] | None:
        """Map plain text onto the schema's text field, if it has one."""
        if self.text_field is None:
            return None
        return {self.text_field: text}

    def describe_expected(self) -> str:
        """A short hint of what input the schema wants, for error messages."""
        required = self.schema.get("required") or []
        if required:
            return "a data part with the fields " + ", ".join(required)
        return "a data part matching the input schema"
