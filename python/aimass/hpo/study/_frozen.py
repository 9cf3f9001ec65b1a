from __future__ import annotations

import datetime
from typing import Any, Sequence

from ..trial._frozen import FrozenTrial
from ._direction import StudyDirection


class FrozenStudy:
    """A study's record as a storage lists it (``get_all_studies``)."""

    def __init__(self, study_name: str, direction: StudyDirection | None, user_attrs: dict[str, Any],
                 system_attrs: dict[str, Any], study_id: int, *,
                 directions: Sequence[StudyDirection] | None = None) -> None:
        if (direction is None) == (directions is None):
            raise ValueError("Specify one of `direction` and `directions`.")
        self.study_name = study_name
        self._directions = list(directions) if directions is not None else [direction]
        self.user_attrs = user_attrs
        self.system_attrs = system_attrs
        self._study_id = study_id

    @property
    def direction(self) -> StudyDirection:
        if len(self._directions) > 1:
            raise RuntimeError("This attribute is not available during multi-objective optimization.")
        return self._directions[0]

    @property
    def directions(self) -> list[StudyDirection]:
        return self._directions

    def __repr__(self) -> str:
        return f"FrozenStudy(study_name={self.study_name!r}, directions={self._directions}, study_id={self._study_id})"


class StudySummary:
    """What ``get_all_study_summaries`` says of a study: its name, directions, best trial, size and start."""

    def __init__(self, study_name: str, direction: StudyDirection | None, best_trial: FrozenTrial | None,
                 user_attrs: dict[str, Any], system_attrs: dict[str, Any], n_trials: int,
                 datetime_start: datetime.datetime | None, study_id: int, *,
                 directions: Sequence[StudyDirection] | None = None) -> None:
        self.study_name = study_name
        self._directions = list(directions) if directions is not None else [direction]
        self.best_trial = best_trial
        self.user_attrs = user_attrs
        self.system_attrs = system_attrs
        self.n_trials = n_trials
        self.datetime_start = datetime_start
        self._study_id = study_id

    @property
    def direction(self) -> StudyDirection:
        if len(self._directions) > 1:
            raise RuntimeError("This attribute is not available during multi-objective optimization.")
        return self._directions[0]

    @property
    def directions(self) -> list[StudyDirection]:
        return self._directions
