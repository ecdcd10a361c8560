"""Numbers a task can keep: JSON has no NaN or infinity, so a message carrying one is refused by name.

Python's json reads ``NaN`` and gRPC carries any double, but a task holding one
could never be written out again: its GetTask and every ListTasks of its owner
would fail. So the field is named and the message refused before it is stored.
"""

from __future__ import annotations

import math

from google.protobuf.struct_pb2 import Struct, Value

__all__ = ["non_finite_field"]


def non_finite_field(value: Struct | Value, path: str) -> str | None:
    """The path of the first NaN or infinity in ``value``, or None."""
    if isinstance(value, Struct):
        for key, item in value.fields.items():
            if (found := non_finite_field(item, f"{path}.{key}")) is not None:
                return found
        return None
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        return None if math.isfinite(value.number_value) else path
    if kind == "struct_value":
        return non_finite_field(value.struct_value, path)
    if kind == "list_value":
        for index, item in enumerate(value.list_value.values):
            if (found := non_finite_field(item, f"{path}[{index}]")) is not None:
                return found
    return None
