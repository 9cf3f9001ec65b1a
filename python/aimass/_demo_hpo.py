"""The demo's tuning stage: a short am.hpo study picks the digits CNN's learning rate and width.

Each trial trains the CNN for a few epochs on the training images and reports the validation
accuracy after every epoch; the median pruner stops a trial that falls behind the others at the
same epoch (between epochs of the native loop, through am.hpo.PruningCallback). The best trial's
learning rate and width then train the final model (python/aimass/_demo.py).
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

import aimass as am


def digits_split(seed: int = 0) -> dict[str, np.ndarray]:
    """The digits as train / validation / test arrays (60 / 20 / 20, stratified)."""
    from ._demo import load_digits_dataset

    x, y = load_digits_dataset()
    x_rest, x_test, y_rest, y_test = am.data.train_test_split(x, y, test_size=0.2, stratify=y, seed=seed)
    x_train, x_val, y_train, y_val = am.data.train_test_split(x_rest, y_rest, test_size=0.25, stratify=y_rest,
                                                              seed=seed)
    return {"x_train": x_train, "y_train": y_train, "x_val": x_val, "y_val": y_val, "x_test": x_test, "y_test": y_test}


def compiled_model(width: int, lr: float, dropout: float = 0.3, epochs: int = 20) -> tuple[Any, Any]:
    """The demo's CNN at this width, compiled with AdamW at lr; returns (model, optimizer)."""
    from ._demo import build_model

    model = build_model(width=width, dropout=dropout)
    model.build((None, 1, 8, 8))
    optimizer = am.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    model.compile(optimizer=optimizer, loss=am.nn.CrossEntropyLoss(label_smoothing=0.05), metrics=["accuracy"])
    return model, optimizer


def train_trial(trial: Any, data: dict[str, np.ndarray], epochs: int = 6, pruned_error: type | None = None) -> float:
    """The objective: validation accuracy of the CNN trained with the trial's lr, width and dropout.
    pruned_error: the TrialPruned class of the study's library (Optuna's, to compare samplers)."""
    lr = trial.suggest_float("lr", 1e-4, 3e-2, log=True)
    width = trial.suggest_int("width", 8, 48, step=8)
    dropout = trial.suggest_float("dropout", 0.0, 0.5)
    model, _ = compiled_model(width, lr, dropout)
    pruning = am.hpo.PruningCallback(trial, monitor="val_accuracy")
    history = model.fit(data["x_train"], data["y_train"], epochs=epochs, batch_size=32,
                        validation_data=(data["x_val"], data["y_val"]), verbose=0, callbacks=[pruning])
    try:
        pruning.check_pruned()
    except am.hpo.TrialPruned as e:
        raise (pruned_error or am.hpo.TrialPruned)(str(e)) from None
    return float(history.history["val_accuracy"][-1])


def run_tune_stage(n_trials: int = 24, epochs: int = 6, seed: int = 0) -> dict[str, Any]:
    """The study; prints one line per trial and the best; returns the best parameters and the study."""
    hpo = am.hpo
    data = digits_split(seed)
    hpo.logging.set_verbosity(hpo.logging.WARNING)
    study = hpo.create_study(direction="maximize", study_name="digits-cnn",
                             sampler=hpo.samplers.TPESampler(seed=seed, n_startup_trials=8),
                             pruner=hpo.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=2))
    print(f"\ntuning: {n_trials} trials of up to {epochs} epochs pick lr, width and dropout "
          f"(TPE, median pruning on validation accuracy)")

    def report(study: Any, trial: Any) -> None:
        p = trial.params
        outcome = f"val accuracy {trial.value:.4f}" if trial.state == hpo.TrialState.COMPLETE else \
            f"pruned at epoch {trial.last_step + 1}" if trial.state == hpo.TrialState.PRUNED else trial.state.name
        print(f"  trial {trial.number:2d}: lr {p.get('lr', float('nan')):.2e}  width {p.get('width', 0):2d}  "
              f"dropout {p.get('dropout', float('nan')):.2f}  -> {outcome}")

    start = time.perf_counter()
    study.optimize(lambda t: train_trial(t, data, epochs), n_trials=n_trials, callbacks=[report])
    seconds = time.perf_counter() - start
    states = [t.state for t in study.trials]
    best = study.best_trial
    print(f"best trial {best.number}: val accuracy {best.value:.4f} with {best.params}; "
          f"{states.count(hpo.TrialState.PRUNED)} of {len(states)} trials pruned, {seconds:.1f} s")
    return {"best_params": best.params, "best_value": best.value, "study": study, "seconds": seconds}
