"""The attacks on compute (notebook 04): how far an attacker can raise the headline gated model's
executed MACs, and what a per-image MAC cap costs against the static network of the same worst
case."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from .. import seeds
from ..lengths import length
from ..manifest import HEADLINE_LABEL, SEEDS
from ..seeds import REFERENCE
from ..attack_results import adaptive_gap
from ..tables import counted
from ..verdicts import (CAP_INTERVAL, CAP_SEEDS, CAP_TOLERANCE, CAP_WORST_CASE, TEST_IMAGES, WIDE_BRACKET, Finding,
                        cap_words, energy_word, load_overview, read_energy, read_mac_caps, read_table, settled, waiting)
from .words import listed, value_range

COMPUTE = "Can an attacker make a gated model spend more?"  # the finding's topic, by which notebook 05 finds it


def _widths_around(over: pd.DataFrame, macs: float, shorter: Optional[pd.DataFrame] = None) -> str:
    """", here ResNet-20 ×0.5 width (10.25M) and ResNet-20 (40.55M)": the static networks in
    ``over`` nearest ``macs`` on either side, between which the frontier is interpolated, and
    whether they are more than ``WIDE_BRACKET`` apart in MACs; "" if they are not both there.
    For a wide bracket, ``shorter`` (the 30-epoch table over seeds, with more widths) says how far
    the widths between the two lie above the straight line there: a line across a frontier that
    bends reads the static network low."""
    static = over.loc[over.index.str.startswith(REFERENCE), "macs"].sort_values()
    below, above = static[static <= macs], static[static >= macs]
    if below.empty or above.empty:
        return ""
    span = above.iloc[0] / below.iloc[-1]
    text = (f", here {below.index[-1]} ({below.iloc[-1] / 1e6:.2f}M) and {above.index[0]} "
            f"({above.iloc[0] / 1e6:.2f}M), linear in log MACs")
    if span <= WIDE_BRACKET:
        return text
    text += f"; a bracket {span:.1f}× wide in MACs, so a coarse reading"
    ends = [below.index[-1], above.index[0]]
    if shorter is None or not set(ends) <= set(shorter.index):
        return text
    (low_macs, low_acc), (high_macs, high_acc) = (shorter.loc[end, ["macs", "test_acc"]] for end in ends)
    inside = shorter[shorter.index.str.startswith(REFERENCE) & (shorter["macs"] > low_macs)
                     & (shorter["macs"] < high_macs)]
    if inside.empty:
        return text
    line = low_acc + (high_acc - low_acc) * np.log(inside["macs"] / low_macs) / np.log(high_macs / low_macs)
    gap = (inside["test_acc"] - line).max()
    return text + (f": at {length('full')} the widths between them lie up to {gap:.2f} points above such a line, "
                   "so it may read the static network low" if gap > 0 else
                   f": at {length('full')} the widths between them lie on or below such a line")


def _higher(points: float) -> str:
    """"0.34 points higher than", "0.20 points lower than" or "level with" (no verdict: the
    words of a difference without an interval)."""
    if abs(points) < 0.005:
        return "level with"
    return f"{abs(points):.2f} points {'higher than' if points > 0 else 'lower than'}"


def _cap_against_static(caps: pd.DataFrame, row: pd.Series, around: str = "") -> str:
    """The capped model (at the cap ``row`` of the MAC-cap table ``caps``) against the static
    network that spends the cap on every image (read off the frontier between the static networks
    ``around`` names), with its interval where there are seeds, and over all caps; a verdict only
    from all the study's seeds (``cap_words``)."""
    if row["capped − static"] != row["capped − static"]:
        return ""
    word = cap_words(row.to_frame().T)[0]
    text = (f" The static network with the same worst case spends the cap ({row['cap (M)']:.2f}M) on every image; its "
            f"accuracy is read off the static frontier between the trained widths{around}. The capped "
            f"model ({row['clean MACs (M)']:.2f}M on average) ")
    position = {"behind": "is behind it", "ahead": "is ahead of it", "not distinguishable": "is not distinguishable from it"}
    if word not in position:
        why = word if row[CAP_SEEDS] < 2 else (f"[{row[CAP_INTERVAL[0]]:+.2f}, {row[CAP_INTERVAL[1]]:+.2f}] "
                                               f"paired by seed; {word}")
        return text + f"scores {_higher(row['capped − static'])} it ({why})."
    compared = caps[caps["capped − static"].notna()]
    words = cap_words(compared)
    short = sum(w not in position for w in words)
    over = (f"behind at every one ({compared['capped − static'].min():+.2f} to "
            f"{compared['capped − static'].max():+.2f} points)" if set(words) == {"behind"} else
            listed([f"behind at {words.count('behind')}", f"ahead at {words.count('ahead')}",
                  f"not distinguishable at {words.count('not distinguishable')}"]
                 + ([f"without a verdict at {short} (static widths on both sides of the cap for fewer than "
                     f"{len(SEEDS)} seeds)"] if short else [])))
    takeaway = (f"; until every cap is compared on all {len(SEEDS)} seeds, no verdict over the caps" if short else
                "; a static network of the same worst-case cost does better at every cap" if set(words) == {"behind"} else
                "; at no cap is the capped model ahead of a static network of the same worst-case cost"
                if "ahead" not in words else
                "; at no cap is a static network of the same worst-case cost ahead of the capped model"
                if "behind" not in words else "")
    return (text + f"{position[word]}: {row['capped − static']:+.2f} [{row[CAP_INTERVAL[0]]:+.2f}, "
            f"{row[CAP_INTERVAL[1]]:+.2f}] points, paired by seed; over the {len(words)} caps with a static network "
            f"to compare, it is {over}{takeaway}.")


def _adaptive_energy(results_dir: Path, profile: str) -> str:
    """The sub-bullet on notebook 04's adaptive energy attack (gradients through the gates'
    straight-through relaxation) against the plain one, paired by seed; "" without its table."""
    adaptive = read_table(results_dir, "energy_adaptive", profile=profile)
    if adaptive is None or adaptive.empty:
        return ""
    gap = adaptive_gap(adaptive)
    if not settled(gap["n"]):
        difference, word = f"{seeds.difference_text(gap, 3, '×')}; {waiting(gap['n'])}", "compared with"
    else:
        difference = f"{seeds.difference_text(gap, 3, '×')} paired by seed"
        word = {"ahead": "more than", "behind": "less than", "not distinguishable": "not distinguishable from"}[
            seeds.interval_word(gap["n"], gap["ci_low"], gap["ci_high"])]
    text = (f"\n- **An adaptive attacker.** With gradients as if each on/off gate were its sigmoid (the "
            f"straight-through relaxation), the attack reaches {adaptive['adaptive / clean'].mean():.3f}× against the plain attack's "
            f"{adaptive['energy / clean'].mean():.3f}× on the same images: {word} it ({difference})")
    strength = read_table(results_dir, "energy_strength", profile=profile)
    if strength is not None and len(strength) > 1:
        strength = strength.reset_index()
        main = strength[strength["main"]]
        if len(main):
            most, main = strength.loc[strength["attacked / clean"].idxmax()], main.iloc[0]
            text += (f"; more effort ({int(most['steps'])} steps, {counted(int(most['restarts']), 'random start')}) adds {most['attacked / clean'] - main['attacked / clean']:+.3f}× "
                     f"to the {int(main['steps'])}-step attack on {int(strength['images'].iloc[0])} images of seed 0")
    return text + "."


def _std_suffix(std: float) -> str:
    """" ± 0.12", or "" with one seed (no spread)."""
    return f" ± {std:.2f}" if std == std else ""


def mac_cap_summary(summary: pd.DataFrame, n_seeds: int) -> str:
    """Notebook 04's MAC cap in two Markdown paragraphs: whether a cap of ``CAP_WORST_CASE`` × the mean
    MACs costs less than ``CAP_TOLERANCE`` points of clean accuracy (else what it costs and why),
    the tighter caps, and what a user gives up against the static network of the same worst case.
    ``summary``: ``attack_results.budget_summary``'s table over the headline's ``n_seeds`` seeds."""
    goal, tolerance = CAP_WORST_CASE, CAP_TOLERANCE
    within = summary[(summary["multiple"] <= goal) & (summary["delta_acc_mean"] >= -tolerance)]
    loose = summary[summary["delta_acc_mean"] >= -tolerance]
    tight = summary[summary["multiple"] < (loose["multiple"].min() if len(loose) else goal)]  # cost more
    at_goal = summary.loc[(summary["multiple"] - goal).abs().idxmin()]
    return (
        (f"**A cap of {within['multiple'].max():g}× the mean MACs costs less than {tolerance:g} points:** no image, "
         "attacked or not, can execute "
         + (f"more than its seed's cap ({within['cap_mean'].max() / 1e6:.2f}M on average over {n_seeds} seeds)"
            if n_seeds > 1 else f"more than {within['cap_mean'].max() / 1e6:.2f}M MACs")
         + f", and clean accuracy stays within {tolerance:g} points of the "
         f"uncapped model ({within.iloc[-1]['delta_acc_mean']:+.2f})." if len(within) else
         f"**No cap gets there: a guaranteed worst case of {goal:g}× the mean MACs costs "
         f"{-at_goal['delta_acc_mean']:.2f}{_std_suffix(at_goal['delta_acc_std'])} points of clean accuracy** (paired over "
         f"seeds; more than {tolerance:g}), because {at_goal['capped_mean']:.0f}% of the clean test images need more "
         f"than the cap and lose channels they would have used.")
        + (f" The smallest cap within {tolerance:g} points is {loose['multiple'].min():g}× "
           f"({loose.iloc[0]['cap_mean'] / 1e6:.1f}M, {loose.iloc[0]['delta_acc_mean']:+.2f} points)."
           if len(loose) and (not len(within) or loose["multiple"].min() < within["multiple"].max()) else "")
        + (" Tighter caps cost more" + (" (mean ± std over seeds)" if tight["delta_acc_std"].notna().any() else "")
           + ": " + ", ".join(
               f"{r.multiple:g}× {r.delta_acc_mean:+.2f}{_std_suffix(r.delta_acc_std)} points ({r.capped_mean:.0f}% of "
               "images capped)" for r in tight.itertuples()) + "." if len(tight) else "")
        + f"\n\n**What a user gives up, and what the alternative is.** At {at_goal['multiple']:g}× the cap is "
        f"{at_goal['cap_mean'] / 1e6:.2f}M MACs; the static ResNet-20 that costs exactly that on every image would "
        f"reach {at_goal['frontier_acc_mean']:.2f}%, against the capped gated model's {at_goal['acc_mean']:.2f}% "
        f"({seeds.signed(at_goal, 'acc_vs_frontier')} points"
        + (", paired by seed" if at_goal["acc_vs_frontier_n"] > 1 else "")
        + f") at a lower clean average ({at_goal['macs_mean_mean'] / 1e6:.2f}M). Across the caps the capped gated "
        f"model is {summary['acc_vs_frontier_mean'].min():+.2f} to {summary['acc_vs_frontier_mean'].max():+.2f} points "
        f"from the static network of the same worst case. Under the energy attack every capped model stays at or "
        f"below its cap (largest attacked image / cap: "
        f"{(summary['attacked_macs_max_mean'] / summary['cap_mean']).max():.3f}); accuracy on those attacked images "
        f"is {summary['attacked_acc_mean'].min():.1f}–{summary['attacked_acc_mean'].max():.1f}% across the caps.")


_ENERGY_VERDICTS = {"much more": "Yes: an attacker can make the headline gated model spend much more",
                    "more": "Yes, within limits: an attacker can make the headline gated model spend more",
                    "hardly more": "Hardly: the energy attack barely moves the headline gated model's compute"}


def energy_summary(table: pd.DataFrame, recovered: pd.DataFrame, transfer: pd.DataFrame, headline: list[str],
                   uniform: list[str], references: list[str], eps: list[float], resnet20_macs: float,
                   control: Optional[tuple[str, float]] = None) -> str:
    """Notebook 04's energy attack in Markdown paragraphs: on the headline gated model (its seeds'
    labels ``headline``) at the largest of ``eps`` against uniform noise of the same ε, its
    stealthy variant, the uniform-L0 gated models (``uniform``), the static ``references``, which
    no attack can push, and a black-box attack from one headline seed to another.

    ``table``: ``attack_results.energy_overview``'s, labelled; ``recovered``: per model, the share of its
    saving over ResNet-20 that the "energy" and "stealthy" attacks take back, in %
    (``attack_results.saving_recovered``); ``transfer``: ``attack_results.energy_transfer``'s rows at the largest ε;
    ``control``: the static control's (label, MACs), or None."""
    own = table.set_index(["model", "ε (/255)"])

    def at(labels, e):  # the rows of ``labels`` at ε = e, those measured
        return own.loc[[(label, e) for label in labels if (label, e) in own.index]]

    def ratio(rows, name):  # mean MACs on the image set ``name`` over the clean ones
        return rows[f"mean MACs {name} (M)"] / rows["mean MACs clean (M)"]

    def span(values, digits=2):  # "low–high" over the seeds, or the one value
        return value_range(values, f".{digits}f", sep="–")

    top, low = max(eps), min(eps)
    headline_top, headline_low, uniform_top = at(headline, top), at(headline, low), at(uniform, top)
    reference_top = at(references, top)
    constant = bool(len(reference_top)) and all(np.allclose(reference_top[f"mean MACs {s} (M)"],
                                                            reference_top["mean MACs clean (M)"])
                                                for s in ("noise", "energy"))
    stealthy_ratio = ratio(headline_top, "stealthy").dropna()
    paragraphs = []
    if len(headline_top):
        shares = seeds.interval(recovered["energy"].reindex(headline).dropna())
        paragraphs.append(
            f"**{_ENERGY_VERDICTS[energy_word(ratio(headline_top, 'energy').mean())]}, and the noise control shows "
            f"that it is the attack, not the perturbation.** At ε = {top:g}/255 the energy attack raises its mean "
            f"executed MACs from {span(headline_top['mean MACs clean (M)'])}M to "
            f"{span(headline_top['mean MACs energy (M)'])}M per image ({span(ratio(headline_top, 'energy'))}×, "
            f"{counted(len(headline_top), 'seed')}), taking back {seeds.over_seeds(shares, 1, '%')} "
            f"of its saving over ResNet-20; the costliest attacked image executes "
            f"{span(headline_top['max MACs energy (M)'], 1)}M (ResNet-20: {resnet20_macs / 1e6:.2f}M). Uniform noise "
            f"of the same ε changes the mean by a factor {span(ratio(headline_top, 'noise'), 3)}. At ε = {low:g}/255 "
            f"the attack gets {span(ratio(headline_low, 'energy'))}×."
            + (f" Images that execute more than {control[0]} ({control[1] / 1e6:.2f}M for every image, against the "
               f"gated model's {headline_top['mean MACs clean (M)'].mean():.2f}M average) go from "
               f"{span(headline_top['above static clean (%)'], 1)}% of the clean images to "
               f"{span(headline_top['above static energy (%)'], 1)}% of the attacked ones." if control else ""))
    if len(stealthy_ratio):
        extra = headline_top["mean MACs energy (M)"] - headline_top["mean MACs clean (M)"]
        kept_share = ((headline_top["mean MACs stealthy (M)"] - headline_top["mean MACs clean (M)"]) / extra).mean()
        stealthy = seeds.interval(recovered["stealthy"].reindex(headline).dropna())
        paragraphs.append(
            f"**The stealthy variant keeps every prediction** (accuracy stays at the clean "
            f"{span(headline_top['acc clean (%)'], 1)}%, where the unconstrained attack leaves "
            f"{span(headline_top['acc energy (%)'], 1)}%) and still reaches {span(stealthy_ratio)}× the clean MACs: "
            f"{kept_share * 100:.0f}% of the unconstrained attack's extra MACs, so a compute attack need not show in "
            f"the outputs ({stealthy['mean']:.1f}% of the saving recovered).")
    if len(uniform_top):
        paragraphs.append(
            f"**The uniform-L0 gated models** at ε = {top:g}/255 (clean → attacked mean MACs; share of their own "
            f"saving over ResNet-20 taken back): "
            + "; ".join(f"{label.removeprefix('gated ')} {row['mean MACs clean (M)']:.1f} → "
                        f"{row['mean MACs energy (M)']:.1f}M ({recovered['energy'].get(label, np.nan):.0f}% of "
                        f"{resnet20_macs / 1e6 - row['mean MACs clean (M)']:.1f}M)"
                        for (label, _), row in uniform_top.iterrows())
            + ". The share depends on how much a model saved as well as on what the attack switches on.")
    if constant:
        several = len(reference_top) > 1
        paragraphs.append(
            f"**{' and '.join(dict.fromkeys(label for label, _ in reference_top.index))} cannot be pushed:** on the "
            f"same energy images {'their' if several else 'its'} MACs equal the clean ones ("
            + ", ".join(f"{label} {row['mean MACs clean (M)']:.2f}M" for (label, _), row in reference_top.iterrows())
            + f"), as {'they' if several else 'it'} must: no part of {'them' if several else 'it'} can be switched off.")
    if len(transfer):
        paragraphs.append(
            f"**A black-box attacker gets part of it:** images attacked on one seed of the headline model raise "
            f"another seed's mean MACs by {(transfer['transferred / clean'].mean() - 1) * 100:.0f}%, "
            f"{transfer['share of white-box gain'].mean() * 100:.0f}% of the white-box gain on that seed.")
    return "\n\n".join(paragraphs) or "No gated runs of this profile to attack yet."


def energy_attack(over: pd.DataFrame, results_dir: Path, profile: str) -> Optional[Finding]:
    """How much compute an attacker can force on the headline gated model, and what a cap costs
    (notebook 04's tables), the cap set against the static widths of ``over`` (``load_overview``'s
    table over seeds) around it."""
    found = read_energy(results_dir, profile)
    if found is None:
        return None
    eps, top, shares, ratio = found.eps, found.top, found.shares, found.ratio
    share = seeds.interval(shares["energy"])
    stealthy = seeds.interval(shares["stealthy"].dropna())
    images = f" on {int(top['images'].iloc[0]):,} test images" if "images" in top else ""
    clean = f"{top['mean MACs clean (M)'].mean():.2f}M"
    # on a subset of the test images, the clean mean can differ from the one the other findings give
    # (the mean over all test images of the same seeds)
    subset = "images" in top and int(top["images"].iloc[0]) < TEST_IMAGES
    if subset and HEADLINE_LABEL in over.index and over.loc[HEADLINE_LABEL, "n"] == len(top):
        all_images = f"{over.loc[HEADLINE_LABEL, 'macs'] / 1e6:.2f}M"
        clean += f" ({all_images} over all test images)" if all_images != clean else ""
    text = (f"{_ENERGY_VERDICTS[energy_word(ratio.mean())]}. "
            f"At ε = {eps:g}/255 an attack on compute raises its mean executed "
            f"MACs{images} from {clean} to {top['mean MACs energy (M)'].mean():.2f}M "
            f"per image ({ratio.mean():.2f}×, {counted(len(top), 'seed')}; uniform noise of the "
            f"same ε: {found.noise.mean():.3f}×), taking back {seeds.over_seeds(share, 1, '%')} of its saving against ResNet-20"
            + ("; a stealthy variant that keeps every prediction takes back "
               + (seeds.plus_minus(stealthy["mean"], stealthy["std"], 1, "%") if stealthy["n"] == share["n"]
                  else seeds.over_seeds(stealthy, 1, "%"))
               if stealthy["n"] else "")
            + "." + _adaptive_energy(results_dir, profile))
    caps = read_mac_caps(results_dir, profile)
    if caps is not None and len(caps):
        caps = caps.reset_index()
        uncapped = caps["cap (M)"] / caps["cap (× mean MACs)"]  # each seed's mean MACs without a cap, averaged
        bounded = caps[caps["attacked max (M)"] <= CAP_WORST_CASE * uncapped]
        row = (bounded if len(bounded) else caps).sort_values("cap (× mean MACs)").iloc[-1]
        several = len(top) > 1  # each seed has its own cap; the table gives their means
        largest = " (mean over seeds of each seed's costliest)" if several else ""
        text += (f"\n- **A per-image MAC cap.** It bounds the attack by construction: capped at {row['cap (× mean MACs)']:.2f}× "
                 f"the gated model's mean MACs over all test images ({row['cap (M)']:.2f}M{', mean over seeds' if several else ''}), "
                 f"clean accuracy changes by {row['Δ acc vs uncapped']:+.2f} points and the costliest attacked image "
                 f"executes {row['attacked max (M)']:.2f}M{largest}."
                 + _cap_against_static(caps, row, _widths_around(
                     over, row["cap (M)"] * 1e6, load_overview(results_dir, "full")[1] if profile != "full" else None)))
    return Finding(COMPUTE, text, "04_energy_macs.png")
