"""fit / evaluate / predict for functional models of several inputs or outputs.

The native loop (csrc/nn/training.cpp) trains a model of one input tensor and one output; a
model of several runs here: the loop over batches is Python, each step native (the graph's
forward, the losses, backward, the optimizer's fused step). x is a list of arrays, one per
input (or one array for one input); y a list, one per output (or one array for one output).
(Dicts keyed by input and output names work too, as in Keras.) The loss is the sum of the outputs' losses, as Keras's. Metrics are per output, keyed
"<output name>_<metric>" as Keras does.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _core
from ..autograd import no_grad


def _arrays(v, names: list[str], what: str) -> list[np.ndarray]:
    """One array per input (or output): a list in order, a dict by name, or one array when there is one."""
    n = len(names)
    if isinstance(v, dict):
        if set(v) != set(names):
            raise ValueError(f"{what}: the dict must name exactly {names}, got {sorted(v)}")
        v = [v[name] for name in names]
    items = list(v) if isinstance(v, (list, tuple)) else [v]
    if len(items) != n:
        raise ValueError(f"{what}: expected {n} arrays (one per model {what.split()[-1]}), got {len(items)}")
    out = [t.cpu().numpy() if isinstance(t, _core.Tensor) else np.asarray(t) for t in items]
    sizes = {a.shape[0] if a.ndim else 0 for a in out}
    if len(sizes) != 1 or 0 in sizes:
        raise ValueError(f"{what}: every array needs the same non-zero number of samples, got {[a.shape for a in out]}")
    return out


def _batches(arrays: list[np.ndarray], batch_size: int, shuffle: bool):
    n = arrays[0].shape[0]
    # The shuffle draws from aimass's seeded generator, so am.manual_seed makes a fit repeatable.
    order = np.argsort(_core.rand((n,)).numpy(), kind="stable") if shuffle else np.arange(n)
    for begin in range(0, n, batch_size):
        idx = order[begin:begin + batch_size]
        yield [_core.asarray(np.ascontiguousarray(a[idx])) for a in arrays]


def _step_losses(model, losses, xs, ys):
    outs = model._run(xs)
    values = [loss(o, y) for loss, o, y in zip(losses, outs, ys)]
    total = values[0]
    for v in values[1:]:
        total = total + v
    return outs, total


def _metric_sets(model, metrics) -> list[list]:
    from ..metrics import Streaming

    if not metrics:
        return [[] for _ in model.output_names]
    return [[Streaming(m.name) for m in metrics] for _ in model.output_names]


def _metric_logs(model, sets) -> dict[str, float]:
    logs = {}
    single = len(model.output_names) == 1
    for name, ms in zip(model.output_names, sets):
        for m in ms:
            logs[m.name if single else f"{name}_{m.name}"] = m.result()
    return logs


def run_epoch(model, loss, optimizer, metrics, x, y, batch_size, shuffle, clip_grad_norm, train: bool):
    xs_all = _arrays(x, model._graph["input_names"], "fit x" if train else "evaluate x")
    ys_all = _arrays(y, model.output_names, "fit y" if train else "evaluate y")
    if xs_all[0].shape[0] != ys_all[0].shape[0]:
        raise ValueError(f"x has {xs_all[0].shape[0]} samples and y {ys_all[0].shape[0]}")
    losses = loss if isinstance(loss, list) else [loss]
    sets = _metric_sets(model, metrics)
    for ms in sets:
        for m in ms:
            m.reset()
    k = model.num_inputs
    total, samples = 0.0, 0
    params = [p for g in optimizer.param_groups for p in g["params"]] if train else []
    masked = train and bool(_core.quant._masked_parameters(model))  # am.quant.prune's masks, kept through training
    scope = _core.nn._mode(train)  # this thread's mode: a concurrent predict is not switched
    scope.__enter__()
    try:
        for batch in _batches(xs_all + ys_all, batch_size, shuffle and train):
            xs, ys = batch[:k], batch[k:]
            if train:
                optimizer.zero_grad()
                outs, value = _step_losses(model, losses, xs, ys)
                value.backward()
                if clip_grad_norm:
                    from ..optim import clip_grad_norm_

                    clip_grad_norm_(params, clip_grad_norm)
                optimizer.step()
                if masked:
                    _core.quant._apply_masks(model)
            else:
                with no_grad():
                    outs, value = _step_losses(model, losses, xs, ys)
            n = xs[0].shape[0]
            total += float(value.item()) * n
            samples += n
            with no_grad():
                for ms, o, yb in zip(sets, outs, ys):
                    for m in ms:
                        m.update(o.detach(), yb)
    finally:
        scope.__exit__(None, None, None)
        if train:
            optimizer.zero_grad()
    return {"loss": total / max(samples, 1), **_metric_logs(model, sets)}


def fit(model, state, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data, shuffle,
        initial_epoch, clip_grad_norm):
    from . import callbacks as cbks
    from .model import History, _lr, _optimizer

    if validation_split and validation_data is None:
        xs = _arrays(x, model._graph["input_names"], "fit x")
        ys = _arrays(y, model.output_names, "fit y")
        n = xs[0].shape[0]
        cut = n - int(math.floor(n * validation_split))
        if not 0 < cut < n:
            raise ValueError(f"fit: validation_split={validation_split} leaves no training or no validation samples")
        x, y = [a[:cut] for a in xs], [a[:cut] for a in ys]
        validation_data = ([a[cut:] for a in xs], [a[cut:] for a in ys])
    optimizer = _optimizer(model)
    history = History()
    steps = math.ceil(len(_arrays(x, model._graph["input_names"], "fit x")[0]) / batch_size)
    show = verbose == "auto" or int(verbose) > 0
    cb_list = cbks.CallbackList([history, *([cbks.ProgressBar()] if show else []), *(callbacks or [])], model=model,
                                params={"epochs": epochs, "steps": steps, "batch_size": batch_size, "verbose": verbose})
    object.__setattr__(model, "stop_training", False)
    cb_list.on_train_begin()
    try:
        for epoch in range(initial_epoch, epochs):
            cb_list.on_epoch_begin(epoch)
            logs = run_epoch(model, state["loss"], optimizer, state["metrics"], x, y, batch_size, shuffle,
                             clip_grad_norm, train=True)
            if validation_data is not None:
                vx, vy = validation_data[:2]
                vlogs = run_epoch(model, state["loss"], optimizer, state["metrics"], vx, vy, batch_size, False, None,
                                  train=False)
                logs.update({f"val_{k}": v for k, v in vlogs.items()})
            logs["lr"] = _lr(optimizer)
            cb_list.on_epoch_end(epoch, logs)
            if model.stop_training:
                break
    except KeyboardInterrupt:
        history.interrupted = True
    finally:
        cb_list.on_train_end()
    return history


def evaluate(model, state, x, y, batch_size):
    return run_epoch(model, state["loss"], None, state["metrics"], x, y, batch_size, False, None, train=False)


def predict(model, x, batch_size: int, numpy: bool):
    xs_all = _arrays(x, model._graph["input_names"], "predict x")
    outs: list[list] = [[] for _ in range(model.num_outputs)]
    with no_grad(), _core.nn._mode(False):
        for xs in _batches(xs_all, batch_size, False):
            for store, o in zip(outs, model._run(xs)):
                store.append(o)
    result = [_core.concatenate(o, 0) if len(o) > 1 else o[0] for o in outs]
    result = [r.cpu().numpy() for r in result] if numpy else result
    return result[0] if len(result) == 1 else result
