"""Everything that touches the a2a-sdk. No other part of the core imports it.

server/  the A2A bindings of a served agent: routes, handler, executor, task store
client/  one remote replica through the SDK's client
wire/    what both share: ProtoJSON, parts, ids, task states, artifact names
sdk_internals.py  every SDK name the SDK does not export, under a contract test

When the SDK changes, this folder is the one that changes with it.
"""
