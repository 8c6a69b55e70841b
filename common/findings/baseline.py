"""Notebook 01's reading of one ResNet-20 run: its accuracies, its seed among the others, the
published ResNet-20s it is compared with."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import seeds
from ..lengths import published_check
from ..literature import HE_RESNET20_ACC
from ..runs import trained_on
from ..seeds import REFERENCE
from .words import listed


def baseline_result(metrics: dict, per_class: pd.Series, results_dir: Path) -> str:
    """Notebook 01's result: one ResNet-20 run's accuracies (``metrics``), where its seed lies among
    the finished seeds of its profile, He et al.'s number, what the published ResNet-20 scores on the
    same images where ``make published`` measured it, the two hardest classes (``per_class``: test
    accuracy per class) and the training time."""
    table = seeds.seed_table(seeds.load_runs(results_dir, metrics["profile"]))
    acc = table.loc[table["label"] == REFERENCE, "test_acc"].dropna()
    text = (f"ResNet-20 (seed {metrics['seed']}) reaches **{metrics['test_acc']:.2f}% test accuracy** "
            f"({metrics['train_acc']:.2f}% on its un-augmented training images) after {metrics['epochs']} epochs on "
            f"{metrics['train_size']:,} training images of *{metrics['data_source']['name']}*.")
    if len(acc) > 1:
        place = seeds.extreme(metrics["test_acc"], acc)
        text += (f" Over its {len(acc)} seeds ResNet-20 reaches {acc.mean():.2f} ± {acc.std():.2f}% (mean ± std)"
                 + (f", this seed {place or 'between the others'}" if len(acc) > 2 else "") + ".")
    text += f" He et al. report {HE_RESNET20_ACC:.2f}% on the original images after ~164 epochs."
    published = published_check(results_dir, metrics["data_source"]["fingerprint"])
    if published:
        tuned = published.get("finetuned")
        best = max(published["test_acc"], tuned["test_acc"] if tuned else 0.0)
        text += (f" On these same images {published['source']}'s published ResNet-20, trained on the original images "
                 f"({published['published_test_acc']:.2f}% there), scores {published['test_acc']:.2f}% as it is"
                 + (f" and {tuned['test_acc']:.2f}% after {tuned['epochs']} epochs of fine-tuning on this copy (one run)"
                    if tuned else "")
                 + (f": this ResNet-20, which learnt from the original images, stays below {HE_RESNET20_ACC:.2f}% here too"
                    if best < HE_RESNET20_ACC else "") + ".")
    return (text + f" The hardest classes are {listed(list(per_class.nsmallest(2).index))}. Training took "
            f"{metrics['train_seconds'] / 3600:.2f} h ({trained_on(metrics)}).")
