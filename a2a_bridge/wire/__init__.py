"""What both sides of the wire share: ProtoJSON, JSON bodies, parts, ids, state and artifact names."""
