"""am.hpo.model_selection: the same folds as scikit-learn's KFold / StratifiedKFold, over NumPy
arrays and aimass Tensors, and cross_val_score over an objective's fold function."""
import numpy as np
import pytest

import aimass as am
import aimass.hpo as ah
from aimass.hpo.model_selection import KFold, StratifiedKFold, cross_val_score

sk = pytest.importorskip("sklearn.model_selection")


def _folds(splitter, X, y=None):
    return [(tr.tolist(), te.tolist()) for tr, te in splitter.split(X, y)]


@pytest.mark.parametrize("n", [5, 17, 40])
@pytest.mark.parametrize("n_splits", [2, 3, 5])
@pytest.mark.parametrize("shuffle, seed", [(False, None), (True, 0), (True, 123)])
def test_kfold_matches_sklearn(n, n_splits, shuffle, seed):
    X = np.zeros((n, 2))
    assert _folds(KFold(n_splits, shuffle=shuffle, random_state=seed), X) == \
        _folds(sk.KFold(n_splits, shuffle=shuffle, random_state=seed), X)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("shuffle", [False, True])
def test_stratified_kfold_matches_sklearn(seed, shuffle):
    rng = np.random.default_rng(seed)
    y = rng.choice(["b", "a", "c"], size=int(rng.integers(15, 60)), p=[0.5, 0.3, 0.2])
    X = np.zeros((len(y), 3))
    rs = seed if shuffle else None
    assert _folds(StratifiedKFold(3, shuffle=shuffle, random_state=rs), X, y) == \
        _folds(sk.StratifiedKFold(3, shuffle=shuffle, random_state=rs), X, y)


def test_splits_aimass_tensors_and_takes_their_rows():
    x = am.tensor(np.arange(20, dtype=np.float32).reshape(10, 2))
    y = am.tensor(np.array([0, 1] * 5, dtype=np.int64))
    assert _folds(StratifiedKFold(2), x, y) == _folds(sk.StratifiedKFold(2), np.zeros((10, 1)), np.array([0, 1] * 5))
    seen = []

    def fn(fold):
        seen.append(fold.x_test.numpy()[:, 0].tolist())
        assert fold.x_train.shape == (8, 2) and fold.y_test.shape == (2,)
        return float(fold.index)

    scores = cross_val_score(fn, x, y, cv=5)
    assert scores.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert seen == [[0.0, 2.0], [4.0, 6.0], [8.0, 10.0], [12.0, 14.0], [16.0, 18.0]]


def test_cross_val_score_reports_and_prunes():
    X = np.arange(30.0)

    class PruneAfterFirst(ah.pruners.BasePruner):
        def prune(self, study, trial):
            return trial.last_step >= 1

    study = ah.create_study(pruner=PruneAfterFirst())

    def objective(trial):
        return cross_val_score(lambda f: f.x_test.mean(), X, cv=KFold(3), trial=trial).mean()

    study.optimize(objective, n_trials=1)
    t = study.trials[0]
    assert t.state == ah.TrialState.PRUNED
    assert t.intermediate_values == {0: 4.5, 1: (4.5 + 14.5) / 2}


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_splits=2 or more, got n_splits=1"):
        KFold(1)
    with pytest.raises(ValueError, match="random_state has no effect"):
        KFold(3, random_state=0)
    with pytest.raises(ValueError, match="n_splits=4 greater than the number of samples: n_samples=3"):
        list(KFold(4).split(np.zeros(3)))
    with pytest.raises(ValueError, match="cannot be greater than the number of members in each class"):
        list(StratifiedKFold(3).split(np.zeros(4), [0, 0, 1, 1]))
    with pytest.warns(UserWarning, match="least populated class in y has only 1 members"):
        list(StratifiedKFold(2).split(np.zeros(5), [0, 0, 0, 1, 1][:4] + [2]))
    with pytest.raises(TypeError, match="cv must be an int or a splitter"):
        cross_val_score(lambda f: 0.0, np.zeros(4), cv="five")
