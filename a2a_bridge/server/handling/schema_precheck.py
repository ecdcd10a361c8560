"""A compiled pre-check of task input, for schemas where it cannot be more lenient.

jsonschema took 6 us to accept a one-field input, about a twentieth of a small
task's time in the bridge (bench/). fastjsonschema compiles a schema to Python
and accepts the same input in 0.5 us. Only its "valid" is trusted: anything it
rejects is validated again by jsonschema, which alone writes the errors.

fastjsonschema implements draft-07, while jsonschema reads a schema without
``$schema`` as 2020-12. So the pre-check is compiled only when every keyword in
the schema means the same in draft-07 and in 2020-12, and cannot accept what
jsonschema would refuse: no ``$ref`` (which fastjsonschema would also fetch),
no array-form ``items``, enums of strings only (Python's ``1 == True`` would
blur them), no ``multipleOf`` (floats are compared differently). For any other
schema jsonschema runs alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import fastjsonschema

from a2a_bridge.support.fast_paths import fallback

__all__ = ["compile_precheck"]

_ANNOTATIONS = frozenset(
    {"title", "description", "default", "examples", "$comment", "deprecated", "readOnly", "writeOnly"}
)
_COUNTS = frozenset({"minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"})
_NUMBERS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
_ONE_SCHEMA = frozenset({"not", "if", "then", "else", "propertyNames", "items", "additionalProperties"})
_SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf"})
_SCHEMA_MAPS = frozenset({"properties", "patternProperties"})
_TYPES = frozenset({"object", "array", "string", "number", "integer", "boolean", "null"})
_DRAFTS = frozenset(
    {
        "http://json-schema.org/draft-07/schema#",
        "http://json-schema.org/draft-07/schema",
        "https://json-schema.org/draft/2019-09/schema",
        "https://json-schema.org/draft/2020-12/schema",
    }
)


def compile_precheck(schema: Mapping[str, Any]) -> Callable[[Any], bool] | None:
    """A function telling whether input is certainly valid, or None for this schema."""
    top = dict(schema)
    declared = top.pop("$schema", None)
    if declared is not None and declared not in _DRAFTS:
        fallback("input_schema.precheck", f"jsonschema alone validates input of a {declared} schema")
        return None
    if not _same_in_both_drafts(top):
        fallback("input_schema.precheck", "jsonschema alone validates input: a keyword differs between drafts")
        return None
    try:
        validate = fastjsonschema.compile(top, use_default=False, use_formats=False)
    except Exception as exc:  # its own refusals and its bugs alike (2.22 fails on "const" without detailed errors)
        fallback("input_schema.precheck", f"jsonschema alone validates input: fastjsonschema refused ({exc})")
        return None

    def certainly_valid(data: Any) -> bool:
        try:
            validate(data)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return certainly_valid


def _same_in_both_drafts(schema: Any) -> bool:
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, dict):
        return False
    return all(_keyword_is_safe(keyword, value) for keyword, value in schema.items())


def _keyword_is_safe(keyword: str, value: Any) -> bool:
    if keyword in _ANNOTATIONS:
        return True
    if keyword in _ONE_SCHEMA:
        return _same_in_both_drafts(value)
    if keyword in _SCHEMA_LISTS:
        return isinstance(value, list) and all(_same_in_both_drafts(item) for item in value)
    if keyword in _SCHEMA_MAPS:
        return isinstance(value, dict) and all(_same_in_both_drafts(item) for item in value.values())
    if keyword == "type":
        names = value if isinstance(value, list) else [value]
        return all(isinstance(name, str) and name in _TYPES for name in names)
    if keyword == "required":
        return isinstance(value, list) and all(isinstance(name, str) for name in value)
    if keyword == "enum":
        return isinstance(value, list) and all(item is None or isinstance(item, str) for item in value)
    if keyword == "const":
        return value is None or isinstance(value, str)
    if keyword in _COUNTS:
        return type(value) is int
    if keyword in _NUMBERS:
        return type(value) in (int, float)
    if keyword in ("pattern", "format"):
        return isinstance(value, str)  # formats are not asserted by either
    return False
