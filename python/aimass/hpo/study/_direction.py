from __future__ import annotations

import enum


class StudyDirection(enum.IntEnum):
    """Whether a study minimises or maximises an objective, numbered as Optuna's."""

    NOT_SET = 0
    MINIMIZE = 1
    MAXIMIZE = 2

    def __repr__(self) -> str:
        return str(self)

    def __str__(self) -> str:
        return f"StudyDirection.{self.name}"
