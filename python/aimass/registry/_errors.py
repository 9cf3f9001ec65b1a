"""The registry's errors. An unknown model, version or alias is a NotFoundError: a RegistryError
and a KeyError (so `except KeyError` works as for a dict), whose message names what was looked
up. Bad arguments (a malformed URI, a path that is not a model file, an invalid name) are the
builtin ValueError, as elsewhere in aimass."""
from __future__ import annotations


class RegistryError(Exception):
    """Something the registry cannot do: its database or artifact store says no."""


class NotFoundError(RegistryError, KeyError):
    """No such registered model, model version or alias."""

    def __str__(self) -> str:  # KeyError would quote the message as a repr
        return str(self.args[0]) if self.args else ""
