"""`models:/` URIs, as MLflow writes them:

    models:/<name>/<version>    a version number (1, 2, ...)
    models:/<name>/latest       the highest version
    models:/<name>@<alias>      the version an alias points at (champion, canary, ...)

Names and aliases follow the rules below; they are also folder names under the artifact root,
so a name can never climb out of it ("..", "/", "\\" are not allowed).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

SCHEME = "models:/"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,255}")
_ALIAS = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,255}")
RESERVED_ALIASES = {"latest"}


def check_name(name) -> str:
    """A registered model's name: letters, digits, '.', '_', '-', starting with a letter or digit."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise ValueError(f"am.registry: invalid model name {name!r}: use letters, digits, '.', '_' and '-', "
                         "starting with a letter or digit, at most 256 characters, no '..'")
    return name


def check_alias(alias) -> str:
    if not isinstance(alias, str) or not _ALIAS.fullmatch(alias) or alias in RESERVED_ALIASES:
        raise ValueError(f"am.registry: invalid alias {alias!r}: use letters, digits, '_' and '-', starting with "
                         f"a letter or '_' (not {', '.join(sorted(RESERVED_ALIASES))})")
    return alias


def check_version(version) -> int:
    """A version number: an int >= 1, or a string of digits ("3")."""
    if isinstance(version, bool):
        raise ValueError(f"am.registry: invalid version {version!r}: expected an integer >= 1")
    if isinstance(version, str) and version.isdigit() and version.isascii():
        version = int(version)
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"am.registry: invalid version {version!r}: expected an integer >= 1")
    return version


@dataclass(frozen=True)
class ModelURI:
    """A parsed URI: exactly one of version, alias, latest says which version."""
    name: str
    version: int | None = None
    alias: str | None = None
    latest: bool = False


def parse(uri) -> ModelURI:
    """ValueError naming the URI when it is not one of the three forms."""
    if not isinstance(uri, str) or not uri.startswith(SCHEME):
        raise ValueError(f"am.registry: {uri!r} is not a models:/ URI (expected models:/<name>/<version>, "
                         "models:/<name>/latest or models:/<name>@<alias>)")
    rest = uri[len(SCHEME):]
    try:
        if "@" in rest and "/" not in rest:
            name, alias = rest.split("@", 1)
            return ModelURI(check_name(name), alias=check_alias(alias))
        name, sep, which = rest.partition("/")
        if sep and which == "latest":
            return ModelURI(check_name(name), latest=True)
        if sep and which.isdigit() and which.isascii():
            return ModelURI(check_name(name), version=check_version(which))
    except ValueError as e:
        raise ValueError(f"am.registry: malformed URI {uri!r}: {e}") from None
    raise ValueError(f"am.registry: malformed URI {uri!r} (expected models:/<name>/<version>, "
                     "models:/<name>/latest or models:/<name>@<alias>)")


def version_uri(name: str, version: int) -> str:
    return f"{SCHEME}{name}/{version}"
