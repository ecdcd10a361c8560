"""Secrets and keys read from files or the environment: bearer and client secrets, card signing keys."""
