"""Knowledge distillation (Hinton, Vinyals & Dean, 2015) trained in the native fit loop.

    teacher.fit(x, y, epochs=20)                       # any trained model that outputs logits
    student = am.nn.Sequential([...])                  # smaller, outputs logits of the same classes
    history = am.quant.distill(teacher, student, x, y, temperature=4.0, alpha=0.9, epochs=10,
                               batch_size=64, optimizer=am.optim.Adam(learning_rate=3e-3),
                               validation_data=(x_val, y_val))
    student.predict(x_test)                            # trained in place

The loss per batch is

    alpha * T^2 * KL(softmax(teacher(x) / T) || softmax(student(x) / T)) + (1 - alpha) * CE(student(x), y)

(KL and cross entropy averaged over the samples). It runs in C++ (csrc/quant/distill.h): a
native pair module calls the student and, in eval mode without gradients, the teacher on each
batch, packing both logits as (N, 2C); a native loss splits them. The teacher's outputs are
computed batch by batch, never stored for the whole set, and the teacher is not changed.
"""
from __future__ import annotations

from typing import Iterable

from .. import _core

DistillationLoss = _core.quant.DistillationLoss


def _last_layer(model):
    from ..nn import functional_api, layers

    if type(model) is layers.Sequential and len(model):
        return _last_layer(model[len(model) - 1])
    if type(model) is functional_api.Model and model.num_outputs == 1:
        return _last_layer(model.layers[-1]) if model.layers else None
    return model


def _check_logits(model, who: str) -> None:
    """A model ending in softmax gives probabilities: the loss takes logits."""
    from ..nn import Softmax

    last = _last_layer(model)
    if isinstance(last, Softmax) or (last.get_config() or {}).get("activation") == "softmax":
        raise ValueError(f"distill: the {who} ends in a softmax; distillation takes logits: drop its final softmax "
                         f"(Dense(10) rather than Dense(10, activation='softmax'))")


def distill(teacher, student, x, y=None, temperature: float = 4.0, alpha: float = 0.9, epochs: int = 10,
            batch_size: int = 32, optimizer="adam", metrics=("accuracy",), validation_data=None,
            callbacks: Iterable | None = None, shuffle: bool = True, clip_grad_norm: float | None = None,
            verbose: int | str = 0):
    """Trains ``student`` (in place) to match ``teacher`` on (x, y); returns the History.

    x, y: arrays or Tensors (x may be an am.data.DataLoader, y then None); y holds class ids (N,).
    teacher and student output logits (N, C) of the same C. temperature (T > 0) softens both
    distributions; alpha in [0, 1] weighs the teacher's term against the labels' (alpha=1: the
    teacher alone). optimizer: a name ("adam", ...) or an am.optim optimizer, bound to the
    student's parameters (made unbound, or bound to them). metrics: names, computed on the
    student's logits ("accuracy", "val_accuracy" in the history). validation_data: (x_val,
    y_val): val_loss is the same distillation loss. callbacks: as fit's (they see the student:
    EarlyStopping(restore_best_weights=True), ModelCheckpoint save the student). The student
    is left in train mode, uncompiled as it was (compile it to evaluate with model.evaluate)."""
    from ..nn import model as training

    if epochs < 0 or batch_size <= 0:
        raise ValueError(f"distill: epochs must be >= 0 and batch_size > 0, got epochs={epochs}, "
                         f"batch_size={batch_size}")
    if not temperature > 0:
        raise ValueError(f"distill: temperature must be positive, got {temperature}")
    if teacher is student:
        raise ValueError("distill: the student and the teacher must be two models")
    for who, model in (("teacher", teacher), ("student", student)):
        _check_logits(model, who)
    loss = DistillationLoss(temperature=float(temperature), alpha=float(alpha))
    train = training._loader(x, y, batch_size, shuffle, "distill")
    val = None
    if validation_data is not None:
        vx, vy = (validation_data, None) if not isinstance(validation_data, (tuple, list)) else validation_data[:2]
        val = training._loader(vx, vy, batch_size, False, "distill (validation_data)")
    training._ensure_built(teacher, train)
    training._ensure_built(student, train)
    own = {hash(p) for p in student.parameters()}  # a Tensor hashes by its native tensor
    if getattr(optimizer, "is_bound", False) and any(hash(p) not in own for g in optimizer.param_groups
                                                     for p in g["params"]):
        raise ValueError("distill: the optimizer must train the student's parameters only (create it unbound, "
                         "e.g. am.optim.Adam(learning_rate=1e-3), or with student.parameters())")
    opt = training._make_optimizer(student, optimizer)
    if not opt.is_bound:
        opt.bind(list(student.parameters()))
    streaming = [_core.quant._StudentMetric(m) for m in metrics or []]
    pair = _core.quant._DistillationPair(student, teacher)
    return training._fit_loop(student, pair, loss, opt, streaming, train, val, batch_size, epochs, verbose, callbacks,
                              0, clip_grad_norm)
