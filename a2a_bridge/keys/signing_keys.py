"""Keys for signed Agent Cards: a private key that signs, and public keys that verify.

A key file is a PEM file (PKCS#8 or traditional; RSA, EC P-256/384/521 or
Ed25519) or a JWK / JWK Set JSON file. PyJWT and ``cryptography`` read them;
the algorithm follows from the key (RS256, ES256/384/512, EdDSA) and the key id
is the key's RFC 7638 thumbprint unless the file names one.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from a2a_bridge.errors import ConfigurationError

__all__ = ["SigningKey", "load_signing_key", "public_keys", "read_public_keys"]

_CURVE_ALGORITHMS = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
_THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}
_PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


@dataclass(frozen=True)
class SigningKey:
    """A private key that signs cards: its JWK, key id and algorithm."""

    jwk: Mapping[str, Any]
    kid: str
    alg: str

    def public_jwk(self) -> dict[str, Any]:
        """The public half, as a JWK to hand callers that verify."""
        return {k: v for k, v in self.jwk.items() if k not in _PRIVATE_MEMBERS and k != "key_ops"} | {"use": "sig"}


def _thumbprint(jwk: Mapping[str, Any]) -> str:
    members = _THUMBPRINT_MEMBERS.get(str(jwk.get("kty")), ())
    canonical = json.dumps({k: jwk[k] for k in members}, sort_keys=True, separators=(",", ":"))
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def _algorithm(jwk: Mapping[str, Any]) -> str:
    if jwk.get("alg"):
        return str(jwk["alg"])
    if jwk.get("kty") == "RSA":
        return "RS256"
    if jwk.get("kty") == "EC" and jwk.get("crv") in _CURVE_ALGORITHMS:
        return _CURVE_ALGORITHMS[str(jwk["crv"])]
    if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
        return "EdDSA"
    raise ConfigurationError(f"unsupported key type {jwk.get('kty')!r}: use RSA, EC (P-256/384/521) or Ed25519")


def _pem_to_jwk(data: bytes, *, private: bool, where: str) -> dict[str, Any]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

    try:
        key: Any = (
            serialization.load_pem_private_key(data, password=None)
            if private
            else serialization.load_pem_public_key(data)
        )
    except (ValueError, TypeError) as exc:
        kind = "private" if private else "public"
        raise ConfigurationError(f"{where} is not an unencrypted PEM {kind} key: {exc}") from None
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return dict(RSAAlgorithm.to_jwk(key, as_dict=True))
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return dict(ECAlgorithm.to_jwk(key, as_dict=True))
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return dict(OKPAlgorithm.to_jwk(key, as_dict=True))
    raise ConfigurationError(f"{where}: unsupported key type {type(key).__name__}; use RSA, EC or Ed25519")


def _read(path: str | Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the {what} {path}: {exc.strerror}") from None


def load_signing_key(path: str | Path, *, kid: str | None = None) -> SigningKey:
    """The private key in a PEM or JWK file, ready to sign cards."""
    data = _read(path, "card signing key")
    if data.lstrip().startswith(b"{"):
        try:
            jwk = json.loads(data)
        except json.JSONDecodeError as exc:
            raise ConfigurationError(f"the card signing key {path} is not valid JSON: {exc}") from None
        if not isinstance(jwk, dict) or "d" not in jwk:
            raise ConfigurationError(f"the card signing key {path} is not a private JWK (it has no 'd')")
    else:
        jwk = _pem_to_jwk(data, private=True, where=f"the card signing key {path}")
    alg = _algorithm(jwk)
    key_id = kid or str(jwk.get("kid") or _thumbprint(jwk))
    jwk = {**jwk, "kid": key_id, "alg": alg}
    _check_usable(jwk, f"the card signing key {path}")
    return SigningKey(jwk, key_id, alg)


def _check_usable(jwk: Mapping[str, Any], where: str) -> None:
    import jwt

    try:
        jwt.PyJWK(dict(jwk))
    except jwt.PyJWTError as exc:
        raise ConfigurationError(f"{where} cannot be used: {exc}") from None


def public_keys(source: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The public JWKs of a JWK or a JWK Set, by key id (a key without one goes by its thumbprint)."""
    keys = source.get("keys") if "keys" in source else [source]
    if not isinstance(keys, list) or not all(isinstance(key, Mapping) for key in keys):
        raise ConfigurationError("a key set must be a JWK or a JWK Set ({'keys': [...]})")
    found: dict[str, Mapping[str, Any]] = {}
    for key in keys:
        public = {k: v for k, v in key.items() if k not in _PRIVATE_MEMBERS}
        if key.get("use", "sig") != "sig":
            continue
        kid = str(public.get("kid") or _thumbprint(public))
        public = {**public, "kid": kid, "alg": _algorithm(public)}
        _check_usable(public, f"key {kid!r}")
        found[kid] = public
    if not found:
        raise ConfigurationError("the key set holds no signing key")
    return found


def read_public_keys(path: str | Path) -> dict[str, Mapping[str, Any]]:
    """The public keys in a file: a JWK, a JWK Set, or a PEM public (or private) key."""
    data = _read(path, "card verification keys")
    if data.lstrip().startswith(b"{"):
        try:
            return public_keys(json.loads(data))
        except json.JSONDecodeError as exc:
            raise ConfigurationError(f"the card verification keys {path} are not valid JSON: {exc}") from None
    private = b"PRIVATE KEY" in data
    return public_keys(_pem_to_jwk(data, private=private, where=f"the card verification key {path}"))
