"""am.hpo.visualization (matplotlib, Agg): each plot draws the study's data — the best-so-far line,
one line per trial, one bar per parameter, the Pareto front's points."""
import math

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import aimass.hpo as ah  # noqa: E402
from aimass.hpo import visualization as vis  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _study(direction="minimize", n=20):
    study = ah.create_study(direction=direction, sampler=ah.samplers.RandomSampler(seed=0))

    def objective(t):
        x = t.suggest_float("x", -2, 2)
        lr = t.suggest_float("lr", 1e-4, 1e-1, log=True)
        c = t.suggest_categorical("c", ["a", "b"])
        for step in range(3):
            t.report(x * x + step, step)
        return x * x + (0.5 if c == "b" else 0.0) + 0.01 * math.log(lr)

    study.optimize(objective, n_trials=n)
    return study


def test_same_functions_in_both_modules():
    assert vis.plot_optimization_history is vis.matplotlib.plot_optimization_history
    assert vis.is_available()


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_optimization_history_best_so_far(direction):
    study = _study(direction)
    ax = vis.plot_optimization_history(study)
    assert ax.get_title() == "Optimization History Plot" and ax.get_xlabel() == "Trial"
    values = np.asarray([t.value for t in study.trials])
    best = (np.maximum if direction == "maximize" else np.minimum).accumulate(values)
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), np.arange(20))
    np.testing.assert_allclose(line.get_ydata(), best)
    offsets = ax.collections[0].get_offsets()
    np.testing.assert_allclose(offsets[:, 1], values)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Objective Value", "Best Value"]


def test_optimization_history_target_and_several_studies():
    study = _study()
    ax = vis.plot_optimization_history(study, target=lambda t: t.params["x"], target_name="x")
    assert ax.get_ylabel() == "x" and not ax.get_lines()  # no best line for a custom target
    np.testing.assert_allclose(ax.collections[0].get_offsets()[:, 1], [t.params["x"] for t in study.trials])
    ax = vis.plot_optimization_history([study, _study()], error_bar=True)
    assert len(ax.get_lines()) >= 1


def test_intermediate_values_one_line_per_trial():
    study = _study(n=5)
    ax = vis.plot_intermediate_values(study)
    lines = ax.get_lines()
    assert len(lines) == 5
    for line, t in zip(lines, study.trials):
        np.testing.assert_array_equal(line.get_xdata(), [0, 1, 2])
        np.testing.assert_allclose(line.get_ydata(), [t.intermediate_values[s] for s in range(3)])
        assert line.get_label() == f"Trial{t.number}"


def test_param_importances_bars():
    study = _study(n=40)
    imp = ah.importance.get_param_importances(study, evaluator=ah.importance.FanovaImportanceEvaluator(seed=0))
    ax = vis.plot_param_importances(study, evaluator=ah.importance.FanovaImportanceEvaluator(seed=0))
    widths = [p.get_width() for p in ax.patches]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == list(reversed(list(imp)))  # most important at the top
    np.testing.assert_allclose(widths, [imp[n] for n in labels])
    assert labels[-1] == "x"


def test_parallel_coordinate_one_line_per_trial():
    study = _study(n=12)
    ax = vis.plot_parallel_coordinate(study, params=["x", "lr"])
    lines = ax.get_lines()
    assert len(lines) == 12
    values = np.asarray([t.value for t in study.trials])
    scaled = (values - values.min()) / (values.max() - values.min())
    np.testing.assert_allclose([line.get_ydata()[0] for line in lines], scaled)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Objective Value", "x", "lr (log10)"]


def test_slice_panels():
    study = _study(n=10)
    axs = vis.plot_slice(study)
    assert axs.shape == (3,)
    assert [a.get_xlabel() for a in axs] == ["c", "lr", "x"]
    np.testing.assert_allclose(axs[2].collections[0].get_offsets()[:, 0], [t.params["x"] for t in study.trials])
    assert axs[1].get_xscale() == "log"
    ax = vis.plot_slice(study, params=["x"])
    assert ax.get_title() == "Slice Plot"


def test_contour():
    study = _study(n=15)
    ax = vis.plot_contour(study, params=["x", "lr"])
    assert ax.get_xlabel() == "x" and ax.get_ylabel() == "lr" and ax.get_yscale() == "log"
    points = ax.collections[-1].get_offsets()
    assert len(points) == 15
    axs = vis.plot_contour(study)
    assert axs.shape == (3, 3)
    with pytest.raises(ValueError, match="does not exist"):
        vis.plot_contour(study, params=["x", "nope"])


def test_pareto_front():
    study = ah.create_study(directions=["minimize", "maximize"])
    for a, b in [(1, 1), (2, 3), (3, 2), (0.5, 0.5), (4, 4)]:
        study.add_trial(ah.create_trial(values=[a, b]))
    ax = vis.plot_pareto_front(study)
    by_label = {c.get_label(): c.get_offsets() for c in ax.collections}
    best = {tuple(p) for p in by_label["Best Trial"]}
    assert best == {tuple(t.values) for t in study.best_trials} == {(0.5, 0.5), (1.0, 1.0), (2.0, 3.0), (4.0, 4.0)}
    assert {tuple(p) for p in by_label["Trial"]} == {(3.0, 2.0)}
    with pytest.raises(ValueError, match="2 or 3 objective"):
        vis.plot_pareto_front(_study(n=2))


def test_edf():
    study = _study(n=10)
    ax = vis.plot_edf(study)
    (line,) = ax.get_lines()
    y = line.get_ydata()
    assert y[0] == pytest.approx(0.1) and y[-1] == 1.0 and np.all(np.diff(y) >= 0)


def test_empty_study_warns():
    with pytest.warns(UserWarning, match="does not contain completed trials"):
        ax = vis.plot_optimization_history(ah.create_study())
    assert not ax.get_lines()
