"""Which classes a model file may name. A loader rebuilds an architecture only from this registry
of aimass's own layer and model types, from classes the user registered, and from the
``custom_objects`` the caller passes, as Keras does::

    @am.nn.register_serializable()            # or register_serializable(name="MyNet")
    class MyNet(am.nn.Module): ...
    model = am.load("net.safetensors")        # finds MyNet by its registered name
    model = am.load("net.safetensors", custom_objects={"MyNet": MyNet})   # or passed at load time

Nothing a file names is ever imported, looked up as an attribute or called unless it is one of
these classes. An unknown name is a ValueError naming the class and the file.
"""
from __future__ import annotations

import threading
from typing import Mapping

from .module import Module

_lock = threading.Lock()
_builtin: dict[str, type] = {}   # aimass's own classes, by the name files use
_user: dict[str, type] = {}      # register_serializable


def register_builtin(*classes: type, name: str | None = None) -> None:
    """Adds aimass's own classes (layers, models, optimizers) under their class names."""
    with _lock:
        for cls in classes:
            _builtin[name or cls.__name__] = cls


def register_serializable(name: str | None = None, package: str | None = None):
    """Class decorator: lets am.load rebuild this user class from a file without custom_objects.
    The file records ``package>name`` when a package is given (default name: the class's name).
    A name already taken by an aimass class or by another registered class is refused."""
    def decorate(cls: type) -> type:
        if not isinstance(cls, type):
            raise TypeError(f"register_serializable: decorates a class, got {type(cls).__name__}")
        key = registered_name_of(cls, name, package)
        with _lock:
            if key in _builtin:
                raise ValueError(f"register_serializable: {key!r} is an aimass class name; pass name= or package=")
            other = _user.get(key)
            if other is not None and other is not cls:
                raise ValueError(f"register_serializable: {key!r} is already registered to "
                                 f"{other.__module__}.{other.__qualname__}")
            _user[key] = cls
        cls._aimass_registered_name = key
        return cls
    return decorate


def registered_name_of(cls: type, name: str | None = None, package: str | None = None) -> str:
    base = name or cls.__name__
    return f"{package}>{base}" if package else base


def name_of(cls: type) -> str:
    """The name a file records for ``cls``: its aimass name, its registered name, else its class
    name (which then loads only when passed in custom_objects or registered)."""
    registered = cls.__dict__.get("_aimass_registered_name")
    if registered is not None:
        return registered
    with _lock:
        for key, value in _builtin.items():
            if value is cls:
                return key
    return cls.__name__


def resolve(name, custom_objects: Mapping[str, type] | None, path: str, what: str = "class") -> type:
    """The class that ``name`` (read from the file at ``path``) stands for. custom_objects first,
    then registered classes, then aimass's own; a name in the old "module:qualname" form is
    looked up by its last part. Never imports anything."""
    if not isinstance(name, str):
        raise ValueError(f"am.load: {path!r} names a {what} that is not a string: {name!r}")
    candidates = [name]
    if ":" in name:  # files from aimass 0.1 recorded user classes as "module:qualname"
        candidates.append(name.rsplit(":", 1)[1].rsplit(".", 1)[-1])
    for key in candidates:
        if custom_objects and key in custom_objects:
            cls = custom_objects[key]
            if not isinstance(cls, type):
                raise TypeError(f"am.load: custom_objects[{key!r}] must be a class, got {type(cls).__name__}")
            return cls
    with _lock:
        for key in candidates:
            cls = _user.get(key) or _builtin.get(key)
            if cls is not None:
                return cls
    raise ValueError(f"am.load: {path!r} names the {what} {name!r}, which is not an aimass {what} nor a registered "
                     f"one; nothing was imported. If it is your own class, pass it: "
                     f"am.load(path, custom_objects={{{candidates[-1]!r}: {candidates[-1].split('>')[-1]}}}) or "
                     f"decorate it with @am.nn.register_serializable()")


def _register_aimass_types() -> None:
    from . import functional_api, layers

    register_builtin(*(obj for name, obj in vars(layers).items()
                       if isinstance(obj, type) and issubclass(obj, Module) and not name.startswith("_")
                       and name == obj.__name__))
    register_builtin(*(getattr(functional_api, name) for name in functional_api.LAYER_NAMES))
    register_builtin(layers.Dense, name="Linear")  # PyTorch's name for Dense


def optimizer_class(name, path: str) -> type:
    """An aimass optimizer class by the name a file records (SGD, Adam, ...)."""
    from .. import optim

    classes = {n: c for n, c in vars(optim).items()
               if isinstance(c, type) and issubclass(c, optim.Optimizer) and c is not optim.Optimizer}
    if not isinstance(name, str) or name not in classes:
        raise ValueError(f"am.load: {path!r} names an unknown optimizer {name!r} (expected one of {sorted(classes)})")
    return classes[name]


_register_aimass_types()
