"""Study.trials_dataframe: one row per trial, Optuna's columns (params_x, user_attrs_x, ...)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._study import Study


def trials_dataframe(study: "Study", attrs: tuple[str, ...], multi_index: bool) -> Any:
    try:
        import pandas as pd
    except ImportError as e:
        raise ImportError("trials_dataframe needs pandas: pip install pandas") from e
    trials = study.get_trials(deepcopy=False)
    multi = len(study.directions) > 1
    names = study.metric_names
    rows = []
    for t in trials:
        row: dict[tuple[str, str], Any] = {}
        for attr in attrs:
            if attr == "number":
                row[("number", "")] = t.number
            elif attr in ("value", "values"):
                vals = t.values
                if multi or attr == "values" or names:
                    for i in range(len(study.directions)):
                        key = names[i] if names else i
                        row[("values", key)] = None if vals is None else vals[i]
                else:
                    row[("value", "")] = None if vals is None else vals[0]
            elif attr == "datetime_start":
                row[("datetime_start", "")] = t.datetime_start
            elif attr == "datetime_complete":
                row[("datetime_complete", "")] = t.datetime_complete
            elif attr == "duration":
                row[("duration", "")] = t.duration
            elif attr == "state":
                row[("state", "")] = t.state.name
            elif attr in ("params", "user_attrs", "system_attrs", "intermediate_values", "distributions"):
                for k, v in getattr(t, attr).items():
                    row[(attr, k)] = v
        rows.append(row)
    columns = sorted({c for r in rows for c in r}, key=lambda c: (list(attrs).index(c[0]) if c[0] in attrs else
                                                                  attrs.index("value") if "value" in attrs else 0,
                                                                  str(c[1])))
    if not rows:
        return pd.DataFrame()
    df = pd.DataFrame([[r.get(c) for c in columns] for r in rows], columns=pd.MultiIndex.from_tuples(columns))
    if multi_index:
        return df
    df.columns = ["_".join(str(p) for p in c if p != "") for c in df.columns]
    return df
