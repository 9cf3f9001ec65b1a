"""The Keras-like training API on every ``am.nn.Module``: compile, fit, evaluate, predict, save.

    model.compile(optimizer=am.optim.AdamW(model.parameters(), 1e-3), loss="cross_entropy",
                  metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=5, batch_size=128, validation_split=0.1)
    model.evaluate(x_test, y_test)      # {"loss": ..., "accuracy": ...}
    probabilities = model.predict(x_new)

Each epoch runs in C++ with the GIL released (aimass/_core nn._train_epoch): batching and
shuffling (a native BatchSource with background prefetch), forward, loss, backward, optimizer
step and metrics. Python is called back between batches only for the progress bar and the
callbacks' batch hooks, and between epochs for validation and the epoch hooks. A model that is a
Python subclass of Module trains through the same loop, calling its forward in Python. A
functional am.nn.Model of one input and one output is a native graph and trains in the same
loop without Python; one of several inputs or outputs trains through aimass/nn/multi_io.py
(each step native, the loop over batches in Python).

Keras's probability losses on a model ending in softmax / sigmoid train from the logits
(csrc/nn/logits.h): the loop is given the model's twin without that activation and the
from-logits loss; metrics then see the logits (the accuracy metrics take logits or probabilities
alike for softmax outputs; binary_accuracy takes logits).
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

import numpy as np

from .. import _core
from .._core import Tensor
from . import callbacks as cbks
from .module import Module


class History(cbks.Callback):
    """What fit returns: ``history.history`` maps "loss", "accuracy", "val_loss", ... to one value
    per epoch; ``history.epoch`` lists the epochs run; ``interrupted`` is True after Ctrl-C."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.interrupted = False

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


# ---------------------------------------------------------------------------------------------
# compile

def _make_loss(loss) -> _core.nn.Loss:
    from .losses import Loss

    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str):
        return Loss(loss)
    raise TypeError(f"compile: loss must be a name such as 'cross_entropy' or an am.nn loss (CrossEntropyLoss(), "
                    f"MSELoss(), ...), got {type(loss).__name__}")


def _make_metrics(metrics) -> list:
    from ..metrics import Streaming

    out = []
    for m in metrics or []:
        if isinstance(m, str):
            out.append(Streaming(m))
        elif isinstance(m, Streaming):
            out.append(m)
        else:
            raise TypeError(f"compile: a metric must be a name such as 'accuracy', got {type(m).__name__}")
    return out


_OPTIMIZER_NAMES = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad",
                    "lion": "Lion"}


def _make_optimizer(model: Module, optimizer):
    """An am.optim optimizer bound to the model's parameters: a name ("adam": Adam() with its
    defaults, "sgd": SGD(lr=0.01)), an unbound optimizer (Adam(learning_rate=1e-3)), bound here, or
    one already bound to (some of) this model's parameters. An unbound one stays unbound while
    the model has no parameters yet (lazily sized layers): fit binds it once the model is built."""
    from .. import optim

    if isinstance(optimizer, str):
        if optimizer.lower() not in _OPTIMIZER_NAMES:
            raise ValueError(f"compile: unknown optimizer {optimizer!r} (expected one of {sorted(_OPTIMIZER_NAMES)})")
        cls = getattr(optim, _OPTIMIZER_NAMES[optimizer.lower()])
        optimizer = cls(lr=1e-2) if cls is optim.SGD else cls()
    if not isinstance(optimizer, optim.Optimizer):
        raise TypeError(f"compile: optimizer must be a name such as 'adam' or an am.optim optimizer, got "
                        f"{type(optimizer).__name__}")
    params = list(model.parameters())
    if not optimizer.is_bound:
        if params and _built(model):
            optimizer.bind(params)
        return optimizer
    own = {hash(p) for p in params}  # a Tensor hashes by its native tensor
    if any(hash(p) not in own for g in optimizer.param_groups for p in g["params"]):
        raise ValueError(f"compile: this {type(optimizer).__name__} is bound to parameters that are not this model's "
                         f"(it was given to another model, or created with other parameters): create a new one, e.g. "
                         f"am.optim.{type(optimizer).__name__}(learning_rate=...), which compile binds to this model")
    return optimizer


def _built(model: Module) -> bool:
    """Every layer has its weights (lazily sized ones are made by the first call)."""
    from .module import _is_python_forward

    return all(m.built for m in model.modules() if not _is_python_forward(m))


def compile(self: Module, optimizer="adam", loss="cross_entropy", metrics: Sequence[str] | None = None) -> None:
    """Chooses how fit trains: an optimizer (an am.optim instance -- bound to the model's parameters
    or, Keras's form, made without them: Adam(learning_rate=1e-3), which compile binds -- or a
    name: "adam", "adamw", "sgd", "rmsprop", "adagrad", "lion" with their default settings), a loss
    (a name or an am.nn loss module; Keras's names "categorical_crossentropy",
    "sparse_categorical_crossentropy", "binary_crossentropy" take probabilities, as Keras's
    from_logits=False; a model of several outputs takes one loss for all or a list / dict by
    output name) and metrics (names: "accuracy", "top_5_accuracy", "mse", "mae", ...)."""
    from .functional_api import Model

    multi = isinstance(self, Model) and self.num_outputs > 1
    made_loss = _make_losses(self, loss) if multi else _make_loss(loss)
    object.__setattr__(self, "_compiled", {"optimizer": _make_optimizer(self, optimizer), "loss": made_loss,
                                           "metrics": _make_metrics(metrics)})


def _make_losses(model, loss) -> list:
    """One loss per output of a multi-output model: one for all, a list in output order, or a dict
    by output name (Keras's forms)."""
    names = model.output_names
    if isinstance(loss, dict):
        unknown = set(loss) - set(names)
        if unknown or len(loss) != len(names):
            raise ValueError(f"compile: the loss dict must name every output {names}, got {sorted(loss)}")
        return [_make_loss(loss[n]) for n in names]
    if isinstance(loss, (list, tuple)):
        if len(loss) != len(names):
            raise ValueError(f"compile: {len(loss)} losses for {len(names)} outputs {names}")
        return [_make_loss(v) for v in loss]
    return [_make_loss(loss)] * len(names)


def _compiled(model: Module) -> dict:
    state = model.__dict__.get("_compiled")
    if state is None:
        raise RuntimeError(f"{type(model).__name__}: call model.compile(optimizer, loss, metrics) before fit / evaluate")
    return state


def _optimizer(model: Module):
    state = _compiled(model)
    opt = state["optimizer"]
    if not opt.is_bound:
        params = list(model.parameters())
        if not params:
            raise RuntimeError("fit: the model has no parameters to train")
        opt.bind(params)
    return opt


def _training_pair(model: Module, loss):
    """The module and loss the native loop trains: the model's from-logits twin and the
    from-logits loss when the model ends in the softmax / sigmoid of a Keras probability loss
    (csrc/nn/logits.h), else the model and loss themselves."""
    fused = _core.nn._fuse_output_activation(model, loss)
    return fused if fused is not None else (model, loss)


# ---------------------------------------------------------------------------------------------
# data

def _to_tensor(a, name: str) -> Tensor:
    if a is None:
        raise ValueError(f"fit: {name} is required")
    t = a if isinstance(a, Tensor) else _core.asarray(np.asarray(a))
    if t.ndim == 0 or t.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty batch of samples, got shape {tuple(t.shape)}")
    return t


def _loader(x, y, batch_size: int, shuffle: bool, what: str):
    """A native batch source over x and y (arrays or Tensors), or x itself when it is a DataLoader."""
    from ..data import DataLoader

    if isinstance(x, DataLoader):
        if y is not None:
            raise ValueError(f"{what}: y must be None when x is a DataLoader (it yields (x, y) batches)")
        return x
    x, y = _to_tensor(x, "x"), _to_tensor(y, "y")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"{what}: x {tuple(x.shape)} and y {tuple(y.shape)} must have the same number of samples")
    return DataLoader((x, y), batch_size=batch_size, shuffle=shuffle)


def _split(x, y, validation_split: float):
    """Keras's validation_split: the last fraction of the samples, before any shuffling."""
    if not 0.0 < validation_split < 1.0:
        raise ValueError(f"fit: validation_split must be in (0, 1), got {validation_split}")
    x, y = _to_tensor(x, "x"), _to_tensor(y, "y")
    n = x.shape[0]
    cut = n - int(math.floor(n * validation_split))
    if cut <= 0 or cut >= n:
        raise ValueError(f"fit: validation_split={validation_split} leaves no training or no validation samples "
                         f"out of {n}")
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


def _ensure_built(model: Module, loader) -> None:
    """Sizes lazily built layers with one sample, in eval mode: no random numbers are drawn, so a
    seeded fit is the same whether or not the model was built before."""
    from ..autograd import no_grad

    if all(m.built for m in model.modules()):
        return
    sample = _core.asarray(loader.dataset.x[:1])
    with no_grad(), _core.nn._mode(False):  # eval mode for this thread only
        model(sample)


def _class_weighted(loss, class_weight) -> Any:
    if class_weight is None:
        return loss
    from .losses import CrossEntropyLoss

    cfg = loss.get_config() if hasattr(loss, "get_config") else {}
    if cfg.get("kind", "cross_entropy") != "cross_entropy":
        raise ValueError("fit: class_weight applies to the cross_entropy loss only")
    n = max(int(k) for k in class_weight) + 1
    weight = np.ones(n, np.float32)
    for k, v in class_weight.items():
        weight[int(k)] = float(v)
    return CrossEntropyLoss(weight=weight, ignore_index=cfg.get("ignore_index", -100),
                            reduction=cfg.get("reduction", "mean"), label_smoothing=cfg.get("label_smoothing", 0.0))


# ---------------------------------------------------------------------------------------------
# fit / evaluate / predict

def fit(self: Module, x=None, y=None, batch_size: int = 32, epochs: int = 1, verbose: int | str = "auto",
        callbacks: Iterable[cbks.Callback] | None = None, validation_split: float = 0.0, validation_data=None,
        shuffle: bool = True, class_weight: dict | None = None, initial_epoch: int = 0,
        clip_grad_norm: float | None = None) -> History:
    """Trains for ``epochs`` epochs; returns a History. x, y: NumPy arrays or Tensors (x may be an
    am.data.DataLoader, y then None). validation_data: (x_val, y_val) or a DataLoader.
    class_weight: {class: weight} for the cross-entropy loss. Ctrl-C stops between steps: the
    model keeps every completed step and fit returns the history so far (history.interrupted)."""
    state = _compiled(self)
    if epochs < 0 or batch_size <= 0:
        raise ValueError(f"fit: epochs must be >= 0 and batch_size > 0, got epochs={epochs}, batch_size={batch_size}")
    if _multi_io(self):
        if class_weight is not None:
            raise ValueError("fit: class_weight is not supported for a model of several inputs or outputs")
        from . import multi_io

        return multi_io.fit(self, state, x, y, batch_size, epochs, verbose, callbacks, validation_split,
                            validation_data, shuffle, initial_epoch, clip_grad_norm)
    if validation_split and validation_data is None:
        (x, y), validation_data = _split(x, y, validation_split)
    train = _loader(x, y, batch_size, shuffle, "fit")
    val = None
    if validation_data is not None:
        vx, vy = (validation_data, None) if not isinstance(validation_data, (tuple, list)) else validation_data[:2]
        val = _loader(vx, vy, batch_size, False, "fit (validation_data)")
    _ensure_built(self, train)
    optimizer = _optimizer(self)
    loss = _class_weighted(state["loss"], class_weight)
    metrics = state["metrics"]
    trained, loss = _training_pair(self, loss)
    return _fit_loop(self, trained, loss, optimizer, metrics, train, val, batch_size, epochs, verbose, callbacks,
                     initial_epoch, clip_grad_norm)


def _fit_loop(self: Module, trained: Module, loss, optimizer, metrics: list, train, val, batch_size: int,
              epochs: int, verbose, callbacks, initial_epoch: int, clip_grad_norm) -> History:
    """fit's epochs: `trained` (the model, its from-logits twin, or am.quant.distill's pair of
    student and teacher) runs in the native loop; callbacks, History and stop_training see `self`."""
    history = History()
    show = verbose == "auto" or int(verbose) > 0
    cb_list = cbks.CallbackList([history, *([cbks.ProgressBar()] if show else []), *(callbacks or [])], model=self,
                                params={"epochs": epochs, "steps": len(train), "samples": train.num_samples,
                                        "batch_size": batch_size, "verbose": verbose})
    object.__setattr__(self, "stop_training", False)
    cb_list.on_train_begin()
    try:
        for epoch in range(initial_epoch, epochs):
            cb_list.on_epoch_begin(epoch)
            hook = cb_list.batch_hook(epoch) if cb_list.wants_batches() else None
            logs = _core.nn._train_epoch(trained, loss, optimizer, metrics, train._source, clip_grad_norm or 0.0, hook)
            epoch_logs = {"loss": logs["loss"], **{m.name: logs[m.name] for m in metrics}}
            epoch_logs["samples_per_second"] = logs["samples"] / logs["seconds"] if logs["seconds"] > 0 else 0.0
            if logs["interrupted"]:
                history.interrupted = True
                cb_list.on_interrupt(epoch, epoch_logs)
                break
            if val is not None:
                vlogs = _core.nn._evaluate(trained, loss, metrics, val._source)
                epoch_logs["val_loss"] = vlogs["loss"]
                epoch_logs.update({f"val_{m.name}": vlogs[m.name] for m in metrics})
            epoch_logs["lr"] = _lr(optimizer)
            cb_list.on_epoch_end(epoch, epoch_logs)
            if self.stop_training or logs["stopped"]:
                break
    except KeyboardInterrupt:
        history.interrupted = True
    finally:
        cb_list.on_train_end()
    return history


def _multi_io(model: Module) -> bool:
    """A functional model of several inputs or outputs: trained by aimass/nn/multi_io.py."""
    from .functional_api import Model

    return isinstance(model, Model) and (model.num_inputs > 1 or model.num_outputs > 1)


def _lr(optimizer) -> float:
    try:
        return float(optimizer.param_groups[0]["lr"])
    except (AttributeError, IndexError, KeyError, TypeError):
        return float("nan")


def evaluate(self: Module, x=None, y=None, batch_size: int = 32, verbose: int | str = 0) -> dict[str, float]:
    """Loss and metrics over (x, y) (or a DataLoader), in eval mode: {"loss": ..., "accuracy": ...}."""
    state = _compiled(self)
    if _multi_io(self):
        from . import multi_io

        return multi_io.evaluate(self, state, x, y, batch_size)
    from ..data import DataLoader

    if x is not None and not isinstance(x, DataLoader):
        x = _as_model_dtype(self, _to_tensor(x, "x"))
    data = _loader(x, y, batch_size, False, "evaluate")
    model, loss = _training_pair(self, state["loss"])
    logs = _core.nn._evaluate(model, loss, state["metrics"], data._source)
    return {"loss": logs["loss"], **{m.name: logs[m.name] for m in state["metrics"]}}


def predict(self: Module, x, batch_size: int = 32, numpy: bool = True):
    """The model's outputs for x in eval mode, batch by batch: a NumPy array (numpy=False: a Tensor)."""
    from ..data import DataLoader

    if _multi_io(self):
        from . import multi_io

        return multi_io.predict(self, x, batch_size, numpy)
    if isinstance(x, DataLoader):
        out = [predict(self, xb, batch_size, numpy=False) for xb, _ in x]
        result = _core.concatenate(out, 0)
    else:
        result = _core.nn._predict(self, _as_model_dtype(self, _to_tensor(x, "x")), batch_size)
    return result.cpu().numpy() if numpy else result


def _as_model_dtype(model: Module, x: Tensor) -> Tensor:
    """Float inputs in the model's 16-bit dtype when every floating parameter has it
    (``model.to(am.float16)`` / ``am.bfloat16``), as the layers need their input in their weights'
    dtype; x unchanged otherwise."""
    if not x.dtype.is_floating_point:
        return x
    dtypes = {p.dtype for p in model.parameters() if p.dtype.is_floating_point}
    if len(dtypes) == 1:
        (dtype,) = dtypes
        if dtype in (_core.DType.float16, _core.DType.bfloat16) and x.dtype != dtype:
            return x.to(dtype)
    return x


def _optimizer_of(self: Module):
    """The optimizer given to compile (None before compile)."""
    state = self.__dict__.get("_compiled")
    return None if state is None else state["optimizer"]


for _name, _fn in {"compile": compile, "fit": fit, "evaluate": evaluate, "predict": predict}.items():
    setattr(Module, _name, _fn)
Module.optimizer = property(_optimizer_of)
