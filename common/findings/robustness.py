"""The label attacks' findings (notebook 04): robustness to FGSM and PGD of each model against the
ResNet-20 of its seed, paired by image and over seeds, and what an attack does to DY's attention
and a gated model's compute."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from .. import seeds
from ..lengths import in_prose
from ..manifest import HEADLINE_LABEL, KERNEL_SWEEP_LABELS, L0_SWEEP_LABELS
from ..names import split_seed
from ..seeds import REFERENCE
from ..attack_results import PAIRED_CI, direction_words, robust_over_seeds
from ..tables import counted
from ..verdicts import ROBUST_ACC, Finding, read_robustness, settled, waiting
from .words import listed, value_range

ATTACKS = "Adversarial attacks"  # the finding's topic, by which notebook 05 finds it for its section


def label_attacks(results_dir: Path, profile: str) -> Optional[Finding]:
    """Robustness to FGSM and PGD from notebook 04's sweep and its image-paired differences;
    None where notebook 04 has not run at ``profile``."""
    found = read_robustness(results_dir, profile)
    if found is None:
        return None
    sweep, eps, strongest = found.sweep, found.eps, found.strongest
    largest, most = found.largest, found.most
    families = {"ResNet-20": [REFERENCE],
                "DY": list(KERNEL_SWEEP_LABELS), "gated": [*L0_SWEEP_LABELS, HEADLINE_LABEL]}
    parts = []
    for family, labels in families.items():
        values = strongest.reindex(labels).dropna()
        if family == "DY" and len(values):  # "DY K=2…5", or the one K trained
            ks = [label.split("=")[-1] for label in values.index]
            family = f"DY K={ks[0]}" + (f"…{ks[-1]}" if len(ks) > 1 else "")
        if len(values) > 1:
            parts.append(f"{family} {values.min():.1f}–{values.max():.1f}% (lowest–highest of its {len(values)} "
                         "models, seed 0)")
        elif len(values):  # one model: with its other seeds' spread, where they were attacked
            label = values.index[0]
            every = strongest[[split_seed(other)[0] == label for other in strongest.index]]
            parts.append(f"{family} {values.iloc[0]:.1f}%" + (
                f" (seed 0; {every.min():.1f}–{every.max():.1f}% over its {len(every)} seeds)" if len(every) > 1 else ""))
    paired, verdict, how, over = found.paired, "", "", ""
    if paired is not None:  # the comparison between models: differences paired by image
        spread = paired[f"Δ vs {REFERENCE} (points)"].dropna()
        half = (paired[PAIRED_CI[1]] - paired[PAIRED_CI[0]]).dropna() / 2
        # seed 0's models here; those attacked at several seeds are read over their seeds (``over``)
        zero = [label for label in strongest.index if split_seed(label)[1] is None]
        beyond = found.differ_words(zero, verb="is")
        by_seed = "paired with" in paired and any(split_seed(label)[1] is not None for label in paired["paired with"].dropna())
        # the models attacked at several seeds, each seed against the ResNet-20 of that seed
        over_seeds = robust_over_seeds(paired, REFERENCE) if "paired with" in paired else None
        # a difference on seed 0 that no interval over seeds backs says so where it is stated
        several = set(over_seeds["model"]) if over_seeds is not None else set()
        alone = [label for label in found.differ(zero) if label not in several]
        verdict = (f", and at {eps:g}/255 {_none_of(parts)} from ResNet-20" if not beyond else
                   f"; at {eps:g}/255 {listed(beyond)} than ResNet-20"
                   + ("" if not alone else " on seed 0 alone" if len(alone) == len(beyond)
                      else f" ({listed([in_prose(label) for label in alone])} on seed 0 alone)")
                   + (f", among {len(spread)} comparisons, where one may exclude 0 by chance"
                      if alone and len(spread) > 1 else ""))
        how = (f"\n- **How they are compared.** Each model against "
               f"{'the ResNet-20 of its seed' if by_seed else 'ResNet-20'} on the same {found.images} test images, "
               f"paired by image, an image counting as robust only if it survives every PGD variant, for gated models "
               f"also their straight-through versions, which attack through the gates; "
               + (f"{len(spread)} comparisons, " if len(spread) > 1 else "")
               + ("differences " if len(spread) > 1 else "difference ") + value_range(spread, "+.1f") + " points, "
               + ("95% intervals " if len(half) > 1 else "95% interval ") + value_range(half, ".1f", "±")
               + f"; {_attacked_seeds(sweep)}.")
        over = _robust_over_seeds(over_seeds)
    text = ((f"No model is robust at {largest:g}/255" if most < ROBUST_ACC else
             f"A model keeps {most:.1f}% at {largest:g}/255")
            + f"{verdict}.\n- **At ε = {eps:g}/255.** "
            + ("The share of images that survive every PGD variant is" if paired is not None
               else "The strongest PGD leaves")
            + f" {'; '.join(parts)}; at {largest:g}/255 "
            + (f"every model is at {most:.1f}%." if most == 0 else f"every model is at {most:.1f}% or less.")
            + over + how)
    return Finding(ATTACKS, text, "05_robustness_curves.png")


def paired_attack_text(paired: pd.DataFrame, eps_255: float, images: int) -> str:
    """Notebook 04's reading of its image-paired table (``attack_results.paired_by_image``): which models'
    robust accuracy differs from the ResNet-20 of their seed at ``eps_255``, in which direction, and
    among how many comparisons, since one of several 95% intervals may exclude 0 by chance."""
    n = int(paired[f"Δ vs {REFERENCE} (points)"].notna().sum())
    words = direction_words(paired, paired["model"], REFERENCE, lambda label: f"**{label}**", "is")
    if not words:
        return (f"At ε = {eps_255:g}/255 on {images} images, no model differs from the ResNet-20 of its seed "
                f"(every 95% interval includes 0, {counted(n, 'comparison')}).")
    return (f"At ε = {eps_255:g}/255 on {images} images, {listed(words)} than the ResNet-20 of "
            + ("its seed (95% interval excludes 0)" if len(words) == 1 else "their seeds (95% intervals exclude 0)")
            + (f", among {n} comparisons, where one may exclude 0 by chance." if n > 1 else "."))


def attention_shift_text(shift: pd.DataFrame, noise: pd.DataFrame, attack: str, eps_255: float,
                         moved_255: tuple[float, float]) -> str:
    """Notebook 04's reading of how far an attack moves DY's attention (``analysis.attention_shift``
    per layer), beside uniform noise in the same ε-ball (``noise``, the same table for noisy images),
    with how far each moves a pixel on average (``moved_255``: attack, noise, in 1/255): a shift that
    noise matches says nothing about the attack, and noise moves pixels less than a sign-step attack."""
    tv, by_noise = shift["mean TV distance"], noise["mean TV distance"]
    times = f", {tv.mean() / by_noise.mean():.1f}× as far as noise" if by_noise.mean() > 0 else ""
    return (f"{attack} at ε = {eps_255:g}/255 moves an image's attention by a total-variation distance (0: unchanged, "
            f"1: disjoint) of {tv.mean():.3f} on average over the {len(shift)} dynamic layers (largest {tv.max():.3f}, "
            f"{shift.loc[tv.idxmax(), 'layer']}); uniform noise in the same ε-ball moves it by {by_noise.mean():.3f} "
            f"(largest {by_noise.max():.3f}){times}, though it moves a pixel by {moved_255[1]:.1f}/255 on average "
            f"against the attack's {moved_255[0]:.1f}/255. The attention's normalised entropy, averaged over the layers, is "
            f"{shift['entropy clean'].mean():.2f} on clean and {shift['entropy adversarial'].mean():.2f} on attacked images.")


def macs_under_attack_text(compute: dict[str, np.ndarray], model: str, reference_macs: float) -> str:
    """Notebook 04's answer to "do label attacks raise the gated model's compute?": each attacked
    set's mean executed MACs (``compute``: per-image MACs, "clean" first) against the clean mean,
    paired by image with a 95% t interval."""
    clean = np.asarray(compute["clean"], dtype=float)
    parts, raised = [], []
    for name, macs in compute.items():
        if name == "clean":
            continue
        change = seeds.interval(100 * (np.asarray(macs, dtype=float) - clean) / clean.mean())
        raised.append(change["ci_low"] > 0)
        parts.append(f"{name} {np.mean(macs) / 1e6:.2f}M ({change['mean']:+.1f}% [{change['ci_low']:+.1f}, "
                     f"{change['ci_high']:+.1f}])")
    lead = ("Label attacks raise" if all(raised) else "Not every label attack raises" if any(raised)
            else "Label attacks do not raise")
    return (f"{lead} the compute of {model}: mean executed MACs {clean.mean() / 1e6:.2f}M on clean images, "
            f"{listed(parts)} on attacked ones (change from clean, paired by image, 95% interval); ResNet-20 "
            f"executes {reference_macs / 1e6:.2f}M. The energy attacks below aim at the compute instead.")


def _attacked_seeds(sweep: pd.DataFrame) -> str:
    """Which seeds of which models were compared: "seed 0 of each model, and seeds 1 and 2 of DY
    K=4 and the headline gated model" (ResNet-20's other seeds are the references, not compared)."""
    found = pd.DataFrame([split_seed(label) for label in sweep["model"].unique()], columns=["model", "seed"])
    found = found[found["seed"].notna() & (found["model"] != REFERENCE)]
    seeds_of = found.groupby("model", sort=False)["seed"].agg(lambda s: tuple(sorted(s.astype(int))))
    groups = seeds_of.groupby(seeds_of, sort=False).groups  # {(seeds): [models]}
    return "seed 0 of each model" + "".join(
        f", and seed{'s' if len(numbers) > 1 else ''} {listed([str(n) for n in numbers])} of {listed([in_prose(m) for m in models])}"
        for numbers, models in groups.items())


def _robust_over_seeds(table: Optional[pd.DataFrame]) -> str:
    """``attack_results.robust_over_seeds``' ``table`` (the models attacked at several seeds, each seed
    against the ResNet-20 of that seed) in words, a sub-bullet: "Over seeds. ... DY K=4 +1.0 [-3.0, +5.0]
    points (3 seeds): not distinguishable"; "" without such models (or None: no seed pairing)."""
    if table is None or table.empty:
        return ""
    parts = []
    for _, row in table.iterrows():
        n, low, high = row["seeds"], row[PAIRED_CI[0]], row[PAIRED_CI[1]]
        word = seeds.interval_word(n, low, high)
        parts.append(f"{in_prose(row['model'])} {row['Δ mean (points)']:+.1f} [{low:+.1f}, {high:+.1f}] points "
                     + (f"({n:.0f} seeds): " + {"ahead": "more robust", "behind": "less robust"}.get(word, word)
                        if settled(n) else f"({waiting(n)})"))
    return ("\n- **Over seeds.** Each seed's difference from the ResNet-20 of that seed, mean and 95% interval over "
            "the seeds (Student's t; every seed on the same images, so the interval is the spread between training "
            "runs): " + "; ".join(parts) + ".")


def _none_of(parts: list[str]) -> str:
    """"neither dynamic family is distinguishable" when two families were attacked ("no dynamic
    family" for more), else "<the one> is not distinguishable"."""
    families = [part.split()[0] for part in parts if not part.startswith("ResNet-20")]
    if len(families) > 1:
        return f"{'neither' if len(families) == 2 else 'no'} dynamic family is distinguishable"
    names = {"DY": "dynamic convolution", "gated": "channel gating"}
    return f"{names.get(families[0], families[0]) if families else 'no other model'} is not distinguishable"
