"""The demo's tuning stage: a short pruned study that picks the CNN's lr and width."""
from __future__ import annotations

import aimass as am
from aimass import hpo


def test_tune_stage_picks_parameters_and_prunes(capsys):
    from aimass._demo_hpo import run_tune_stage

    am.manual_seed(0)
    result = run_tune_stage(n_trials=10, epochs=3, seed=0)
    study = result["study"]
    assert len(study.trials) == 10
    states = {t.state for t in study.trials}
    assert states <= {hpo.TrialState.COMPLETE, hpo.TrialState.PRUNED}
    best = result["best_params"]
    assert 1e-4 <= best["lr"] <= 3e-2 and best["width"] in (8, 16, 24, 32, 40, 48) and 0 <= best["dropout"] <= 0.5
    assert result["best_value"] == max(t.value for t in study.trials if t.state == hpo.TrialState.COMPLETE)
    assert result["best_value"] > 0.8  # three epochs on the digits already classify most of them
    for t in study.trials:  # every epoch reported, up to the one a pruned trial stopped after
        steps = sorted(t.intermediate_values)
        assert steps == list(range(len(steps))) and 1 <= len(steps) <= 3
        if t.state == hpo.TrialState.COMPLETE:
            assert len(steps) == 3
    out = capsys.readouterr().out
    assert "best trial" in out and "trial  0:" in out


def test_demo_trains_the_final_model_with_the_best_trial(tmp_path, capsys):
    from aimass._demo import run

    result = run(epochs=2, output=str(tmp_path / "cnn.safetensors"), verbose=0, serve=False, compress=False,
                 tune=True, tune_trials=4)
    tuned = result["tuning"]
    assert tuned["n_trials"] == 4
    out = capsys.readouterr().out
    assert f"width {tuned['best_params']['width']}" in out and "from the study" in out
