"""am.hpo.PruningCallback on aimass's Model.fit: reports the monitored metric per epoch, stops the
native loop when the pruner says so, and check_pruned() raises TrialPruned after fit."""
import numpy as np
import pytest

import aimass as am
import aimass.hpo as ah
import aimass.nn as nn


def _data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = (rng.standard_normal((n, 4)) + 2.0 * y[:, None]).astype(np.float32)
    return x, y.astype(np.int64)


def _model(lr):
    model = nn.Sequential([nn.Dense(8, activation="relu"), nn.Dense(2)])
    model.build((None, 4))
    model.compile(optimizer=am.optim.Adam(model.parameters(), lr=lr), loss="cross_entropy", metrics=["accuracy"])
    return model


class _AlwaysPrune(ah.pruners.BasePruner):
    def __init__(self, at_step):
        self.at_step = at_step

    def prune(self, study, trial):
        return trial.last_step is not None and trial.last_step >= self.at_step


def test_reports_every_epoch_and_completes():
    am.manual_seed(0)
    x, y = _data()
    study = ah.create_study(pruner=ah.pruners.NopPruner())

    def objective(trial):
        cb = ah.PruningCallback(trial, monitor="val_loss")
        history = _model(1e-2).fit(x, y, epochs=4, batch_size=32, validation_split=0.25, callbacks=[cb], verbose=0)
        cb.check_pruned()
        assert not cb.pruned
        return history.history["val_loss"][-1]

    study.optimize(objective, n_trials=1)
    t = study.trials[0]
    assert t.state == ah.TrialState.COMPLETE
    assert sorted(t.intermediate_values) == [0, 1, 2, 3]
    assert t.intermediate_values[3] == t.value


def test_prune_stops_fit_between_epochs_and_raises_after():
    am.manual_seed(0)
    x, y = _data()
    study = ah.create_study(pruner=_AlwaysPrune(at_step=1))
    epochs_run = []

    def objective(trial):
        cb = ah.integration.AimassPruningCallback(trial, monitor="loss")
        history = _model(1e-2).fit(x, y, epochs=10, batch_size=32, callbacks=[cb], verbose=0)
        epochs_run.append(len(history.history["loss"]))
        cb.check_pruned()
        return 0.0

    study.optimize(objective, n_trials=1)
    t = study.trials[0]
    assert t.state == ah.TrialState.PRUNED
    assert epochs_run == [2]  # epochs 0 and 1 ran; fit stopped before epoch 2
    assert sorted(t.intermediate_values) == [0, 1]
    with pytest.raises(ah.TrialPruned, match="pruned at epoch 1"):
        cb = ah.PruningCallback(None)
        cb.pruned, cb.pruned_epoch = True, 1
        cb.check_pruned()


def test_median_pruner_prunes_a_bad_learning_rate():
    x, y = _data()
    study = ah.create_study(pruner=ah.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1))
    for lr in (3e-2, 3e-2, 3e-2):
        study.enqueue_trial({"lr": lr})
    study.enqueue_trial({"lr": 1e-7})  # learns nothing

    def objective(trial):
        am.manual_seed(0)
        cb = ah.PruningCallback(trial, monitor="val_loss")
        history = _model(trial.suggest_float("lr", 1e-8, 1e-1, log=True)).fit(
            x, y, epochs=6, batch_size=32, validation_split=0.25, callbacks=[cb], verbose=0)
        cb.check_pruned()
        return history.history["val_loss"][-1]

    study.optimize(objective, n_trials=4)
    assert [t.state for t in study.trials] == [ah.TrialState.COMPLETE] * 3 + [ah.TrialState.PRUNED]


def test_missing_monitor_warns_with_the_available_keys():
    x, y = _data()
    study = ah.create_study()
    trial = study.ask()
    cb = ah.PruningCallback(trial, monitor="val_acc")
    with pytest.warns(UserWarning, match=r"'val_acc' is not in the evaluation logs.*'loss'"):
        _model(1e-2).fit(x, y, epochs=1, batch_size=32, callbacks=[cb], verbose=0)
    assert trial._cached_frozen_trial.intermediate_values == {}
