"""Studies: create, load, delete and copy them; their directions and summaries."""
from ._callbacks import MaxTrialsCallback
from ._direction import StudyDirection
from ._frozen import FrozenStudy, StudySummary
from ._study import (Study, copy_study, create_study, delete_study, get_all_study_names, get_all_study_summaries,
                     load_study)

__all__ = ["Study", "MaxTrialsCallback", "StudyDirection", "StudySummary", "FrozenStudy", "create_study", "load_study", "delete_study",
           "copy_study", "get_all_study_summaries", "get_all_study_names"]
