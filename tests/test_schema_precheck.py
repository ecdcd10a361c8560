"""The compiled pre-check never accepts what jsonschema refuses, and stays out of schemas it could misread."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema.validators import validator_for

from a2a_bridge.errors import InputValidationError
from a2a_bridge.server.handling.input_schema import InputSchema
from a2a_bridge.server.handling.schema_precheck import compile_precheck

SCHEMAS: list[dict[str, Any]] = [
    {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "query": {"type": "string", "minLength": 1, "maxLength": 5, "pattern": "[a-c]$"},
            "n": {"type": "integer", "minimum": 0, "exclusiveMaximum": 10},
            "x": {"type": ["number", "null"], "exclusiveMinimum": -1.5},
            "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}, "maxItems": 2},
            "mode": {"const": "fast", "description": "only fast"},
            "d": {"type": "string", "format": "date"},
        },
        "required": ["query"],
        "additionalProperties": False,
    },
    {"anyOf": [{"type": "string"}, {"type": "object", "required": ["a"]}]},
    {"oneOf": [{"type": "integer"}, {"type": "number", "minimum": 5}]},
    {
        "type": "object",
        "if": {"properties": {"k": {"const": "a"}}},
        "then": {"required": ["x"]},
        "else": {"required": ["y"]},
    },
    {
        "type": "object",
        "patternProperties": {"^x-": {"type": "boolean"}},
        "propertyNames": {"maxLength": 4},
        "minProperties": 1,
    },
    {"not": {"type": "null"}, "allOf": [True, {"type": ["object", "array"]}]},
]
KEYS = st.sampled_from(["query", "n", "x", "tags", "mode", "d", "a", "k", "y", "x-1", "x-long"])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-3, 12)
    | st.floats(-3, 12)
    | st.sampled_from(["", "a", "b", "abc", "cab", "fast", "2026-11-24", "not-a-date", "toolong-a"])
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3))
DATA = st.dictionaries(KEYS, VALUES, max_size=5) | VALUES


@pytest.mark.parametrize("schema", SCHEMAS, ids=range(len(SCHEMAS)))
@settings(max_examples=300, deadline=None)
@given(data=DATA)
def test_the_precheck_accepts_only_what_jsonschema_accepts(schema: dict[str, Any], data: Any) -> None:
    precheck = compile_precheck(schema)
    assert precheck is not None
    if precheck(data):
        assert validator_for(schema)(schema).is_valid(data), data


@pytest.mark.parametrize(
    ("schema", "valid"),
    [
        (SCHEMAS[0], {"query": "ping"}),
        (SCHEMAS[1], {"query": "ab", "n": 9, "x": None, "tags": ["a"], "mode": "fast", "d": "2026-11-24"}),
        (SCHEMAS[4], {"k": "a", "x": 1}),
    ],
)
def test_everyday_input_passes_the_precheck(schema: dict[str, Any], valid: dict[str, Any]) -> None:
    precheck = compile_precheck(schema)
    assert precheck is not None
    assert precheck(valid)


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "#/$defs/q", "$defs": {"q": {"type": "object"}}},
        {"type": "array", "items": [{"type": "string"}]},
        {"enum": [1, 2]},
        {"const": True},
        {"type": "number", "multipleOf": 0.1},
        {"$schema": "http://json-schema.org/draft-04/schema#", "type": "integer"},
        {"type": "number", "minimum": 1, "exclusiveMinimum": True},
        {"type": "object", "properties": {"a": {"dependentRequired": {"a": ["b"]}}}},
        {"type": "object", "unevaluatedProperties": False},
        {"type": "array", "prefixItems": [{"type": "string"}]},
    ],
)
def test_schemas_it_could_misread_get_no_precheck(schema: dict[str, Any]) -> None:
    assert compile_precheck(schema) is None


def test_a_rejected_input_still_gets_jsonschemas_field_errors() -> None:
    schema = InputSchema(SCHEMAS[1])
    with pytest.raises(InputValidationError) as caught:
        schema.validate({"query": "zz", "n": 10, "extra": 1})
    fields = {error.field for error in caught.value.errors}
    assert fields == {"input.query", "input.n", "input.extra"}
