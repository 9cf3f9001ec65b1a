"""am.hpo: hyperparameter search with Optuna's API on native samplers and pruners.

Code written for Optuna runs with one changed import::

    import aimass.hpo as optuna

    def objective(trial):
        lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        units = trial.suggest_int("units", 16, 256, log=True)
        ...
        return accuracy

    study = optuna.create_study(direction="maximize", storage="sqlite:///study.db")
    study.optimize(objective, n_trials=100)
    print(study.best_params)
"""
from . import (distributions, exceptions, importance, integration, logging, model_selection, pruners, samplers,
               storages, study, trial, visualization)
from ._fit_callback import PruningCallback
from .exceptions import TrialPruned
from .study import (Study, StudyDirection, StudySummary, copy_study, create_study, delete_study,
                    get_all_study_names, get_all_study_summaries, load_study)
from .trial import FixedTrial, FrozenTrial, Trial, TrialState, create_trial

__all__ = ["Study", "StudyDirection", "StudySummary", "Trial", "FixedTrial", "FrozenTrial", "TrialState", "TrialPruned",
           "create_study", "load_study", "delete_study", "copy_study", "get_all_study_summaries",
           "get_all_study_names", "create_trial", "distributions", "exceptions", "logging", "pruners", "samplers",
           "storages", "study", "trial", "importance", "integration", "model_selection", "visualization",
           "PruningCallback"]
