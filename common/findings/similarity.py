"""The class-similarity answers that dynamic convolution (attention) and channel gating (channel
usage) share: the reading rules in words, what random features and untrained twins say, and the
per-seed counts at both training lengths."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pandas as pd

from .. import seeds
from ..analysis import (RATE_MATCHED, TRAINED, TWINS, UNTRAINED, UNTRAINED_STATIC, VEHICLE_ANIMAL, control_partials,
                        follows_split, split_threshold)
from ..data import CLASSES
from ..lengths import length, other_profile
from ..tables import counted
from ..verdicts import LEARNT_MARGIN, learnt_by_seed, like_random
from .words import listed, value_range


def apart(own: pd.Series) -> str:
    """", against -0.50 on average for a vehicle and an animal": the baseline of a
    similarity-controls row (``analysis.VEHICLE_ANIMAL``), "" where the table predates it."""
    value = own.get(VEHICLE_ANIMAL)
    return "" if value is None or pd.isna(value) else f", against {value:.2f} on average for a vehicle and an animal"


TWIN_WORDS = {UNTRAINED: "untrained", RATE_MATCHED: f"untrained {RATE_MATCHED}"}


def class_structure_over_seeds(table: Optional[pd.DataFrame], model: str, quoted: int = 0) -> str:
    """A sub-bullet, "Over the 3 seeds of <model> …", from a per-seed controls table (``analysis.controls_by_seed``,
    index seed; each seed against the ResNet-20 of its seed): the ranges, on how many seeds the
    trained model follows the split and is learnt, where seed ``quoted`` (the one whose table the
    reader saw) lies, and, when untrained networks alone spread over more than twice the split
    threshold, that the counts are weak evidence; "" with fewer than two seeds."""
    if table is None or len(table) < 2:
        return ""
    n, twins = len(table), [c for c in TWINS if c in table]
    trained = table[TRAINED]
    untrained, threshold = table[[*twins, UNTRAINED_STATIC]].to_numpy(), split_threshold()
    learnt = learnt_by_seed(table)
    missed = [seed for seed in table.index if seed not in learnt.index]
    place = ("" if quoted not in trained.index else
             f"{extreme} of them" if (extreme := seeds.extreme(trained[quoted], trained)) else "between the others")
    return (f"\n- Over the {n} seeds of {model}, each against the ResNet-20 of its seed"
            + (f" (seed {quoted}, quoted above, is {place})" if place else "")
            + f": trained {value_range(trained, '+.2f')}, following the split on "
            f"{_following(table)} of {n}; "
            + ", ".join(f"{TWIN_WORDS[c]} {value_range(table[c], '+.2f')}" for c in twins)
            + f"; learnt on {len(learnt)} of {n} seeds"
            + (f" (by {learnt.min():+.2f} where narrowest, seed {learnt.idxmin()}, against the {LEARNT_MARGIN:g} "
               f"required" + (f"; not on seed{'s' if len(missed) > 1 else ''} {listed(list(map(str, missed)))}" if missed else "") + ")"
               if len(learnt) else "")
            + (f". Untrained networks alone range from {value_range(untrained, '+.2f')} over the seeds"
               + ("" if value_range(untrained, '+.2f') == value_range(table[UNTRAINED_STATIC], '+.2f') else
                  f" (an untrained ResNet-20's features {value_range(table[UNTRAINED_STATIC], '+.2f')})")
               + f", a spread far wider than the {threshold:.2f} cutoff, so crossing it can happen by chance and "
               f"these per-seed counts are weak evidence."
               if untrained.max() - untrained.min() > 2 * threshold else "."))


def _following(table: pd.DataFrame) -> int:
    """On how many seeds of a per-seed controls table the trained model follows the split."""
    return sum(follows_split(v) for v in table[TRAINED])


def _counts_at(table: Optional[pd.DataFrame], profile: str) -> str:
    """" At 200 epochs: following the split on 3 of 3 seeds, learnt on 2 of 3." from ``profile``'s
    per-seed controls table, so a count that changes with training length is said where the other
    length's is; "" with fewer than two seeds."""
    if table is None or len(table) < 2:
        return ""
    n = len(table)
    return (f" At {length(profile)}: following the split on {_following(table)} of {n} seeds, "
            f"learnt on {len(learnt_by_seed(table))} of {n}.")


def over_seeds_at_both(read, results_dir: Path, profile: str, model: str) -> str:
    """``class_structure_over_seeds`` of the per-seed controls table that ``read`` loads at
    ``profile``, followed by the other length's counts (``_counts_at``); "" with fewer than two seeds."""
    said = class_structure_over_seeds(read(results_dir, profile), model)
    other = other_profile(profile)
    return said + _counts_at(read(results_dir, other), other) if said else ""


def per_seed_note(table: Optional[pd.DataFrame], model: str, quoted: int = 0) -> str:
    """What notebooks 02 and 03 print under their per-seed controls table: the sentence of
    ``class_structure_over_seeds`` with what its two words mean, or, with fewer than two seeds,
    that there is nothing to compare across seeds yet."""
    n = 0 if table is None else len(table)
    said = class_structure_over_seeds(table, model, quoted).removeprefix("\n- ")
    if not said:
        return f"*{counted(n, 'seed')} with both runs finished: nothing to compare across seeds yet.*"
    return f"{said}\n\n{split_rule()} {learnt_rule()}"


def split_rule() -> str:  # the rule's words, one place for the README and the notebooks
    return (f"**Follows the vehicle/animal split** beyond ResNet-20's features: partial correlation "
            f"≥ {split_threshold():.2f}, the 5% critical value of a partial correlation over the "
            f"{len(CLASSES) * (len(CLASSES) - 1) // 2} class pairs (the pairs share classes, so this is a fixed "
            "reading rule, not a test).")


def learnt_rule() -> str:
    return (f"**Learnt**: the trained model's partial correlation exceeds its untrained twin's by more than "
            f"{LEARNT_MARGIN:g} (for a gated model, the larger of its two untrained twins': as initialised, and "
            "with each gate set to the trained model's on-rate; that second twin was defined after the first 200-epoch "
            "analyses and can only make the rule stricter).")


def random_features(table: pd.DataFrame, partial: float) -> str:
    """The same partial correlation for an untrained ResNet-20's pooled features (the table's
    "untrained <static>" row), beside the trained feature's ``partial``: a test that random
    features pass cannot set a feature apart from them; "" without that row."""
    value = control_partials(table).get(UNTRAINED_STATIC)
    if value is None:
        return ""
    if not follows_split(value):
        return f"; the pooled features of an untrained ResNet-20 at the same layers give {value:+.2f} by the same test"
    if not follows_split(partial):
        return f", while the pooled features of an untrained ResNet-20 at the same layers pass the same test ({value:+.2f})"
    if like_random(table, partial):
        return (f", as do the pooled features of an untrained ResNet-20 at the same layers ({value:+.2f}): this test alone does not "
                f"set trained features apart from random ones")
    return f", beyond the pooled features of an untrained ResNet-20 at the same layers ({value:+.2f})"


def threshold_words() -> str:
    return f"≥ {split_threshold():.2f} counts as following"
