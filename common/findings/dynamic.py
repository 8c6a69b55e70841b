"""Dynamic convolution's findings (notebook 02): accuracy against K and against published
re-implementations, whether similar classes attend alike, and how input-dependent the attention
is per layer; a model's parameters against ResNet-20's, which the study's question gives too
(``parameter_ratio``)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from .. import seeds
from ..analysis import UNTRAINED, control_partials, follows_split
from ..flops import RESNET20_MACS
from ..lengths import length, other_profile
from ..literature import dy_gain_range, dy_gains_text
from ..manifest import ANALYSIS_K, DY_LABEL, KERNEL_SWEEP_LABELS
from ..names import throughput_label
from ..seeds import REFERENCE
from ..verdicts import (Finding, accuracy_text, learnt, like_random, paired_by_seed, read_attention_ablation,
                        read_attention_controls, read_attention_layers, read_attention_seeds, read_controls, settled,
                        spans_zero, waiting)
from .similarity import apart, over_seeds_at_both, random_features, threshold_words
from .words import value_range

# the findings' topics, by which notebook 05 finds each for its section
ACCURACY = "Dynamic convolution, accuracy against K"
ATTENTION = "Dynamic convolution, do similar classes attend alike?"


def parameter_ratio(over: pd.DataFrame, label: str) -> Optional[float]:
    """``label``'s parameters over ResNet-20's (``over``: ``load_overview``'s table over seeds);
    None where either is unknown."""
    if "params" not in over or REFERENCE not in over.index or label not in over.index:
        return None
    ratio = over.loc[label, "params"] / over.loc[REFERENCE, "params"]
    return ratio if ratio == ratio else None


def dynamic_convolution(over: pd.DataFrame, table: pd.DataFrame,
                        speed: Optional[pd.DataFrame] = None) -> Optional[Finding]:
    """DY against ResNet-20 over K, among published re-implementations, on the training images, and
    (from notebook 02's ``speed`` table, when given) in wall-clock time."""
    labels = KERNEL_SWEEP_LABELS
    rows = over.loc[[label for label in labels if label in over.index]]
    if rows.empty or REFERENCE not in over.index:
        return None
    main = DY_LABEL
    best = rows.loc[main] if main in rows.index else rows.iloc[0]
    distinguishable = [label for label, row in rows.iterrows() if spans_zero(row, "delta") is False]
    single = [label.split()[-1] for label, row in rows.iterrows() if not row["delta_n"] >= 2]
    verdict = {"ahead": "a gain", "behind": "a loss"}.get(seeds.verdict_word(best, "delta"), "not distinguishable")
    paired = (f"paired by seed {seeds.signed(best, 'delta')} points (95% interval; "
              f"{verdict if settled(best['delta_n']) else waiting(best['delta_n'])})" if best["delta_n"] >= 2 else
              f"against ResNet-20's run of the same seed ({_shared_seeds(table, best.name, 'test_acc')[1]:.2f}%"
              + (f", {rank}" if (rank := seeds.paired_rank(table, best.name)) else "") + ") "
              f"{seeds.signed_points(best, 'delta', waiting(best['delta_n']))}")
    text = (f"{best.name} reaches {accuracy_text(best)} against ResNet-20's {accuracy_text(over.loc[REFERENCE])}: {paired} at "
            f"{100 * best['macs'] / RESNET20_MACS:.1f}% of ResNet-20's MACs"
            + (f" and {ratio:.1f}× its parameters" if (ratio := parameter_ratio(over, best.name)) else "") + ".")
    if len(rows) > 1:  # a sweep over K (the `paper` profile trains one K)
        text += (f"\n- Over K = {', '.join(label.split('=')[-1] for label in rows.index)}: "
                 + "; ".join(f"{label.split()[-1]} {seeds.signed(row, 'delta')}"
                             + (f" ({row['delta_n']:.0f} seeds)" if row["delta_n"] >= 2 else "")
                             for label, row in rows.iterrows())
                 + (". No K with two or more seeds is distinguishable from ResNet-20" if not distinguishable
                    else f". Distinguishable from ResNet-20: {', '.join(distinguishable)}")
                 + (f"; one seed gives no verdict ({', '.join(single)})." if single else "."))
    text += "\n- " + _among_reimplementations(best)
    train = _shared_seeds(table, best.name, "train_acc")
    if train[2]:
        gain = paired_by_seed(table, best.name, REFERENCE, "train_acc")
        numbers = seeds.signed_points(gain, "d", f"{train[0]:.2f}% against ResNet-20's {train[1]:.2f}%, "
                                      + ("mean over seeds" if train[2] > 1 else "the same seed"))
        text += (f"\n- On the training images (un-augmented) the difference is {numbers}, one seed: no verdict."
                 if gain["d_n"] < 2 else
                 f"\n- On the training images (un-augmented) {best.name} gains more: {numbers}, a closer fit to the "
                 f"images it learnt from, not a gain on new ones." if gain["d_mean"] > max(best["delta_mean"], 0) else
                 f"\n- On the training images (un-augmented) the difference is {numbers}: no closer fit to the images "
                 f"it learnt from than to new ones.")
    text += _dy_time(speed, int(best.name.split("=")[-1]))
    return Finding(ACCURACY, text, "05_accuracy_vs_k.png")


def _shared_seeds(table: pd.DataFrame, label: str, column: str) -> tuple[float, float, int]:
    """``label``'s and ResNet-20's mean ``column`` over the seeds both have finished (the values
    a difference paired by seed compares), and how many seeds that is."""
    runs = table[table["label"].isin([label, REFERENCE])].dropna(subset=[column])
    shared = set(runs.loc[runs["label"] == label, "seed"]) & set(runs.loc[runs["label"] == REFERENCE, "seed"])
    means = runs[runs["seed"].isin(shared)].groupby("label")[column].mean()
    return means.get(label, float("nan")), means.get(REFERENCE, float("nan")), len(shared)


def _dy_time(speed: Optional[pd.DataFrame], k: int) -> str:
    """A sub-bullet, "Equal MACs are not equal time: …", from notebook 02's speed table (images/s over ResNet-20's,
    the computation the trained models use, and the device measured), or "" where it is missing."""
    row = throughput_label(f"dy_resnet20 K={k} aggregate")  # the computation the trained models use
    if speed is None or row not in speed.index:
        return ""
    column = {setting: next((c for c in speed.columns if c.split(" (")[0] == setting), None)
              for setting in ("train, batch 128", "infer, batch 1")}
    if None in column.values():
        return ""
    return (f"\n- Equal MACs are not equal time: on {speed['device'].iloc[0]}, DY K={k} trains at "
            f"{speed.loc[row, column['train, batch 128']]:.2f}× ResNet-20's images/s and classifies single images "
            f"at {speed.loc[row, column['infer, batch 1']]:.2f}× (notebook 02's benchmark).")


def _among_reimplementations(row: pd.Series) -> str:
    """Where an ``overview`` row's paired gain over ResNet-20 sits among published CIFAR-10
    re-implementations of dynamic convolution (``common.literature``)."""
    low, high = dy_gain_range()
    mean = row["delta_mean"]
    where = "within" if low <= mean <= high else "above" if mean > high else "below"
    covers = (row["delta_n"] >= 2 and row["delta_ci_low"] <= low and high <= row["delta_ci_high"])
    if not row["delta_n"] >= 2:
        return (f"Published re-implementations on CIFAR-10 gain {dy_gains_text()}; ours, {mean:+.2f} on one seed, "
                f"would be {where} that range (one seed: no verdict).")
    return (f"Published re-implementations on CIFAR-10 gain {dy_gains_text()}; ours, "
            f"{mean:+.2f}, is {where} that range"
            + (", and its interval covers all of it." if covers else "."))


def attention_by_class(results_dir: Path, profile: str) -> Optional[Finding]:
    """Do similar classes attend alike? From notebook 02's similarity controls (seed 0) and its
    per-seed table; None where notebook 02 has not run at ``profile``."""
    text = attention_controls_text(read_attention_controls(results_dir, profile))
    if not text:
        return None
    text += over_seeds_at_both(read_attention_seeds, results_dir, profile, DY_LABEL)
    text += _attention_dynamics(results_dir, profile)
    return Finding(ATTENTION, text,
                   "02_dy_attention_class_similarity.png")


def attention_controls_text(table: Optional[pd.DataFrame], seed: int = 0) -> str:
    """The answer to "do similar classes attend alike?" from one seed's similarity controls of a DY
    model's attention (``analysis.attention_controls``, its first row "<model> attention"): the
    trained attention, the static features, the partial correlation given them, and the untrained
    controls; "" without both of the first two rows. Notebook 02 prints it, the README's finding
    leads with it."""
    found = read_controls(table)
    if found is None:
        return ""
    own, static, agreement, partial = found
    dy = own.name.removesuffix(" attention")
    answer = ("Yes, but no more than a static network's features group them: " if not follows_split(partial) else
              "Yes, but so do random features: " if like_random(table, partial) else
              "Yes, beyond a static network's features: ")
    text = (f"{answer}on seed {seed}, similar classes do attend alike (class-mean attention of {dy} correlates at "
            f"{own['cat/dog']:.2f} for cat/dog, {own['automobile/truck']:.2f} for automobile/truck"
            f"{apart(own)}), "
            f"but a static ResNet-20's pooled features at the same layers group the classes the same way "
            f"({static['cat/dog']:.2f} / {static['automobile/truck']:.2f}; the two similarities agree at "
            f"r = {agreement:.2f}), and once those features are accounted for the attention "
            + (f"still follows the vehicle/animal split (partial correlation {partial:+.2f}; "
               f"{threshold_words()}){random_features(table, partial)}"
               + ("." if like_random(table, partial) else ": it adds class structure of its own.")
               if follows_split(partial) else
               f"does not follow the vehicle/animal split (partial correlation {partial:+.2f}; "
               f"{threshold_words()}){random_features(table, partial)}: the grouping comes from "
               f"the network's features, not from its attention."))
    untrained = f"untrained {own.name}"
    if untrained in table.index:
        split = "agreement with vehicles/animals"
        untrained_partial = control_partials(table)[UNTRAINED]
        text += (f"\n- On seed {seed}, an untrained {dy} follows the vehicle/animal split more closely than the trained one "
                 f"(agreement with the split {table.loc[untrained, split]:.2f} against {own[split]:.2f}"
                 if table.loc[untrained, split] > own[split] else
                 f"\n- On seed {seed}, an untrained {dy} agrees with the vehicle/animal split at {table.loc[untrained, split]:.2f} "
                 f"(trained: {own[split]:.2f}")
        text += f"; given ResNet-20's features {untrained_partial:+.2f} against {partial:+.2f})"
        text += (": training adds to that class structure." if learnt(table, partial)
                 else ": much of the class structure is in the images and the architecture, not learnt.")
    return text


def _attention_layer_words(layers: pd.DataFrame, ablation: Optional[pd.DataFrame], glossed: bool = False,
                           k: int = ANALYSIS_K) -> str:
    """One length's per-layer attention statistics (notebook 02) of DY K=``k`` in words: ranges over
    the layers, the median entropy, and what the mean attention in place of each image's costs; with
    ``glossed``, what each number's ends mean."""
    # the mean kernel can shrink to a few thousandths: two significant digits, never "0.000"
    sizes = ({name: value_range(layers[column], spec, sep='–') for name, column, spec in
              (("spread", "kernel_spread", ".2f"), ("mean", "mean_kernel_rms", ".2g"))} if "kernel_spread" in layers else None)
    if glossed:
        gloss = (f" (1: the {k} kernels mixed evenly; 0: one kernel)", " (its std over images; 0: the same π for every image)",
                 " (a kernel's RMS distance from the layer's mean kernel"
                 + (f", {sizes['spread']}, over the mean kernel's RMS, {sizes['mean']}" if sizes else ", relative to the mean kernel")
                 + f"; √{k - 1} ≈ {np.sqrt(k - 1):.2f} for independent random kernels)")
    else:
        gloss = ("", "", f" (distance {sizes['spread']}, mean kernel {sizes['mean']})" if sizes else "")
    entropy = layers["normalized_entropy"]
    text = (f"π's normalised entropy {value_range(entropy, '.2f', sep='–')}, median {entropy.median():.2f}{gloss[0]}; "
            f"its spread {value_range(layers['spread_over_images'], '.3f', sep='–')}{gloss[1]}; kernel diversity "
            f"{value_range(layers['kernel_diversity'], '.1f', sep='–')}{gloss[2]}")
    if ablation is not None and len(ablation):
        cost = ablation["per-image attention"].iloc[0] - ablation["mean attention"].iloc[0]
        text += (f"; replacing each image's π by its mean over training images {'costs' if cost >= 0 else 'gains'} "
                 f"{abs(cost):.2f} points")
    return text


def _attention_dynamics(results_dir: Path, profile: str) -> str:
    """A sub-bullet on how input-dependent DY's attention is, per layer (notebook 02, seed 0), at
    ``profile``, at the other length too where notebook 02 ran there, and what in the recipe
    lets its kernels drift apart; "" without the table."""
    layers = read_attention_layers(results_dir, profile)
    if layers is None:
        return ""
    text = (f"\n- **How input-dependent the attention is** (seed 0; π, the weights that mix a layer's {ANALYSIS_K} "
            f"kernels for an image; ranges over the {len(layers)} dynamic convolutions): "
            + _attention_layer_words(layers, read_attention_ablation(results_dir, profile), True))
    other = other_profile(profile)
    other_layers = read_attention_layers(results_dir, other)
    if other_layers is not None:
        text += f". At {length(other)}: " + _attention_layer_words(other_layers, read_attention_ablation(results_dir, other))
    return f"{text}. {_kernel_drift(ANALYSIS_K)}"


def _kernel_drift(k: int) -> str:
    return (f"The recipe's weight decay acts only on the mean of the {k} kernels (early on, with π near-uniform, the "
            "kernels share one gradient, so per-kernel decay alone would act on their differences, shrinking them), "
            "so nothing limits how far apart they drift.")


def attention_layers_text(layers: pd.DataFrame, k: int) -> str:
    """Notebook 02's reading of its per-layer attention statistics of DY K=``k``
    (``analysis.attention_layer_statistics``): the README's words for them, glossed, and why the
    kernels can drift apart."""
    return f"Over the {len(layers)} dynamic convolutions: {_attention_layer_words(layers, None, True, k)}. {_kernel_drift(k)}"
