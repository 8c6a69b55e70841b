"""Channel gating's findings (notebook 03): accuracy against executed MACs and the static
networks, how per-image the gates are, whether similar classes use similar channels, and notebook
03's one-seed readings; the words for a gated model's static control, which the study's question
uses too (``nearest_words``, ``costlier``)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from .. import seeds
from ..analysis import RATE_MATCHED, UNTRAINED, follows_split
from ..flops import RESNET20_MACS
from ..lengths import FRONTIER_AT_OWN_MACS
from ..manifest import CONTROL_LABEL, HEADLINE_LABEL, L0_CHOSEN_AFTER_TEST, L0_SWEEP_LABELS, L0_WEIGHTS
from ..models.gating import CONDITIONAL_RANGE
from ..selection import GOALS, frontier_accuracy
from ..verdicts import (WITHIN_POINTS, Finding, accuracy_text, gates_per_image, learnt, like_random, read_controls,
                        read_gating_controls, read_gating_seeds, read_input_dependence, read_table, same_cost, settled,
                        spans_zero, untrained_twins, waiting)
from .similarity import apart, over_seeds_at_both, random_features, threshold_words
from .words import listed

# the findings' topics, by which notebook 05 finds each for its section
MACS = "Channel gating, accuracy and executed MACs"
CHANNELS = "Channel gating, do similar classes use similar channels?"


def channel_gating(over: pd.DataFrame, results_dir: Path, profile: str) -> Optional[Finding]:
    """The headline gated model's accuracy and executed MACs against ResNet-20 and the static
    networks (``over``: ``load_overview``'s table over seeds), with notebook 03's input-dependence
    and batch-1 speed tables where they exist; None without a finished headline run."""
    headline = HEADLINE_LABEL
    if headline not in over.index:
        return None
    row = over.loc[headline]
    control = row["nearest_static"]  # the control whose paired difference is printed beside it
    uniform = list(L0_SWEEP_LABELS)
    margins = [(w, f"{over.loc[u, 'margin_mean']:+.2f}") for w, u in zip(L0_WEIGHTS, uniform)
               if u in over.index and over.loc[u, "margin_n"] >= 1]
    text = (f"The headline gated model (conditional gates, MAC-weighted L0, chosen on a training "
            f"hold-out) executes {row['macs'] / 1e6:.2f}M MACs on average "
            f"({100 * row['macs'] / RESNET20_MACS:.1f}% of ResNet-20's) at {accuracy_text(row)}: "
            f"{seeds.signed_points(row, 'delta')} against ResNet-20 and {seeds.signed(row, 'nearest')} against "
            f"{nearest_words(over, row, control, named=True)} ("
            + (("not distinguishable from it" if spans_zero(row, "nearest") else "different from it")
               if settled(row["nearest_n"]) else waiting(row["nearest_n"])) + ")"
            + (f"; {seeds.signed(row, 'margin')} over {FRONTIER_AT_OWN_MACS}." if row["margin_n"] >= 1 else "."))
    dependence = read_input_dependence(results_dir, profile)
    if dependence is not None and headline in dependence.index:
        d = dependence.loc[headline]
        per_image = gates_per_image(d)
        text += (("\n- On seed 0 its decisions are per image, as the selection rule required" if per_image else
                  "\n- On seed 0 its decisions are less per image than the selection rule required")
                 + f" (at least {100 * GOALS['min_live_conditional']:.0f}% of live gates conditional, per-image MACs "
                 f"varying by at least {100 * GOALS['min_macs_cv']:.0f}%): "
                 f"{d['live gates conditional (%)']:.0f}% of its live gates (those on for some image) are conditional (on for "
                 f"{100 * CONDITIONAL_RANGE[0]:.0f}–{100 * CONDITIONAL_RANGE[1]:.0f}% of images), its per-image MACs vary by {d['MACs spread (%)']:.1f}% (std / "
                 f"mean), and freezing every gate to its majority decision costs "
                 f"{-d['Δ frozen (points)']:.2f} points (no retraining"
                 + (f"; the frozen network executes {d['frozen MACs vs ResNet-20']:.2f}× ResNet-20's MACs against "
                    f"{d['MACs vs ResNet-20']:.2f}×, so not all of that is input dependence"
                    if "frozen MACs vs ResNet-20" in d
                    and not same_cost(d["frozen MACs vs ResNet-20"], d["MACs vs ResNet-20"]) else "") + ").")
    if margins:
        shares = (dependence.reindex(uniform)["live gates conditional (%)"].dropna()
                  if dependence is not None else pd.Series(dtype=float))
        text += ("\n- The uniform-L0 models, whose gates are mostly fixed"
                 + (f" ({shares.min():.0f}–{shares.max():.0f}% of live gates conditional)" if len(shares) else "")
                 + f", lie within {max(abs(float(m)) for _, m in margins):.2f} points of the static frontier "
                 f"(L0 = {' / '.join(f'{w:g}' for w, _ in margins)}: {' / '.join(m for _, m in margins)} points; "
                 "one seed each, so no verdict"
                 + (f"; the weight {L0_CHOSEN_AFTER_TEST:g} was chosen after other weights' test accuracies were known"
                    if L0_CHOSEN_AFTER_TEST in dict(margins) else "") + ").")
    speed = read_table(results_dir, "gating_speed", profile=profile)
    if speed is not None and "gated, active channels only" in speed.index:
        fast = speed.loc["gated, active channels only"]
        thin = speed.loc[CONTROL_LABEL] if CONTROL_LABEL in speed.index else None
        text += (f"\n- Fewer MACs do not mean less time here: computing only the active channels at batch 1 "
                 f"runs at {fast['speed_vs_resnet20']:.2f}× ResNet-20's images/s for "
                 f"{fast['macs_vs_resnet20']:.2f}× its MACs on the images timed"
                 + (f", and its static control {CONTROL_LABEL} runs at {thin['speed_vs_resnet20']:.2f}× for "
                    f"{thin['macs_vs_resnet20']:.2f}×" if thin is not None else "") + f" ({fast['device']}, notebook 03).")
    return Finding(MACS, text, "05_accuracy_vs_macs.png")


def input_dependence_text(dependence: pd.DataFrame, goals: str, meets: list[str]) -> str:
    """Notebook 03's reading of its input-dependence table (one row per gated model): which models
    meet the selection rule's per-image criteria (``meets``, the rule's ``goals`` in words), then per
    model its conditional share, MACs spread and what freezing the gates costs, at the MACs the frozen
    network executes (freezing changes the compute too)."""
    lead = (f"Measured here on the test images (the selection itself used the training hold-out), {listed(meets)} "
            f"{'meets' if len(meets) == 1 else 'meet'} all three criteria of the selection rule ({goals})." if meets else
            f"**No gated model here meets the selection rule's criteria** ({goals}): these gates are mostly a "
            "per-channel pruning learnt during training.")
    rows = [f"- {r['model']}: {r['live gates conditional (%)']:.0f}% of live gates conditional, MACs spread "
            f"{r['MACs spread (%)']:.1f}%; frozen gates give {r['frozen-gate acc']:.2f}% ({r['Δ frozen (points)']:+.2f} "
            f"points) at {r['frozen MACs vs ResNet-20']:.2f}× ResNet-20's MACs, against {r['MACs vs ResNet-20']:.2f}× "
            "with per-image gates" for _, r in dependence.iterrows()]
    return lead + "\n\n" + ";\n".join(rows) + "."


def compute_and_difficulty_text(d: dict[str, float]) -> str:
    """Notebook 03's reading of ``analysis.compute_and_difficulty``: over all test images and within
    a class; only the correlation where no image (or no class) has both correct and wrong images."""
    rank = f"Spearman correlation of MACs with confidence {d['spearman']:+.2f}"
    if d["macs wrong"] != d["macs wrong"] or d["macs correct"] != d["macs correct"]:
        return f"{rank}."
    text = (f"Mean executed MACs: {d['macs correct'] / 1e6:.2f}M on correctly classified images, "
            f"{d['macs wrong'] / 1e6:.2f}M on wrongly classified ones ({d['macs wrong'] / d['macs correct'] - 1:+.1%}); "
            f"{rank}.")
    gap = d["wrong over correct within class"]
    if gap != gap:
        return text
    return (text + f" Within a class, where a class's own cost and difficulty cannot make the effect, the wrongly "
            f"classified images execute {abs(gap):.1%} {'more' if gap >= 0 else 'fewer'} MACs than the correctly "
            f"classified ones (more in {d['classes wrong costlier']} of {d['classes compared']} classes), and the "
            f"correlation is {d['spearman within class']:+.2f} (means over the classes).")


def costlier(over: pd.DataFrame, row: pd.Series) -> bool:
    """Whether ``row``'s nearest static network costs more than it, beyond ``same_cost``."""
    control = row["nearest_static"]
    macs = over.loc[control, "macs"] if control in over.index else float("nan")
    return not same_cost(row["macs"], macs) and macs > row["macs"]


def nearest_words(over: pd.DataFrame, row: pd.Series, control: str, named: bool = False,
                   share: Optional[float] = None) -> str:
    """"the static network of equal MACs" ("ResNet-20 ×0.5 width, the static network of equal MACs"
    when ``named``), or, when its MACs differ (``same_cost``), "ResNet-20 ×0.5 width, the static
    network nearest in MACs of those trained (10.00M, 25% more than the gated model's 8.00M)";
    with ``share`` (the gated model's MACs over ResNet-20's), that share too."""
    macs = over.loc[control, "macs"] if control in over.index else float("nan")
    of_resnet = f"{share:.0%} of ResNet-20's" if share is not None else ""
    if same_cost(row["macs"], macs):
        return (f"{control + ', ' if named else ''}the static network of equal MACs"
                + (f" (both about {of_resnet})" if of_resnet else ""))
    more = macs / row["macs"] - 1
    return (f"{control}, the static network nearest in MACs of those trained ({macs / 1e6:.2f}M, "
            f"{abs(more):.0%} {'more' if more > 0 else 'less'} than the gated model's {row['macs'] / 1e6:.2f}M"
            + (f", which is {of_resnet}" if of_resnet else "") + ")")


def channels_by_class(results_dir: Path, profile: str) -> Optional[Finding]:
    """Do similar classes use similar channels? From notebook 03's similarity controls (seed 0)
    and its per-seed table; None where notebook 03 has not run at ``profile``."""
    text = channel_controls_text(read_gating_controls(results_dir, profile))
    if not text:
        return None
    text += over_seeds_at_both(read_gating_seeds, results_dir, profile, "the headline gated model")
    return Finding(CHANNELS, text,
                   "03_gating_channel_class_similarity.png")


def channel_controls_text(table: Optional[pd.DataFrame], seed: int = 0) -> str:
    """The answer to "do similar classes use similar channels?" from one seed's similarity controls
    of a gated model's channel usage (``analysis.gating_controls``): the trained usage, the static
    features, the partial correlation given them, random features and the same model untrained;
    "" without both of the first two rows. Notebook 03 prints it, the README's finding leads with it."""
    found = read_controls(table)
    if found is None:
        return ""
    own, static, agreement, partial = found
    twins = untrained_twins(table)
    answer = ""
    if twins and learnt(table, partial):
        answer = ("Yes, and more than the same gated model untrained, but random features pass the same test: "
                  if like_random(table, partial) else "Yes, and more than the same gated model untrained: ")
    text = (f"{answer}{'on' if answer else 'On'} seed {seed}, similar classes use similar channels (cat/dog {own['cat/dog']:.2f}, automobile/truck "
            f"{own['automobile/truck']:.2f}{apart(own)}); a static ResNet-20's features give "
            f"{static['cat/dog']:.2f} / {static['automobile/truck']:.2f} (agreement r = {agreement:.2f}). "
            f"Given them, channel usage "
            + ("still follows" if follows_split(partial) else "does not follow")
            + f" the vehicle/animal split (partial correlation {partial:+.2f}; {threshold_words()})"
            f"{random_features(table, partial)}")
    if not twins:
        return text + "."
    text += (f".\n- What training adds shows against the same gated model untrained: by the same partial "
             f"correlation its channel usage gives {twins[UNTRAINED]:+.2f}")
    if RATE_MATCHED in twins:
        text += f", and {twins[RATE_MATCHED]:+.2f} with its gates set to the trained model's on-rates"
    return text + (f", against {partial:+.2f} trained, so on seed {seed} the gates learn to follow the split." if
                   learnt(table, partial) else
                   ", so it is not shown to be learnt: the untrained architecture gives it too.")


def cheapest_gated(summary: pd.DataFrame, baseline: dict, static_points: Optional[pd.DataFrame], seed: int) -> str:
    """Notebook 03's one-seed reading of its gated models (``summary``: label, avg_executed_macs,
    test_acc, "Δ test acc (points)", "MACs vs ResNet-20"): the cheapest within ``WITHIN_POINTS``
    of ResNet-20 (``baseline``'s metrics), set against a static network of the same MACs read off
    ``static_points`` (``seeds.seed_frontier`` of the thin ResNet-20s of ``seed``; None: none);
    else the closest to ResNet-20, set against the same static network; and that it is one seed's."""
    within = f"{WITHIN_POINTS:g} point{'' if WITHIN_POINTS == 1 else 's'}"
    good = summary[(summary["avg_executed_macs"] < baseline["macs"]) & (summary["Δ test acc (points)"] >= -WITHIN_POINTS)]
    if not len(good):
        best = summary.loc[summary["Δ test acc (points)"].idxmax()]
        name = f"the closest, {best['label']}," if len(summary) > 1 else best["label"]
        text = (f"No gated model is both cheaper than ResNet-20 and within {within} of its accuracy in this profile; "
                f"{name} is {best['Δ test acc (points)']:+.2f} "
                f"points from it at {100 * best['MACs vs ResNet-20']:.1f}% of its MACs.")
    else:
        best = good.loc[good["avg_executed_macs"].idxmin()]
        text = (f"The cheapest gated model within {within} of ResNet-20 is {best['label']}: "
                f"{best['test_acc']:.2f}% test accuracy ({best['Δ test acc (points)']:+.2f} points) at "
                f"**{100 * best['MACs vs ResNet-20']:.1f}%** of ResNet-20's MACs "
                f"({best['avg_executed_macs'] / 1e6:.2f}M vs {baseline['macs'] / 1e6:.2f}M).")
    at = frontier_accuracy(static_points, best["avg_executed_macs"])[0] if static_points is not None else np.nan
    return (text + (f" A static network of the same MACs (ResNet-20's thin versions, seed {seed}, interpolated) "
                    f"reaches {at:.2f}%: the gated model is {best['test_acc'] - at:+.2f} points from it." if at == at else
                    " No static networks of this seed bracket its MACs, so there is no equal-cost control here.")
            + f" All of these are seed {seed}'s runs; notebook 05 compares over seeds.")
