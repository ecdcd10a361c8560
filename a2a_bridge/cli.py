"""The ``a2a-bridge`` command.

    a2a-bridge serve MODULE:ATTR [--host H] [--port P] [--secret NAME=VALUE ...]
                                 [--public-url URL] [--name N] [--description D]

A secret may be given as ``NAME=VALUE``, ``NAME=@FILE`` (first line of the
file) or ``NAME=env:VAR`` (an environment variable), so that secrets need not
appear in the process list.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from a2a_bridge.errors import BridgeError, ConfigurationError

__all__ = ["main"]

_SDK_TRACING_ENV = "OTEL_INSTRUMENTATION_A2A_SDK_ENABLED"


def load_object(spec: str) -> Any:
    """Import ``module:attr`` (``attr`` may be dotted), like uvicorn does."""
    module_name, sep, attr_path = spec.partition(":")
    if not sep or not module_name or not attr_path:
        raise ConfigurationError(f"expected MODULE:ATTR, e.g. my_agents:graph, got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise ConfigurationError(f"cannot import module {module_name!r}: no such module") from None
        raise
    for attr in attr_path.split("."):
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            raise ConfigurationError(f"module {module_name!r} has no attribute {attr_path!r}") from None
    return obj


def parse_secret(item: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep or not name or not value:
        raise ConfigurationError("--secret takes NAME=VALUE, NAME=@FILE or NAME=env:VAR")
    if value.startswith("@"):
        path = Path(value[1:])
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigurationError(f"cannot read the secret file for {name!r}: {exc.strerror}") from None
        value = lines[0].strip() if lines else ""
    elif value.startswith("env:"):
        var = value[4:]
        if var not in os.environ:
            raise ConfigurationError(f"environment variable {var} (secret for {name!r}) is not set")
        value = os.environ[var]
    return name, value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="a2a-bridge", description="Serve and call A2A agents.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve a runner, graph or crew over A2A")
    serve.add_argument("target", metavar="MODULE:ATTR", help="the object to serve, e.g. my_agents:graph")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    serve.add_argument("--port", type=int, default=8080, help="port to bind (default: %(default)s)")
    serve.add_argument(
        "--secret", action="append", default=[], metavar="NAME=VALUE", help="a caller's bearer secret; repeatable"
    )
    serve.add_argument("--public-url", help="the URL callers use, when behind a proxy")
    serve.add_argument("--name", help="override the card name")
    serve.add_argument("--description", help="override the card description")
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    serve.add_argument(
        "--sdk-tracing",
        action="store_true",
        help="keep the a2a-sdk's OpenTelemetry spans on (they cost about a third of its throughput)",
    )
    return parser


def _serve(args: argparse.Namespace) -> None:
    if not args.sdk_tracing:
        os.environ.setdefault(_SDK_TRACING_ENV, "false")
    from a2a_bridge.server import serve

    secrets = dict(parse_secret(item) for item in args.secret)
    obj = load_object(args.target)
    serve(
        obj,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        secrets=secrets or None,
        public_url=args.public_url,
        name=args.name,
        description=args.description,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            _serve(args)
    except BridgeError as exc:
        print(f"a2a-bridge: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
