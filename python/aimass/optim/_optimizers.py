"""The optimizer classes: PyTorch's signatures over the native optimizers of aimass._core.optim,
and Keras's.

    am.optim.Adam(model.parameters(), lr=1e-3)       # PyTorch: bound to these parameters now
    am.optim.Adam(learning_rate=1e-3)                # Keras: unbound; model.compile binds it
    am.optim.Adam(1e-3)                              # Keras, positional learning rate
    am.optim.Adam()                                  # Keras, default settings

An unbound optimizer has no parameter groups until ``model.compile(optimizer=opt)`` (or
``opt.bind(params)``) gives it the model's parameters; step() before that is a RuntimeError.
Keras's argument names are accepted beside PyTorch's: learning_rate (lr), beta_1 / beta_2
(betas), epsilon (eps), rho (RMSprop's alpha); unnamed settings keep PyTorch's defaults.

Python only normalises arguments (an iterable of tensors or a list of group dicts; betas as a
tuple) and presents groups and state as PyTorch does; every rule and every update is native.
"""
from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any

import numpy as np

from .. import _core

_native = _core.optim


def _param_list(params: Any, who: str) -> list:
    if isinstance(params, _core.Tensor):
        raise TypeError(f"{who}: params must be an iterable of Tensors or of dicts, got a single Tensor")
    return list(params)


def _options(opt: Any, group: dict, who: str) -> dict[str, float]:
    """A group dict's options in the native names (betas -> beta1, beta2)."""
    out: dict[str, float] = {}
    for key, value in group.items():
        if key == "params":
            continue
        if key == "betas" and "beta1" in opt.option_names:
            try:
                b1, b2 = value
            except (TypeError, ValueError):
                raise ValueError(f"{who}: betas must be a pair (beta1, beta2), got {value!r}") from None
            out["beta1"], out["beta2"] = float(b1), float(b2)
        elif key in opt.option_names:
            out[key] = float(value)
        else:
            raise ValueError(f"{who}: unknown option '{key}' in a parameter group")
    return out


class ParamGroup(MutableMapping):
    """One entry of ``optimizer.param_groups``: a dict view of a native group. Setting an
    option (``group["lr"] = 0.1``) changes the native optimizer; other keys are kept here."""

    def __init__(self, opt: Any, index: int) -> None:
        self._opt, self._index, self._extra = opt, index, {}

    def _keys(self) -> list[str]:
        names = self._opt.option_names
        keys = ["params"] + [n for n in names if n not in ("beta1", "beta2")]
        if "beta1" in names:
            keys.insert(keys.index("eps") if "eps" in keys else len(keys), "betas")
        return keys + list(self._extra)

    def __getitem__(self, key: str) -> Any:
        opt, i = self._opt, self._index
        if key == "params":
            return list(opt.params(i))
        if key == "betas" and "beta1" in opt.option_names:
            return (opt.option(i, "beta1"), opt.option(i, "beta2"))
        if key in opt.option_names:
            v = opt.option(i, key)
            return bool(v) if opt.is_flag(key) else v
        return self._extra[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if key == "params":
            raise ValueError(f"{self._opt.name}: a group's params cannot be replaced; use add_param_group")
        if key == "betas" or key in self._opt.option_names:
            for name, v in _options(self._opt, {key: value}, self._opt.name).items():
                self._opt.set_option(self._index, name, v)
        else:
            self._extra[key] = value

    def __delitem__(self, key: str) -> None:
        del self._extra[key]

    def __iter__(self):
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def __repr__(self) -> str:
        return repr({k: v for k, v in self.items() if k != "params"} | {"params": f"<{len(self['params'])} tensors>"})


def _keras_form(who: str, params: Any, lr: float, learning_rate: float | None) -> tuple[Any, float]:
    """(params or None when unbound, lr) from PyTorch's (params, lr) or Keras's (learning_rate) forms."""
    if isinstance(params, (int, float, np.floating, np.integer)) and not isinstance(params, bool):
        if learning_rate is not None:
            raise TypeError(f"{who}: the learning rate is given twice (positionally and as learning_rate)")
        return None, float(params)
    if learning_rate is not None:
        return params, float(learning_rate)
    return params, lr


def _keras_betas(betas: Any, beta_1: float | None, beta_2: float | None) -> Any:
    if beta_1 is None and beta_2 is None:
        return betas
    b1, b2 = _options_betas("optimizer", betas).values()
    return (b1 if beta_1 is None else beta_1, b2 if beta_2 is None else beta_2)


class Optimizer:
    """What every optimizer adds to its native class: groups, PyTorch's state_dict, add_param_group,
    and binding (an optimizer made without parameters gets them from model.compile)."""

    def _setup(self, params: Any) -> None:
        who = type(self).__name__
        if params is None:
            self._groups: list[ParamGroup] = []  # unbound: model.compile or bind() gives the parameters
            return
        items = _param_list(params, who)
        if not items:
            raise ValueError(f"{who}: got an empty parameter list")
        groups = items if isinstance(items[0], dict) else [{"params": items}]
        self._groups = []
        for g in groups:
            self.add_param_group(g)

    @property
    def is_bound(self) -> bool:
        """Whether the optimizer has parameters (False for Adam(learning_rate=...) before compile)."""
        return bool(self._groups)

    def bind(self, params: Any) -> "Optimizer":
        """Gives an unbound optimizer its parameters (what model.compile does); returns it."""
        if self._groups:
            raise RuntimeError(f"{type(self).__name__}: already bound to {sum(len(g['params']) for g in self._groups)} "
                               f"parameters; create a new optimizer for other parameters")
        self._setup(params)
        return self

    def step(self) -> None:
        if not self._groups:
            raise RuntimeError(f"{type(self).__name__}: step() on an optimizer with no parameters: it was created "
                               f"without them (Keras's form); give it to model.compile(optimizer=...), which binds it "
                               f"to the model's parameters, or create it as {type(self).__name__}(model.parameters(), ...)")
        super().step()  # type: ignore[misc]

    def add_param_group(self, param_group: dict) -> None:
        who = type(self).__name__
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError(f"{who}: a parameter group is a dict with a 'params' entry, got {type(param_group).__name__}")
        params = param_group["params"]
        params = [params] if isinstance(params, _core.Tensor) else _param_list(params, who)
        for i, p in enumerate(params):
            if not isinstance(p, _core.Tensor):
                raise TypeError(f"{who}: parameter {i} is a {type(p).__name__}, not a Tensor")
        self._add_param_group(params, _options(self, param_group, who))
        self._groups.append(ParamGroup(self, len(self._groups)))

    @property
    def param_groups(self) -> list[ParamGroup]:
        return self._groups

    @property
    def defaults(self) -> dict[str, Any]:
        out = {}
        for name in self.option_names:
            v = self.default_option(name)
            out[name] = bool(v) if self.is_flag(name) else v
        if "beta1" in out:
            out["betas"] = (out.pop("beta1"), out.pop("beta2"))
        return out

    def state_dict(self) -> dict[str, Any]:
        """PyTorch's layout: {"state": {index: {"step", buffers..., "master"}}, "param_groups":
        [{options..., "params": [index, ...]}]}, with NumPy copies of the tensors."""
        state: dict[int, dict[str, Any]] = {}
        groups = []
        index = 0
        for g, group in enumerate(self._groups):
            ids = []
            for i in range(len(self.params(g))):
                step, master, buffers = self._state(g, i)
                if step > 0 or master is not None or any(b is not None for b in buffers):
                    entry: dict[str, Any] = {"step": step}
                    for name, b in zip(self.state_names, buffers):
                        if b is not None:
                            entry[name] = np.array(b.numpy() if b.device.type == "cpu" else b.cpu().numpy())
                    if master is not None:
                        entry["master"] = np.array(master.numpy() if master.device.type == "cpu" else master.cpu().numpy())
                    state[index] = entry
                ids.append(index)
                index += 1
            d = {k: v for k, v in group.items() if k != "params"}
            d["params"] = ids
            groups.append(d)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        who = type(self).__name__
        groups = state_dict["param_groups"]
        if len(groups) != len(self._groups):
            raise ValueError(f"{who}.load_state_dict: the state has {len(groups)} parameter groups, the optimizer {len(self._groups)}")
        for g, saved in enumerate(groups):
            if len(saved["params"]) != len(self.params(g)):
                raise ValueError(f"{who}.load_state_dict: group {g} has {len(saved['params'])} parameters in the state, "
                                 f"{len(self.params(g))} in the optimizer")
        state = state_dict["state"]
        for g, saved in enumerate(groups):
            for key, value in saved.items():
                if key != "params":
                    self._groups[g][key] = value
            for i, pid in enumerate(saved["params"]):
                entry = state.get(pid, state.get(str(pid)))
                if entry is None:
                    self._set_state(g, i, 0, None, [None] * len(self.state_names))
                    continue
                tensor = lambda a: None if a is None else _core.tensor(np.ascontiguousarray(a))  # noqa: E731
                buffers = [tensor(entry.get(name)) for name in self.state_names]
                self._set_state(g, i, int(entry.get("step", 0)), tensor(entry.get("master")), buffers)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self._groups)} groups, {self.defaults})"


class SGD(Optimizer, _native.SGD):
    """p -= lr * d with d = grad + weight_decay * p through momentum (dampening, Nesterov)."""

    def __init__(self, params=None, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 nesterov: bool = False, weight_decay: float = 0, *, learning_rate: float | None = None) -> None:
        params, lr = _keras_form("SGD", params, lr, learning_rate)
        _native.SGD.__init__(self, dict(lr=lr, momentum=momentum, dampening=dampening, nesterov=float(nesterov),
                                        weight_decay=weight_decay))
        self._setup(params)


class Adam(Optimizer, _native.Adam):
    """Adam (Kingma & Ba, 2015), optionally AMSGrad; weight_decay is L2 added to the gradient."""

    def __init__(self, params=None, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, learning_rate: float | None = None,
                 beta_1: float | None = None, beta_2: float | None = None, epsilon: float | None = None) -> None:
        params, lr = _keras_form(type(self).__name__, params, lr, learning_rate)
        betas, eps = _keras_betas(betas, beta_1, beta_2), eps if epsilon is None else epsilon
        _native.Adam.__init__(self, _defaults(type(self).__name__, lr, betas, eps=eps, weight_decay=weight_decay,
                                              amsgrad=float(amsgrad)))
        self._setup(params)


class AdamW(Optimizer, _native.AdamW):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019)."""

    def __init__(self, params=None, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, learning_rate: float | None = None,
                 beta_1: float | None = None, beta_2: float | None = None, epsilon: float | None = None) -> None:
        params, lr = _keras_form("AdamW", params, lr, learning_rate)
        betas, eps = _keras_betas(betas, beta_1, beta_2), eps if epsilon is None else epsilon
        _native.AdamW.__init__(self, _defaults("AdamW", lr, betas, eps=eps, weight_decay=weight_decay,
                                               amsgrad=float(amsgrad)))
        self._setup(params)


class RMSprop(Optimizer, _native.RMSprop):
    """RMSprop (Hinton), optionally centered, with momentum."""

    def __init__(self, params=None, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0,
                 momentum: float = 0, centered: bool = False, *, learning_rate: float | None = None,
                 rho: float | None = None, epsilon: float | None = None) -> None:
        params, lr = _keras_form("RMSprop", params, lr, learning_rate)
        alpha, eps = alpha if rho is None else rho, eps if epsilon is None else epsilon
        _native.RMSprop.__init__(self, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                            centered=float(centered)))
        self._setup(params)


class Adagrad(Optimizer, _native.Adagrad):
    """Adagrad (Duchi et al., 2011) with lr decay."""

    def __init__(self, params=None, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0, eps: float = 1e-10,
                 initial_accumulator_value: float = 0, *, learning_rate: float | None = None,
                 epsilon: float | None = None) -> None:
        params, lr = _keras_form("Adagrad", params, lr, learning_rate)
        eps = eps if epsilon is None else epsilon
        _native.Adagrad.__init__(self, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps,
                                            initial_accumulator_value=initial_accumulator_value))
        self._setup(params)


class Lion(Optimizer, _native.Lion):
    """Lion (Chen et al., 2023): p -= lr * (sign(beta1 m + (1 - beta1) g) + weight_decay * p)."""

    def __init__(self, params=None, lr: float = 1e-4, betas: tuple[float, float] = (0.9, 0.99),
                 weight_decay: float = 0, *, learning_rate: float | None = None, beta_1: float | None = None,
                 beta_2: float | None = None) -> None:
        params, lr = _keras_form("Lion", params, lr, learning_rate)
        betas = _keras_betas(betas, beta_1, beta_2)
        _native.Lion.__init__(self, _defaults("Lion", lr, betas, weight_decay=weight_decay))
        self._setup(params)


def _defaults(who: str, lr: float, betas: Any, **rest: float) -> dict[str, float]:
    return {"lr": lr, **_options_betas(who, betas), **rest}


def _options_betas(who: str, betas: Any) -> dict[str, float]:
    try:
        b1, b2 = betas
    except (TypeError, ValueError):
        raise ValueError(f"{who}: betas must be a pair (beta1, beta2), got {betas!r}") from None
    return {"beta1": float(b1), "beta2": float(b2)}


def _tensors(parameters: Any) -> list:
    if isinstance(parameters, _core.Tensor):
        return [parameters]
    return list(parameters)


def clip_grad_norm_(parameters: Iterable | Any, max_norm: float, norm_type: float = 2.0) -> float:
    """Scales the gradients so their global L2 norm is at most max_norm; returns the norm before."""
    if float(norm_type) != 2.0:
        raise ValueError(f"clip_grad_norm_: only norm_type=2 is supported, got {norm_type}")
    return _native.clip_grad_norm_(_tensors(parameters), float(max_norm))


def clip_grad_value_(parameters: Iterable | Any, clip_value: float) -> None:
    """Clamps every gradient element to [-clip_value, clip_value]."""
    _native.clip_grad_value_(_tensors(parameters), float(clip_value))
