"""aimass.metrics against scikit-learn (when installed) on random inputs: several seeds,
binary and multiclass, with and without labels and sample weights; hand-computed cases that
always run; edge cases (one class, zero_division, empty input) and errors; streaming metrics
against the one-shot functions."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import aimass as am
from aimass import metrics

SEEDS = [0, 1, 2]
TOL = dict(rtol=1e-9, atol=1e-12)


@pytest.fixture
def sk():
    skm = pytest.importorskip("sklearn.metrics")
    with warnings.catch_warnings():
        # Both libraries warn on ill-defined scores; the values are what is compared here.
        warnings.simplefilter("ignore")
        yield skm


def labels_and_preds(seed, n=200, c=3, weights=False):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, c, n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, c, n))
    w = rng.random(n) * 2 if weights else None
    return y_true, y_pred, w


def probabilities(seed, n=200, c=3, ties=False):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    logits = rng.normal(size=(n, c)) + 1.5 * np.eye(c)[y]
    if ties:
        logits = np.round(logits)
    p = np.exp(logits)
    return y, p / p.sum(axis=1, keepdims=True)


def close(a, b):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), **TOL)


# ---------------------------------------------------------------------------------------------
# hand-computed cases (always run)

def test_hand_computed_classification():
    y_true = [0, 1, 1, 0, 1, 1]
    y_pred = [0, 1, 0, 0, 1, 0]
    assert metrics.accuracy_score(y_true, y_pred) == pytest.approx(4 / 6)
    assert metrics.accuracy(y_true, y_pred, normalize=False) == 4.0
    assert metrics.precision_score(y_true, y_pred) == 1.0
    assert metrics.recall_score(y_true, y_pred) == 0.5
    assert metrics.f1_score(y_true, y_pred) == pytest.approx(2 / 3)
    assert metrics.fbeta_score(y_true, y_pred, beta=2) == pytest.approx(5 * 2 / (5 * 2 + 4 * 2))
    cm = metrics.confusion_matrix(y_true, y_pred)
    assert cm.dtype == np.int64 and cm.tolist() == [[2, 0], [2, 2]]
    assert metrics.confusion_matrix(y_true, y_pred, normalize="true").tolist() == [[1.0, 0.0], [0.5, 0.5]]
    p, r, f, s = metrics.precision_recall_fscore_support(y_true, y_pred)
    close(p, [0.5, 1.0]), close(r, [1.0, 0.5]), close(f, [2 / 3, 2 / 3])
    assert s.tolist() == [2, 4]


def test_hand_computed_strings_and_tensors():
    y_true = ["cat", "dog", "dog", "bird"]
    y_pred = ["cat", "dog", "cat", "bird"]
    assert metrics.accuracy_score(y_true, y_pred) == 0.75
    assert metrics.confusion_matrix(y_true, y_pred, labels=["dog", "cat"]).tolist() == [[1, 1], [0, 1]]
    t = am.tensor(np.array([0, 1, 2, 2], np.int64))
    p = am.tensor(np.array([0, 2, 2, 2], np.int64))
    assert metrics.accuracy_score(t, p) == 0.75
    assert metrics.mean_squared_error(am.tensor(np.array([1.0, 2.0])), [1.0, 4.0]) == 2.0


def test_hand_computed_ranking():
    y = [0, 0, 1, 1]
    s = [0.1, 0.4, 0.35, 0.8]
    assert metrics.roc_auc_score(y, s) == 0.75
    fpr, tpr, thr = metrics.roc_curve(y, s)
    close(fpr, [0, 0, 0.5, 0.5, 1]), close(tpr, [0, 0.5, 0.5, 1, 1])
    assert thr[0] == np.inf and thr[1:].tolist() == [0.8, 0.4, 0.35, 0.1]
    p, r, t = metrics.precision_recall_curve(y, s)
    close(p, [0.5, 2 / 3, 0.5, 1, 1]), close(r, [1, 1, 0.5, 0.5, 0]), close(t, [0.1, 0.35, 0.4, 0.8])
    assert metrics.average_precision_score(y, s) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)


def test_hand_computed_regression_and_log_loss():
    assert metrics.mean_absolute_error([3, -0.5, 2, 7], [2.5, 0.0, 2, 8]) == 0.5
    assert metrics.mean_squared_error([3, -0.5, 2, 7], [2.5, 0.0, 2, 8]) == 0.375
    assert metrics.r2_score([3, -0.5, 2, 7], [2.5, 0.0, 2, 8]) == pytest.approx(0.9486081370449679, abs=1e-15)
    assert metrics.log_loss(["spam", "ham", "ham", "spam"], [[.1, .9], [.9, .1], [.8, .2], [.35, .65]]) == \
        pytest.approx(-(np.log(.9) + np.log(.9) + np.log(.8) + np.log(.65)) / 4, abs=1e-15)
    assert metrics.top_k_accuracy_score([0, 1, 2, 2], [[.5, .2, .2], [.3, .4, .2], [.2, .4, .3], [.7, .2, .1]], k=2) == 0.75


def test_classification_report_text_hand_computed():
    text = metrics.classification_report([0, 1, 2, 2, 2], [0, 0, 2, 2, 1], target_names=["a", "b", "c"])
    expected = (
        "              precision    recall  f1-score   support\n\n"
        "           a       0.50      1.00      0.67         1\n"
        "           b       0.00      0.00      0.00         1\n"
        "           c       1.00      0.67      0.80         3\n\n"
        "    accuracy                           0.60         5\n"
        "   macro avg       0.50      0.56      0.49         5\n"
        "weighted avg       0.70      0.60      0.61         5\n")
    assert text == expected


# ---------------------------------------------------------------------------------------------
# against scikit-learn

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("c", [2, 4])
@pytest.mark.parametrize("weights", [False, True])
def test_label_metrics_match_sklearn(sk, seed, c, weights):
    y_true, y_pred, w = labels_and_preds(seed, c=c, weights=weights)
    close(metrics.accuracy_score(y_true, y_pred, sample_weight=w), sk.accuracy_score(y_true, y_pred, sample_weight=w))
    close(metrics.accuracy_score(y_true, y_pred, normalize=False, sample_weight=w),
          sk.accuracy_score(y_true, y_pred, normalize=False, sample_weight=w))
    for normalize in [None, "true", "pred", "all"]:
        ours = metrics.confusion_matrix(y_true, y_pred, sample_weight=w, normalize=normalize)
        ref = sk.confusion_matrix(y_true, y_pred, sample_weight=w, normalize=normalize)
        assert ours.dtype == ref.dtype
        close(ours, ref)
    labels = [c - 1, 0]
    close(metrics.confusion_matrix(y_true, y_pred, labels=labels, sample_weight=w),
          sk.confusion_matrix(y_true, y_pred, labels=labels, sample_weight=w))
    averages = ["micro", "macro", "weighted", None] + (["binary"] if c == 2 else [])
    for average in averages:
        for labels in [None, [0, c - 1]]:
            kw = dict(average=average, labels=labels, sample_weight=w)
            for ours, ref in zip(metrics.precision_recall_fscore_support(y_true, y_pred, beta=0.5, **kw),
                                 sk.precision_recall_fscore_support(y_true, y_pred, beta=0.5, **kw)):
                if ref is None:
                    assert ours is None
                else:
                    close(ours, ref)
            close(metrics.precision_score(y_true, y_pred, **kw), sk.precision_score(y_true, y_pred, **kw))
            close(metrics.recall_score(y_true, y_pred, **kw), sk.recall_score(y_true, y_pred, **kw))
            close(metrics.f1_score(y_true, y_pred, **kw), sk.f1_score(y_true, y_pred, **kw))
            close(metrics.fbeta_score(y_true, y_pred, beta=2.0, **kw), sk.fbeta_score(y_true, y_pred, beta=2.0, **kw))


@pytest.mark.parametrize("zero_division", ["warn", 0, 1, np.nan])
@pytest.mark.parametrize("average", ["micro", "macro", "weighted", None])
def test_zero_division_matches_sklearn(sk, zero_division, average):
    y_true = [0, 0, 1, 1, 2, 2]
    y_pred = [0, 0, 1, 0, 0, 1]  # label 2 never predicted, label 3 (given) never seen
    kw = dict(average=average, labels=[0, 1, 2, 3], zero_division=zero_division)
    for ours, ref in zip(metrics.precision_recall_fscore_support(y_true, y_pred, **kw),
                         sk.precision_recall_fscore_support(y_true, y_pred, **kw)):
        if ref is not None:
            np.testing.assert_allclose(ours, ref, **TOL)


@pytest.mark.parametrize("seed", SEEDS)
def test_string_labels_and_pos_label_match_sklearn(sk, seed):
    rng = np.random.default_rng(seed)
    names = np.array(["ham", "spam"])
    y_true, y_pred = names[rng.integers(0, 2, 50)], names[rng.integers(0, 2, 50)]
    for f in ["precision_score", "recall_score", "f1_score"]:
        close(getattr(metrics, f)(y_true, y_pred, pos_label="spam"), getattr(sk, f)(y_true, y_pred, pos_label="spam"))
    close(metrics.confusion_matrix(list(y_true), list(y_pred)), sk.confusion_matrix(y_true, y_pred))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("digits", [2, 4])
def test_classification_report_matches_sklearn(sk, seed, digits):
    y_true, y_pred, w = labels_and_preds(seed, c=4, weights=seed == 2)
    names = ["zero", "one", "two", "three"]
    kw = dict(sample_weight=w, digits=digits)
    assert metrics.classification_report(y_true, y_pred, **kw) == sk.classification_report(y_true, y_pred, **kw)
    assert metrics.classification_report(y_true, y_pred, target_names=names, **kw) == \
        sk.classification_report(y_true, y_pred, target_names=names, **kw)
    assert metrics.classification_report(y_true, y_pred, labels=[0, 2], **kw) == \
        sk.classification_report(y_true, y_pred, labels=[0, 2], **kw)
    ours = metrics.classification_report(y_true, y_pred, output_dict=True, sample_weight=w)
    ref = sk.classification_report(y_true, y_pred, output_dict=True, sample_weight=w)
    assert ours.keys() == ref.keys()
    for key in ref:
        if isinstance(ref[key], dict):
            assert ours[key].keys() == ref[key].keys()
            close(list(ours[key].values()), list(ref[key].values()))
        else:
            close(ours[key], ref[key])


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ties", [False, True])
def test_top_k_accuracy_matches_sklearn(sk, seed, ties):
    y, p = probabilities(seed, c=5, ties=ties)
    w = np.random.default_rng(seed).random(len(y))
    for k in [1, 2, 3]:
        for weights in [None, w]:
            close(metrics.top_k_accuracy_score(y, p, k=k, sample_weight=weights),
                  sk.top_k_accuracy_score(y, p, k=k, sample_weight=weights))
        close(metrics.top_k_accuracy_score(y, p, k=k, normalize=False),
              sk.top_k_accuracy_score(y, p, k=k, normalize=False))
    yb, pb = probabilities(seed, c=2)
    for scores in [pb[:, 1], pb[:, 1] * 4 - 2]:  # probabilities (threshold 0.5) and logits (threshold 0)
        close(metrics.top_k_accuracy_score(yb, scores, k=1), sk.top_k_accuracy_score(yb, scores, k=1))
    close(metrics.top_k_accuracy_score(y, p[:, :5], k=2, labels=[0, 1, 2, 3, 4]),
          sk.top_k_accuracy_score(y, p[:, :5], k=2, labels=[0, 1, 2, 3, 4]))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("weights", [False, True])
def test_binary_ranking_matches_sklearn(sk, seed, ties, weights):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 300)
    s = rng.normal(size=300) + y
    if ties:
        s = np.round(s, 1)
    w = rng.random(300) * (rng.random(300) > 0.1) if weights else None
    close(metrics.roc_auc_score(y, s, sample_weight=w), sk.roc_auc_score(y, s, sample_weight=w))
    close(metrics.roc_auc_score(y, s, sample_weight=w, max_fpr=0.3), sk.roc_auc_score(y, s, sample_weight=w, max_fpr=0.3))
    close(metrics.average_precision_score(y, s, sample_weight=w), sk.average_precision_score(y, s, sample_weight=w))
    for drop in [True, False]:
        for ours, ref in zip(metrics.roc_curve(y, s, sample_weight=w, drop_intermediate=drop),
                             sk.roc_curve(y, s, sample_weight=w, drop_intermediate=drop)):
            close(ours, ref)
        for ours, ref in zip(metrics.precision_recall_curve(y, s, sample_weight=w, drop_intermediate=drop),
                             sk.precision_recall_curve(y, s, sample_weight=w, drop_intermediate=drop)):
            close(ours, ref)
    # labels other than {0, 1}: pos_label picks the positive class
    names = np.array(["neg", "pos"])[y]
    for ours, ref in zip(metrics.roc_curve(names, s, pos_label="pos"), sk.roc_curve(names, s, pos_label="pos")):
        close(ours, ref)
    close(metrics.roc_auc_score(names, s), sk.roc_auc_score(names, s))
    close(metrics.average_precision_score(y * 2 - 1, s), sk.average_precision_score(y * 2 - 1, s))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("weights", [False, True])
def test_multiclass_ovr_matches_sklearn(sk, seed, weights):
    y, p = probabilities(seed, c=4, ties=seed == 2)
    w = np.random.default_rng(seed).random(len(y)) if weights else None
    for average in ["macro", "weighted", "micro", None]:
        close(metrics.roc_auc_score(y, p, multi_class="ovr", average=average, sample_weight=w),
              sk.roc_auc_score(y, p, multi_class="ovr", average=average, sample_weight=w))
        close(metrics.average_precision_score(y, p, average=average, sample_weight=w),
              sk.average_precision_score(y, p, average=average, sample_weight=w))
    close(metrics.roc_auc_score(y, p, multi_class="ovr", labels=[0, 1, 2, 3]),
          sk.roc_auc_score(y, p, multi_class="ovr", labels=[0, 1, 2, 3]))


@pytest.mark.parametrize("seed", SEEDS)
def test_multiclass_ovo_matches_sklearn(sk, seed):
    y, p = probabilities(seed, c=4, ties=seed == 2)
    for average in ["macro", "weighted"]:
        close(metrics.roc_auc_score(y, p, multi_class="ovo", average=average),
              sk.roc_auc_score(y, p, multi_class="ovo", average=average))
    y3 = np.where(y == 3, 2, y)  # class 3 absent from y_true, declared through labels
    close(metrics.roc_auc_score(y3, p, multi_class="ovo", labels=[0, 1, 2, 3]),
          sk.roc_auc_score(y3, p, multi_class="ovo", labels=[0, 1, 2, 3]))
    with pytest.raises(NotImplementedError, match="average=None"):
        metrics.roc_auc_score(y, p, multi_class="ovo", average=None)
    with pytest.raises(ValueError, match="sample_weight is not supported"):
        metrics.roc_auc_score(y, p, multi_class="ovo", sample_weight=np.ones(len(y)))


CASES_ILL_DEFINED = [
    ("precision_score", [0, 1, 1], [0, 0, 0], {}),
    ("recall_score", [0, 0, 0], [0, 1, 0], {}),
    ("f1_score", [0, 0, 2], [0, 0, 1], {"average": "macro", "labels": [0, 1, 2, 3]}),
    ("fbeta_score", [0, 0, 2], [0, 0, 1], {"average": "micro", "labels": [3], "beta": 2}),
    ("precision_recall_fscore_support", [0, 0, 2], [0, 0, 1], {"average": None}),
]


@pytest.mark.parametrize("name, y_true, y_pred, kw", CASES_ILL_DEFINED)
def test_ill_defined_warnings_match_sklearn(name, y_true, y_pred, kw):
    skm = pytest.importorskip("sklearn.metrics")
    messages = []
    for module in (metrics, skm):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            getattr(module, name)(y_true, y_pred, **kw)
        messages.append(sorted(str(w.message) for w in caught if "ill-defined" in str(w.message)))
    assert messages[0] == messages[1] and messages[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning once zero_division is given
        getattr(metrics, name)(y_true, y_pred, zero_division=0, **kw)


@pytest.mark.parametrize("seed", SEEDS)
def test_log_loss_matches_sklearn(sk, seed):
    y, p = probabilities(seed, c=3)
    w = np.random.default_rng(seed).random(len(y))
    close(metrics.log_loss(y, p), sk.log_loss(y, p))
    close(metrics.log_loss(y, p, sample_weight=w, normalize=False), sk.log_loss(y, p, sample_weight=w, normalize=False))
    p[0] = [1.0, 0.0, 0.0]  # clipping at eps
    close(metrics.log_loss(y, p), sk.log_loss(y, p))
    yb, pb = probabilities(seed, c=2)
    close(metrics.log_loss(yb, pb[:, 1]), sk.log_loss(yb, pb[:, 1]))
    close(metrics.log_loss(yb[:10] * 0 + 1, pb[:10, 1], labels=[0, 1]),
          sk.log_loss(yb[:10] * 0 + 1, pb[:10, 1], labels=[0, 1]))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", [(100,), (100, 3)])
@pytest.mark.parametrize("weights", [False, True])
def test_regression_matches_sklearn(sk, seed, shape, weights):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=shape)
    p = y + 0.5 * rng.normal(size=shape)
    w = rng.random(shape[0]) if weights else None
    outputs = ["raw_values", "uniform_average"] + ([np.array([0.2, 0.5, 0.3])] if len(shape) == 2 else [])
    for mo in outputs:
        close(metrics.mean_squared_error(y, p, sample_weight=w, multioutput=mo),
              sk.mean_squared_error(y, p, sample_weight=w, multioutput=mo))
        close(metrics.mean_absolute_error(y, p, sample_weight=w, multioutput=mo),
              sk.mean_absolute_error(y, p, sample_weight=w, multioutput=mo))
    for mo in outputs + ["variance_weighted"]:
        close(metrics.r2_score(y, p, sample_weight=w, multioutput=mo), sk.r2_score(y, p, sample_weight=w, multioutput=mo))
    if len(shape) == 2:  # a constant column: force_finite decides between 1 / 0 and nan / -inf
        y[:, 1] = 1.0
        for ff in [True, False]:
            close(metrics.r2_score(y, p, multioutput="raw_values", force_finite=ff),
                  sk.r2_score(y, p, multioutput="raw_values", force_finite=ff))


# ---------------------------------------------------------------------------------------------
# edge cases and errors

def test_single_class_inputs():
    assert metrics.accuracy_score([1, 1, 1], [1, 1, 1]) == 1.0
    with pytest.warns(UserWarning, match="single label"):
        assert metrics.confusion_matrix([1, 1], [1, 1]).tolist() == [[2]]
    assert metrics.confusion_matrix([1, 1], [1, 1], labels=[0, 1]).tolist() == [[0, 0], [0, 2]]
    with pytest.warns(metrics.UndefinedMetricWarning, match="Only one class"):
        assert np.isnan(metrics.roc_auc_score([1, 1, 1], [0.2, 0.5, 0.9]))
    assert metrics.precision_score([0, 0], [0, 0], zero_division=1) == 1.0
    assert np.isnan(metrics.recall_score([0, 0], [1, 0], zero_division=np.nan))
    with pytest.raises(ValueError, match="only one label"):
        metrics.log_loss([1, 1], [0.5, 0.9])
    with pytest.warns(metrics.UndefinedMetricWarning, match="less than two samples"):
        assert np.isnan(metrics.r2_score([1.0], [2.0]))


def test_errors():
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        metrics.accuracy_score([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="empty input"):
        metrics.f1_score([], [])
    with pytest.raises(ValueError, match="average has to be one of"):
        metrics.f1_score([0, 1], [0, 1], average="mean")
    with pytest.raises(ValueError, match="Target is multiclass but average='binary'"):
        metrics.precision_score([0, 1, 2], [0, 1, 2])
    with pytest.raises(ValueError, match="pos_label=2 is not a valid label"):
        metrics.recall_score([0, 1], [0, 1], pos_label=2)
    with pytest.raises(ValueError, match="mix of binary and continuous"):
        metrics.accuracy_score([0, 1], [0.5, 1.0])
    with pytest.raises(ValueError, match="multi_class must be in"):
        metrics.roc_auc_score([0, 1, 2], np.eye(3))
    with pytest.raises(ValueError, match="sum up to 1.0"):
        metrics.roc_auc_score([0, 1, 2], np.eye(3) * 2, multi_class="ovr")
    with pytest.raises(ValueError, match="Number of classes in y_true"):
        metrics.roc_auc_score([0, 1, 2], np.full((3, 4), 0.25), multi_class="ovr")
    with pytest.raises(ValueError, match="greater than 1"):
        metrics.log_loss([0, 1], [0.5, 1.5])
    with pytest.raises(ValueError, match="different number of output"):
        metrics.mean_squared_error(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="Allowed 'multioutput'"):
        metrics.mean_absolute_error([1.0, 2.0], [1.0, 2.0], multioutput="variance_weighted")
    with pytest.raises(ValueError, match="equally many custom weights"):
        metrics.r2_score(np.zeros((3, 2)), np.ones((3, 2)), multioutput=[1, 2, 3])
    with pytest.raises(ValueError, match="At least one label specified"):
        metrics.confusion_matrix([0, 1], [0, 1], labels=[5])
    with pytest.raises(ValueError, match="pos_label is not specified"):
        metrics.roc_curve(["a", "b"], [0.1, 0.9])
    with pytest.raises(ValueError, match="NaN"):
        metrics.roc_auc_score([0, 1], [np.nan, 0.5])
    with pytest.raises(ValueError, match="not equal to the number of classes"):
        metrics.top_k_accuracy_score([0, 1, 2], np.ones((3, 4)) / 4)


def test_native_errors_name_the_function():
    native = am._core.metrics
    with pytest.raises(ValueError, match="top_k_accuracy_score: y_true holds 7"):
        native.top_k_accuracy_score(np.array([7]), np.ones((1, 3)), 1)
    with pytest.raises(ValueError, match="confusion_matrix: .*inconsistent"):
        native.confusion_matrix(np.zeros(3), np.zeros(2), np.zeros(1))
    with pytest.raises(ValueError, match="one_vs_rest_score: metric"):
        native.one_vs_rest_score("f1", np.zeros(2), np.ones((2, 2)), None, "macro")


# ---------------------------------------------------------------------------------------------
# streaming metrics

def batches(n, size):
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


@pytest.mark.parametrize("seed", SEEDS)
def test_streaming_accuracy_equals_one_shot(seed):
    rng = np.random.default_rng(seed)
    y, p = probabilities(seed, n=203, c=6)
    logits = np.log(p).astype(np.float32)
    acc, top3, top5 = (metrics.Streaming(n) for n in ["accuracy", "top_3_accuracy", "top_k_accuracy"])
    assert (acc.name, top3.name, top5.name) == ("accuracy", "top_3_accuracy", "top_5_accuracy")
    for b in batches(len(y), 32):
        acc.update(am.tensor(logits[b]), am.tensor(y[b]))
        top3.update(logits[b], np.eye(6)[y[b]])  # one-hot targets
        top5.update(logits[b], y[b])
    assert acc.result() == pytest.approx(metrics.accuracy_score(y, logits.argmax(1)), abs=1e-12)
    assert top3.result() == pytest.approx(metrics.top_k_accuracy_score(y, logits, k=3), abs=1e-12)
    assert top5.result() == pytest.approx(metrics.top_k_accuracy_score(y, logits, k=5), abs=1e-12)
    acc.reset()
    assert np.isnan(acc.result())
    acc.update(np.eye(3), np.array([0, 1, 0]))
    assert acc.result() == pytest.approx(2 / 3)
    # binary logits: positive iff > 0
    z, t = rng.normal(size=(50, 1)), rng.integers(0, 2, 50)
    for name in ["accuracy", "binary_accuracy"]:
        m = metrics.Streaming(name)
        m.update(z, t)
        assert m.result() == pytest.approx(metrics.accuracy_score(t, (z[:, 0] > 0).astype(int)), abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_streaming_regression_equals_one_shot(seed):
    rng = np.random.default_rng(seed)
    y, p = rng.normal(size=(101, 2)), rng.normal(size=(101, 2))
    mse, mae = metrics.Streaming("mse"), metrics.Streaming("mean_absolute_error")
    assert (mse.name, mae.name) == ("mse", "mae")
    for b in batches(len(y), 16):
        mse.update(am.tensor(p[b]), am.tensor(y[b]))
        mae.update(p[b], y[b])
    assert mse.result() == pytest.approx(metrics.mean_squared_error(y, p), rel=1e-12)
    assert mae.result() == pytest.approx(metrics.mean_absolute_error(y, p), rel=1e-12)
    empty = metrics.Streaming("mse")
    empty.update(np.zeros((0, 2)), np.zeros((0, 2)))
    assert np.isnan(empty.result())


def test_streaming_errors():
    with pytest.raises(ValueError, match="unknown metric 'f2'"):
        metrics.Streaming("f2")
    m = metrics.Streaming("accuracy")
    with pytest.raises(ValueError, match="rows"):
        m.update(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="not a class index"):
        m.update(np.zeros((1, 2)), np.array([5]))
    with pytest.raises(ValueError, match="element count"):
        metrics.Streaming("mse").update(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match=r"\(N,\) or \(N, C\)"):
        m.update(np.zeros((2, 2, 2)), np.zeros(2))


# ---------------------------------------------------------------------------------------------
# layouts and input kinds

@pytest.mark.parametrize("seed", SEEDS)
def test_non_contiguous_and_tensor_inputs(sk, seed):
    y, p = probabilities(seed, n=120, c=4)
    wide = np.repeat(p, 2, axis=1)[:, ::2]  # strided columns
    assert not wide.flags.c_contiguous
    close(metrics.roc_auc_score(y, wide, multi_class="ovr"), sk.roc_auc_score(y, p, multi_class="ovr"))
    pt = am.tensor(np.ascontiguousarray(p.T)).T  # a transposed Tensor view
    close(metrics.top_k_accuracy_score(am.tensor(y), pt, k=2), sk.top_k_accuracy_score(y, p, k=2))
    close(metrics.log_loss(list(y), pt), sk.log_loss(y, p))
    yy = np.stack([y, y])[0, ::-1]  # negative stride
    close(metrics.f1_score(yy, y[::-1], average="macro"), sk.f1_score(y[::-1], y[::-1], average="macro"))
    regr = np.random.default_rng(seed).normal(size=(60, 4))
    close(metrics.r2_score(am.tensor(regr[:, 0]), am.tensor(regr).T[1]), sk.r2_score(regr[:, 0], regr[:, 1]))
    column = y.reshape(-1, 1)  # (N, 1) targets count as (N,)
    close(metrics.accuracy_score(column, column), 1.0)


def test_float32_inputs_and_empty_regression():
    y = np.array([0.5, 1.5, 2.5], np.float32)
    assert metrics.mean_squared_error(y, y + np.float32(0.25)) == pytest.approx(0.0625)
    with pytest.raises(ValueError, match="0 sample"):
        metrics.mean_squared_error(np.zeros(0), np.zeros(0))
    eps32 = float(np.finfo(np.float32).eps)
    assert metrics.log_loss([0, 1], np.array([0.0, 1.0], np.float32)) == pytest.approx(-np.log(1 - eps32), rel=1e-6)
