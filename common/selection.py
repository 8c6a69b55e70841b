"""Choosing the headline gated model on the training hold-out, by a rule fixed before the
proxies ran (results/README.md, "The headline gated model, chosen on a hold-out").

The static frontier is the held-out accuracy of the thin and full ResNet-20 proxies,
interpolated linearly in log MACs; a gated variant's *margin* is its held-out accuracy minus
the frontier's at its own average executed MACs. A variant *qualifies* when it executes at most
60% of ResNet-20's MACs, at least 40% of its live gates are conditional and its per-image MACs
spread (std / mean) is at least 10%. The headline is the qualifying variant with the largest
margin; if none qualifies, the variant with the largest margin among those at <= 60% MACs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .config import TrainConfig
from .flops import RESNET20_MACS
from .runs import list_finished_runs

GOALS = {"max_macs_share": 0.60, "min_live_conditional": 0.40, "min_macs_cv": 0.10}


def decides_per_image(live_conditional, macs_cv):
    """The rule's per-image criteria (fractions; scalars or Series): enough of the live gates
    conditional and enough spread (std / mean) in the per-image MACs."""
    return (live_conditional >= GOALS["min_live_conditional"]) & (macs_cv >= GOALS["min_macs_cv"])


def meets_goals(macs_share, live_conditional, macs_cv):
    """All three criteria of the rule: at most ``max_macs_share`` of ResNet-20's MACs and
    ``decides_per_image``."""
    return (macs_share <= GOALS["max_macs_share"]) & decides_per_image(live_conditional, macs_cv)


def goals_text() -> str:
    """The rule's criteria in a line: "≤ 60% of the MACs, ≥ 40% of live gates conditional, …"."""
    return (f"≤ {100 * GOALS['max_macs_share']:.0f}% of the MACs, ≥ {100 * GOALS['min_live_conditional']:.0f}% "
            f"of live gates conditional, ≥ {100 * GOALS['min_macs_cv']:.0f}% MACs spread")


def frontier_accuracy(static: pd.DataFrame, macs) -> np.ndarray:
    """The static frontier's accuracy at ``macs``: ``static`` has columns ``macs`` and
    ``acc``; linear in log MACs between its points, NaN outside their range (no extrapolation)."""
    points = static.sort_values("macs")
    x, y = np.log(points["macs"].to_numpy(float)), points["acc"].to_numpy(float)
    at = np.log(np.atleast_1d(np.asarray(macs, dtype=float)))
    return np.where((at >= x[0]) & (at <= x[-1]), np.interp(at, x, y), np.nan)


def select_headline(gated: pd.DataFrame, static: pd.DataFrame) -> pd.DataFrame:
    """``gated`` (columns ``run``, ``macs``, ``acc``, ``live_conditional``, ``macs_cv``) with the
    columns ``frontier_acc``, ``margin``, ``qualifies`` and ``headline`` (True for the one chosen
    by the rule in the module docstring; none when no variant is at <= 60% of the MACs)."""
    table = gated.copy()
    table["frontier_acc"] = frontier_accuracy(static, table["macs"])
    table["margin"] = table["acc"] - table["frontier_acc"]
    cheap = table["macs"] <= GOALS["max_macs_share"] * RESNET20_MACS
    table["qualifies"] = cheap & decides_per_image(table["live_conditional"], table["macs_cv"])
    pool = table[table["qualifies"]] if table["qualifies"].any() else table[cheap]
    table["headline"] = False
    if len(pool) and pool["margin"].notna().any():
        table.loc[pool["margin"].idxmax(), "headline"] = True
    return table


def load_proxies(directory: str | Path) -> pd.DataFrame:
    """Every finished hold-out run under ``directory``: run, model, kwargs, macs (average
    executed on the held-out images), acc (held-out), and the gates' statistics where gated."""
    rows = []
    for config, m in list_finished_runs(directory):
        rows.append({"run": m["run"], "model": m["model"], "kwargs": m["model_kwargs"],
                     "lr": config["lr"], "label_smoothing": config["label_smoothing"],
                     "epochs": m["epochs"], "train_size": m["train_size"], "holdout": m["holdout"],
                     "macs": m.get("avg_executed_macs", m["macs"]), "acc": m["val_acc"],
                     "live_conditional": m.get("live_conditional", np.nan),
                     "macs_cv": m.get("macs_cv", np.nan)})
    return pd.DataFrame(rows, columns=["run", "model", "kwargs", "lr", "label_smoothing", "epochs",
                                       "train_size", "holdout", "macs", "acc", "live_conditional",
                                       "macs_cv"])


def proxy_frontier(selection_dir: str | Path) -> pd.DataFrame:
    """The static proxies on the hold-out: thin ResNet-20s (``static/``) and the ResNet-20 of the
    recipe selection trained with the chosen recipe (``TrainConfig``'s lr and label smoothing),
    sorted by MACs."""
    selection_dir = Path(selection_dir)
    full, recipe = load_proxies(selection_dir), TrainConfig()
    full = full[(full["model"] == "resnet20") & (full["lr"] == recipe.lr)
                & (full["label_smoothing"] == recipe.label_smoothing)]
    return pd.concat([load_proxies(selection_dir / "static"), full]).sort_values("macs")
