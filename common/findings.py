"""The study's findings, one per question of the proposal, each with its number and the figure
that shows it: computed from the finished runs (``metrics.json``, over seeds) and the tables the
notebooks wrote, never typed, and worded by the rules of ``common.verdicts`` (stated for readers
by ``reading_rules``). The last finding, on training length, comes from ``common.lengths``. The
README's Findings block and notebook 05's opening both print ``findings_markdown``, so the two
cannot disagree; notebooks 02 and 03 print ``per_seed_note`` under their per-seed tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Optional

import numpy as np
import pandas as pd

from . import seeds
from .analysis import (RATE_MATCHED, TRAINED, TWINS, UNTRAINED, UNTRAINED_STATIC, VEHICLE_ANIMAL, control_partials,
                       follows_split, split_threshold)
from .config import PROFILES
from .data import CLASSES
from .flops import RESNET20_MACS
from .lengths import FRONTIER_AT_OWN_MACS, SAME, published_check, analyses_by_length, glance_markdown, in_prose, length, outcome_detail, training_length
from .literature import HE_RESNET20_ACC, dy_gain_range, dy_gains_text
from .manifest import (ANALYSIS_K, CONTROL_LABEL, DY_LABEL, HEADLINE_LABEL, KERNEL_SWEEP_LABELS, L0_CHOSEN_AFTER_TEST,
                       L0_SWEEP_LABELS, L0_WEIGHTS, SEEDS)
from .models.gating import CONDITIONAL_RANGE
from .names import split_seed, throughput_label
from .paths import RESULTS_DIR
from .runs import trained_on
from .seeds import REFERENCE
from .selection import GOALS, frontier_accuracy
from .study import PAIRED_CI, adaptive_gap, direction_words, robust_over_seeds
from .tables import counted
from .verdicts import (CAP_INTERVAL, CAP_SEEDS, COST_TOLERANCE, ENERGY_WORDS, LEARNT_MARGIN, QUESTION_COLUMNS,
                       ROBUST_ACC, Finding, compared_with, accuracy_text, cap_words, energy_word, gates_per_image,
                       learnt, learnt_by_seed, like_random, load_overview, paired_by_seed, read_attention_controls,
                       read_attention_ablation, read_attention_layers, read_attention_seeds, read_energy, read_gating_controls, read_gating_seeds,
                       read_input_dependence, read_mac_caps, read_robustness, read_table, same_cost, settled,
                       read_controls, spans_zero, TEST_IMAGES, untrained_twins, waiting)


def _parameter_ratio(over: pd.DataFrame, label: str) -> Optional[float]:
    """``label``'s parameters over ResNet-20's (``over``: ``load_overview``'s table over seeds);
    None where either is unknown."""
    if "params" not in over or REFERENCE not in over.index or label not in over.index:
        return None
    ratio = over.loc[label, "params"] / over.loc[REFERENCE, "params"]
    return ratio if ratio == ratio else None


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
    return (text + f" The hardest classes are {_and(list(per_class.nsmallest(2).index))}. Training took "
            f"{metrics['train_seconds'] / 3600:.2f} h ({trained_on(metrics)}).")


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
            + (f" and {ratio:.1f}× its parameters" if (ratio := _parameter_ratio(over, best.name)) else "") + ".")
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
    return Finding("Dynamic convolution, accuracy against K", text, "05_accuracy_vs_k.png")


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


def _apart(own: pd.Series) -> str:
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
            + f": trained {_range(trained, '+.2f')}, following the split on "
            f"{_following(table)} of {n}; "
            + ", ".join(f"{TWIN_WORDS[c]} {_range(table[c], '+.2f')}" for c in twins)
            + f"; learnt on {len(learnt)} of {n} seeds"
            + (f" (by {learnt.min():+.2f} where narrowest, seed {learnt.idxmin()}, against the {LEARNT_MARGIN:g} "
               f"required" + (f"; not on seed{'s' if len(missed) > 1 else ''} {_and(list(map(str, missed)))}" if missed else "") + ")"
               if len(learnt) else "")
            + (f". Untrained networks alone range from {_range(untrained, '+.2f')} over the seeds"
               + ("" if _range(untrained, '+.2f') == _range(table[UNTRAINED_STATIC], '+.2f') else
                  f" (an untrained ResNet-20's features {_range(table[UNTRAINED_STATIC], '+.2f')})")
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


def _over_seeds_at_both(read, results_dir: Path, profile: str, model: str) -> str:
    """``class_structure_over_seeds`` of the per-seed controls table that ``read`` loads at
    ``profile``, followed by the other length's counts (``_counts_at``); "" with fewer than two seeds."""
    said = class_structure_over_seeds(read(results_dir, profile), model)
    other = _other(profile)
    return said + _counts_at(read(results_dir, other), other) if said else ""


def per_seed_note(table: Optional[pd.DataFrame], model: str, quoted: int = 0) -> str:
    """What notebooks 02 and 03 print under their per-seed controls table: the sentence of
    ``class_structure_over_seeds`` with what its two words mean, or, with fewer than two seeds,
    that there is nothing to compare across seeds yet."""
    n = 0 if table is None else len(table)
    said = class_structure_over_seeds(table, model, quoted).removeprefix("\n- ")
    if not said:
        return f"*{counted(n, 'seed')} with both runs finished: nothing to compare across seeds yet.*"
    return f"{said}\n\n{_split_rule()} {_learnt_rule()}"


def _split_rule() -> str:  # the rule's words, one place for the README and the notebooks
    return (f"**Follows the vehicle/animal split** beyond ResNet-20's features: partial correlation "
            f"≥ {split_threshold():.2f}, the 5% critical value of a partial correlation over the "
            f"{len(CLASSES) * (len(CLASSES) - 1) // 2} class pairs (the pairs share classes, so this is a fixed "
            "reading rule, not a test).")


def _learnt_rule() -> str:
    return (f"**Learnt**: the trained model's partial correlation exceeds its untrained twin's by more than "
            f"{LEARNT_MARGIN:g} (for a gated model, the larger of its two untrained twins': as initialised, and "
            "with each gate set to the trained model's on-rate; that second twin was defined after the first 200-epoch "
            "analyses and can only make the rule stricter).")


def _random_features(table: pd.DataFrame, partial: float) -> str:
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


def _threshold_words() -> str:
    return f"≥ {split_threshold():.2f} counts as following"


def attention_by_class(results_dir: Path, profile: str) -> Optional[Finding]:
    """Do similar classes attend alike? From notebook 02's similarity controls (seed 0) and its
    per-seed table; None where notebook 02 has not run at ``profile``."""
    text = attention_controls_text(read_attention_controls(results_dir, profile))
    if not text:
        return None
    text += _over_seeds_at_both(read_attention_seeds, results_dir, profile, DY_LABEL)
    text += _attention_dynamics(results_dir, profile)
    return Finding("Dynamic convolution, do similar classes attend alike?", text,
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
            f"{_apart(own)}), "
            f"but a static ResNet-20's pooled features at the same layers group the classes the same way "
            f"({static['cat/dog']:.2f} / {static['automobile/truck']:.2f}; the two similarities agree at "
            f"r = {agreement:.2f}), and once those features are accounted for the attention "
            + (f"still follows the vehicle/animal split (partial correlation {partial:+.2f}; "
               f"{_threshold_words()}){_random_features(table, partial)}"
               + ("." if like_random(table, partial) else ": it adds class structure of its own.")
               if follows_split(partial) else
               f"does not follow the vehicle/animal split (partial correlation {partial:+.2f}; "
               f"{_threshold_words()}){_random_features(table, partial)}: the grouping comes from "
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
            f"{_nearest_words(over, row, control, named=True)} ("
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
    return Finding("Channel gating, accuracy and executed MACs", text, "05_accuracy_vs_macs.png")


def input_dependence_text(dependence: pd.DataFrame, goals: str, meets: list[str]) -> str:
    """Notebook 03's reading of its input-dependence table (one row per gated model): which models
    meet the selection rule's per-image criteria (``meets``, the rule's ``goals`` in words), then per
    model its conditional share, MACs spread and what freezing the gates costs, at the MACs the frozen
    network executes (freezing changes the compute too)."""
    lead = (f"Measured here on the test images (the selection itself used the training hold-out), {_and(meets)} "
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


def _costlier(over: pd.DataFrame, row: pd.Series) -> bool:
    """Whether ``row``'s nearest static network costs more than it, beyond ``same_cost``."""
    control = row["nearest_static"]
    macs = over.loc[control, "macs"] if control in over.index else float("nan")
    return not same_cost(row["macs"], macs) and macs > row["macs"]


def _nearest_words(over: pd.DataFrame, row: pd.Series, control: str, named: bool = False,
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
    text += _over_seeds_at_both(read_gating_seeds, results_dir, profile, "the headline gated model")
    return Finding("Channel gating, do similar classes use similar channels?", text,
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
            f"{own['automobile/truck']:.2f}{_apart(own)}); a static ResNet-20's features give "
            f"{static['cat/dog']:.2f} / {static['automobile/truck']:.2f} (agreement r = {agreement:.2f}). "
            f"Given them, channel usage "
            + ("still follows" if follows_split(partial) else "does not follow")
            + f" the vehicle/animal split (partial correlation {partial:+.2f}; {_threshold_words()})"
            f"{_random_features(table, partial)}")
    if not twins:
        return text + "."
    text += (f".\n- What training adds shows against the same gated model untrained: by the same partial "
             f"correlation its channel usage gives {twins[UNTRAINED]:+.2f}")
    if RATE_MATCHED in twins:
        text += f", and {twins[RATE_MATCHED]:+.2f} with its gates set to the trained model's on-rates"
    return text + (f", against {partial:+.2f} trained, so on seed {seed} the gates learn to follow the split." if
                   learnt(table, partial) else
                   ", so it is not shown to be learnt: the untrained architecture gives it too.")


def attacks(results_dir: Path, profile: str) -> Optional[Finding]:
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
                   f"; at {eps:g}/255 {_and(beyond)} than ResNet-20"
                   + ("" if not alone else " on seed 0 alone" if len(alone) == len(beyond)
                      else f" ({_and([in_prose(label) for label in alone])} on seed 0 alone)")
                   + (f", among {len(spread)} comparisons, where one may exclude 0 by chance"
                      if alone and len(spread) > 1 else ""))
        how = (f"\n- **How they are compared.** Each model against "
               f"{'the ResNet-20 of its seed' if by_seed else 'ResNet-20'} on the same {found.images} test images, "
               f"paired by image, an image counting as robust only if it survives every PGD variant, for gated models "
               f"also their straight-through versions, which attack through the gates; "
               + (f"{len(spread)} comparisons, " if len(spread) > 1 else "")
               + ("differences " if len(spread) > 1 else "difference ") + _range(spread, "+.1f") + " points, "
               + ("95% intervals " if len(half) > 1 else "95% interval ") + _range(half, ".1f", "±")
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
    return Finding("Adversarial attacks", text, "05_robustness_curves.png")


def paired_attack_text(paired: pd.DataFrame, eps_255: float, images: int) -> str:
    """Notebook 04's reading of its image-paired table (``study.paired_by_image``): which models'
    robust accuracy differs from the ResNet-20 of their seed at ``eps_255``, in which direction, and
    among how many comparisons, since one of several 95% intervals may exclude 0 by chance."""
    n = int(paired[f"Δ vs {REFERENCE} (points)"].notna().sum())
    words = direction_words(paired, paired["model"], REFERENCE, lambda label: f"**{label}**", "is")
    if not words:
        return (f"At ε = {eps_255:g}/255 on {images} images, no model differs from the ResNet-20 of its seed "
                f"(every 95% interval includes 0, {counted(n, 'comparison')}).")
    return (f"At ε = {eps_255:g}/255 on {images} images, {_and(words)} than the ResNet-20 of "
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
            f"{_and(parts)} on attacked ones (change from clean, paired by image, 95% interval); ResNet-20 "
            f"executes {reference_macs / 1e6:.2f}M. The energy attacks below aim at the compute instead.")


def _attacked_seeds(sweep: pd.DataFrame) -> str:
    """Which seeds of which models were compared: "seed 0 of each model, and seeds 1 and 2 of DY
    K=4 and the headline gated model" (ResNet-20's other seeds are the references, not compared)."""
    found = pd.DataFrame([split_seed(label) for label in sweep["model"].unique()], columns=["model", "seed"])
    found = found[found["seed"].notna() & (found["model"] != REFERENCE)]
    seeds_of = found.groupby("model", sort=False)["seed"].agg(lambda s: tuple(sorted(s.astype(int))))
    groups = seeds_of.groupby(seeds_of, sort=False).groups  # {(seeds): [models]}
    return "seed 0 of each model" + "".join(
        f", and seed{'s' if len(numbers) > 1 else ''} {_and([str(n) for n in numbers])} of {_and([in_prose(m) for m in models])}"
        for numbers, models in groups.items())


def _robust_over_seeds(table: Optional[pd.DataFrame]) -> str:
    """``study.robust_over_seeds``' ``table`` (the models attacked at several seeds, each seed
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


def _range(values: pd.Series, spec: str, prefix: str = "", sep: str = " to ") -> str:
    """"-4.3 to +1.3" over ``values`` in the format ``spec`` (each after ``prefix``, the two joined
    by ``sep``), or the one value when they agree."""
    low, high = (prefix + format(v, spec) for v in (values.min(), values.max()))
    return low if low == high else f"{low}{sep}{high}"


def _none_of(parts: list[str]) -> str:
    """"neither dynamic family is distinguishable" when two families were attacked ("no dynamic
    family" for more), else "<the one> is not distinguishable"."""
    families = [part.split()[0] for part in parts if not part.startswith("ResNet-20")]
    if len(families) > 1:
        return f"{'neither' if len(families) == 2 else 'no'} dynamic family is distinguishable"
    names = {"DY": "dynamic convolution", "gated": "channel gating"}
    return f"{names.get(families[0], families[0]) if families else 'no other model'} is not distinguishable"


WIDE_BRACKET = 2.0  # static widths further apart than this in MACs: the interpolation is said to be coarse


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
            _and([f"behind at {words.count('behind')}", f"ahead at {words.count('ahead')}",
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


def _and(parts: list[str]) -> str:
    """"a, b and c"."""
    return ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else "".join(parts)


def _higher(points: float) -> str:
    """"0.34 points higher than", "0.20 points lower than" or "level with" (no verdict: the
    words of a difference without an interval)."""
    if abs(points) < 0.005:
        return "level with"
    return f"{abs(points):.2f} points {'higher than' if points > 0 else 'lower than'}"


# The MAC cap the finding quotes: the loosest whose attacked maximum stays within this many times
# the clean mean MACs (a cap that lets the attack go further bounds little).
CAP_SHOWN = 1.25


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


WITHIN_POINTS = 1.0  # notebook 03's cheapest gated model: within this many points of ResNet-20's accuracy


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


# What notebook 04 asks of a per-image MAC cap: a guaranteed worst case of CAP_GOAL × the mean
# MACs for at most CAP_TOLERANCE points of clean accuracy.
CAP_GOAL, CAP_TOLERANCE = 1.25, 0.5


def _spread(std: float) -> str:
    """" ± 0.12", or "" with one seed (no spread)."""
    return f" ± {std:.2f}" if std == std else ""


def mac_cap_summary(summary: pd.DataFrame, n_seeds: int) -> str:
    """Notebook 04's MAC cap in two Markdown paragraphs: whether a cap of ``CAP_GOAL`` × the mean
    MACs costs less than ``CAP_TOLERANCE`` points of clean accuracy (else what it costs and why),
    the tighter caps, and what a user gives up against the static network of the same worst case.
    ``summary``: ``study.budget_summary``'s table over the headline's ``n_seeds`` seeds."""
    goal, tolerance = CAP_GOAL, CAP_TOLERANCE
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
         f"{-at_goal['delta_acc_mean']:.2f}{_spread(at_goal['delta_acc_std'])} points of clean accuracy** (paired over "
         f"seeds; more than {tolerance:g}), because {at_goal['capped_mean']:.0f}% of the clean test images need more "
         f"than the cap and lose channels they would have used.")
        + (f" The smallest cap within {tolerance:g} points is {loose['multiple'].min():g}× "
           f"({loose.iloc[0]['cap_mean'] / 1e6:.1f}M, {loose.iloc[0]['delta_acc_mean']:+.2f} points)."
           if len(loose) and (not len(within) or loose["multiple"].min() < within["multiple"].max()) else "")
        + (" Tighter caps cost more" + (" (mean ± std over seeds)" if tight["delta_acc_std"].notna().any() else "")
           + ": " + ", ".join(
               f"{r.multiple:g}× {r.delta_acc_mean:+.2f}{_spread(r.delta_acc_std)} points ({r.capped_mean:.0f}% of "
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

    ``table``: ``study.energy_overview``'s, labelled; ``recovered``: per model, the share of its
    saving over ResNet-20 that the "energy" and "stealthy" attacks take back, in %
    (``study.saving_recovered``); ``transfer``: ``study.energy_transfer``'s rows at the largest ε;
    ``control``: the static control's (label, MACs), or None."""
    own = table.set_index(["model", "ε (/255)"])

    def at(labels, e):  # the rows of ``labels`` at ε = e, those measured
        return own.loc[[(label, e) for label in labels if (label, e) in own.index]]

    def ratio(rows, name):  # mean MACs on the image set ``name`` over the clean ones
        return rows[f"mean MACs {name} (M)"] / rows["mean MACs clean (M)"]

    def span(values, digits=2):  # "low–high" over the seeds, or the one value
        return _range(values, f".{digits}f", sep="–")

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
        bounded = caps[caps["attacked max (M)"] <= CAP_SHOWN * caps["clean MACs (M)"].max()]
        row = (bounded if len(bounded) else caps).sort_values("cap (× mean MACs)").iloc[-1]
        several = len(top) > 1  # each seed has its own cap; the table gives their means
        largest = " (mean over seeds of each seed's costliest)" if several else ""
        text += (f"\n- **A per-image MAC cap.** It bounds the attack by construction: capped at {row['cap (× mean MACs)']:.2f}× "
                 f"the gated model's mean MACs over all test images ({row['cap (M)']:.2f}M{', mean over seeds' if several else ''}), "
                 f"clean accuracy changes by {row['Δ acc vs uncapped']:+.2f} points and the costliest attacked image "
                 f"executes {row['attacked max (M)']:.2f}M{largest}."
                 + _cap_against_static(caps, row, _widths_around(
                     over, row["cap (M)"] * 1e6, load_overview(results_dir, "full")[1] if profile != "full" else None)))
    return Finding("Can an attacker make a gated model spend more?", text, "04_energy_macs.png")


QUESTION = "Does input dependence beat a static network of the same cost?"  # ``question``'s opening


class _Comparison(NamedTuple):
    """One of the question's comparisons, for a model with a finished run."""
    name: str        # as the answer names the model: "DY K=4", "the headline gated model"
    row: pd.Series   # its row over seeds (``seeds.overview``)
    prefix: str      # the columns of its difference: "delta" (against ResNet-20) or "nearest" (its static control)
    against: str     # what it is compared with, in words
    decided: bool    # every seed in: the interval gives a verdict

    @property
    def words(self) -> str:
        return f"{self.name} against {self.against}"

    @property
    def ahead(self) -> bool:
        """A gain shown: every seed in and the interval above 0."""
        return self.decided and seeds.verdict_word(self.row, self.prefix) == "ahead"


def _comparisons(over: pd.DataFrame) -> list[_Comparison]:
    """The question's comparisons (``verdicts.QUESTION_COLUMNS``), for each model with a finished run:
    DY at K = ``ANALYSIS_K`` against ResNet-20 (its share of ResNet-20's MACs said where they cost the
    same) and the headline gated model against the static network nearest in MACs."""
    found = []
    for label, prefix in QUESTION_COLUMNS.items():
        if label not in over.index:
            continue
        row = over.loc[label]
        share = row["macs"] / over.loc[REFERENCE, "macs"] if REFERENCE in over.index else None
        ratio = _parameter_ratio(over, label)
        params = f"{ratio:.1f}× its parameters" if ratio else "not equal parameters"
        against = ("ResNet-20" + (f" ({share:.0%} of ResNet-20's MACs, equal within {COST_TOLERANCE:.0%}; {params})"
                                  if share is not None and same_cost(share, 1.0) else "")
                   if prefix == "delta" else _nearest_words(over, row, compared_with(label, row), share=share))
        found.append(_Comparison(in_prose(label), row, prefix, against, settled(row[f"{prefix}_n"])))
    return found


def _answer(compared: list[_Comparison]) -> str:
    """The answer's first words: "Yes" (for both, for all), "Yes for <a>", "No gain shown", "No gain
    shown for <a>, no verdict yet for <b>" or "No verdict yet"."""
    ahead = [c.name for c in compared if c.ahead]
    bounded, open_ = [c.name for c in compared if c.decided], [c.name for c in compared if not c.decided]
    if ahead and len(ahead) == len(compared):
        return "Yes" + {1: "", 2: " for both"}.get(len(compared), f" for all {len(compared)}")
    return (f"Yes for {_and(ahead)}" if ahead else
            "No gain shown" if not open_ else
            f"No gain shown for {_and(bounded)}, no verdict yet for {_and(open_)}" if bounded else "No verdict yet")


def _largest_gains(compared: list[_Comparison], over: pd.DataFrame, epochs: int) -> str:
    """"The 95% intervals rule out a gain larger than … at <epochs> epochs" for the decided
    comparisons; a bound against a static control that costs more than the model is not a bound at
    equal cost, and says so. Nothing where a gain is shown."""
    decided = [c for c in compared if c.decided]
    if not decided or any(c.ahead for c in compared):
        return ""
    costlier = [f"{c.name}'s" for c in decided if c.prefix == "nearest" and _costlier(over, c.row)]
    # with one bound the remark needs no owner; with several it names whose bounds it qualifies
    remark = ("" if not costlier else ", against a static network that costs more than it" if len(decided) == 1
              else f" ({_and(costlier)} against " + ("a static network that costs more than it)" if len(costlier) == 1
                                                     else "static networks that cost more than they do)"))
    return (f"The 95% interval{'s rule' if len(decided) > 1 else ' rules'} out "
            + _and([f"a gain larger than {c.row[f'{c.prefix}_ci_high']:+.2f} points for {c.name}" for c in decided])
            + f" at {epochs} epochs" + remark)


def question(over: pd.DataFrame, profile: str = "full") -> Optional[Finding]:
    """The study's answer in one sentence: DY at K = ``ANALYSIS_K`` against ResNet-20 and the headline gated model
    against its static control, paired by seed (``_comparisons``); a model without a finished run at ``profile``
    is named as such. A sub-bullet gives the largest gains the intervals allow."""
    epochs = PROFILES[profile]["epochs"]
    compared = _comparisons(over)
    if not compared:
        return None
    answer = _answer(compared)
    open_ = [c.name for c in compared if not c.decided]
    text = (f"{QUESTION} {answer}: "
            + ", ".join(f"{seeds.signed_points(c.row, c.prefix)} for {c.words}" for c in compared)
            + (" (paired by seed, 95% intervals; an interval that includes 0 does not show a gain)"
               if any(c.row[f"{c.prefix}_n"] >= 2 for c in compared) else "")
            + (f"; a verdict on {_and(open_)} waits for {len(SEEDS)} seeds" + (" of each" if len(open_) > 1 else "")
               if open_ else "")
            + "".join(f"; {in_prose(label)} has no finished run at {epochs} epochs yet"
                      for label in QUESTION_COLUMNS if label not in over.index) + ".")
    gains = _largest_gains(compared, over, epochs)  # a sub-bullet: the lead gives the answer and its numbers
    text += f"\n- {gains}." if gains else ""
    return Finding("The study's question", text, None)


def short_answer(results_dir: str | Path = RESULTS_DIR) -> str:
    """The study's answer in one line, for the README's first screen: ``question``'s answer at each
    length with finished runs; "" without any."""
    answers = []
    for profile in ("full", "paper"):
        over = load_overview(results_dir, profile)[1]
        found = question(over, profile) if not over.empty else None
        if found is not None:  # its answer sits between the question and the colon
            answers.append((found.text.removeprefix(f"{QUESTION} ").split(": ", 1)[0], length(profile)))
    if not answers:
        return ""
    (first, at), *rest = answers
    return (f"**In short:** {first} at {at}" + "".join(f"; at {later}, {a[0].lower()}{a[1:]}" for a, later in rest)
            + ".")


def answer_at_a_glance(results_dir: str | Path = RESULTS_DIR) -> str:
    """What a reader sees first (the README's first screen, the top of notebook 05's findings): the
    short answer, then the table of the decisive models at both lengths; "" without any finished run."""
    answer = short_answer(results_dir)
    return answer and (f"{answer} The table below gives the numbers, and the first finding below explains them."
                       f"\n\n{glance_markdown(results_dir)}")


def _with_longer_answer(found: Optional[Finding], over: pd.DataFrame) -> Optional[Finding]:
    """The study's question (``found``, at 30 epochs) with its answer at 200 epochs (``over``: the
    ``paper`` profile's table over seeds) as a second line, so that both answers lead."""
    longer = question(over, "paper") if found is not None and not over.empty else None
    if longer is None:
        return found
    return found._replace(text=f"{found.text}\n- **At {length('paper')}.** {longer.text.removeprefix(f'{QUESTION} ')}")


def reading_rules() -> str:
    """The rules that turn the analyses' numbers into the words of the findings and of
    ``lengths.analyses_by_length``, as a Markdown list."""
    return "\n".join([
        "- **Ahead or behind**: a difference paired by seed whose 95% interval excludes 0; **not "
        "distinguishable**: one that includes 0; with one seed, no verdict. The comparisons of the study's "
        f"models (ResNet-20, {DY_LABEL}, the headline gated model and its static control) wait for all "
        f"{len(SEEDS)} seeds: with two, the interval is shown without a verdict; the sweeps over K and the L0 "
        "weight are read on the seeds they have. This rule is for comparisons over seeds; the analyses of "
        "notebooks 02–04 (on seed 0, except the attacks on compute, which use every seed of the headline gated "
        "model) are read by the "
        "rules below.",
        f"- {_split_rule()}",
        f"- {_learnt_rule()}",
        f"- **Per image** (gating): at least {100 * GOALS['min_live_conditional']:.0f}% of live gates conditional "
        f"and per-image MACs varying by at least {100 * GOALS['min_macs_cv']:.0f}%, the selection rule's criteria.",
        "- **Differ under attack**: the difference from ResNet-20 on the same test images, paired by image "
        "(an image robust if it survives every PGD variant), has a 95% interval that excludes 0 (each model's own "
        "interval, not corrected for the several models compared: among several, one may exclude 0 by chance); "
        "**robust**: at least "
        f"{ROBUST_ACC:g}% under the strongest PGD at the largest ε.",
        "- **Spends " + " / ".join(word for _, word in ENERGY_WORDS) + " / hardly more** under the energy "
        "attack: mean executed MACs at least " + " / ".join(f"{least:g}×" for least, _ in ENERGY_WORDS)
        + f" / under {ENERGY_WORDS[-1][0]:g}× the clean ones.",
        f"- **{SAME}** (training-length tables): *same* when the verdict or conclusion is the same at both "
        f"lengths, *changes: a → b* when it is not; a comparison over seeds is *pending* until both lengths "
        f"have its {len(SEEDS)} seeds, an analysis until notebooks 02–04 have run on the {length('paper')} "
        f"models; *{length('full')} only* where the {length('paper')} profile does not train what it needs.",
    ])


def findings(results_dir: str | Path = RESULTS_DIR, profile: str = "full") -> list[Finding]:
    """Every finding that the committed results support (one whose runs or tables are missing
    is left out)."""
    results_dir = Path(results_dir)
    table, over = load_overview(results_dir, profile)
    found = [question(over, profile) if not over.empty else None,
             dynamic_convolution(over, table, read_table(results_dir, "dy_speed"))
             if not over.empty else None,
             attention_by_class(results_dir, profile),
             channel_gating(over, results_dir, profile) if not over.empty else None,
             channels_by_class(results_dir, profile),
             attacks(results_dir, profile),
             energy_attack(over, results_dir, profile),
             training_length(results_dir, in_progress=False)]
    if profile == "full":
        found[0] = _with_longer_answer(found[0], load_overview(results_dir, "paper")[1])
    found = [f for f in found if f is not None]
    return _with_longer_training(found, results_dir) if profile == "full" else found


def _attention_layer_words(layers: pd.DataFrame, ablation: Optional[pd.DataFrame], glossed: bool = False,
                           k: int = ANALYSIS_K) -> str:
    """One length's per-layer attention statistics (notebook 02) of DY K=``k`` in words: ranges over
    the layers, the median entropy, and what the mean attention in place of each image's costs; with
    ``glossed``, what each number's ends mean."""
    # the mean kernel can shrink to a few thousandths: two significant digits, never "0.000"
    sizes = ({name: _range(layers[column], spec, sep='–') for name, column, spec in
              (("spread", "kernel_spread", ".2f"), ("mean", "mean_kernel_rms", ".2g"))} if "kernel_spread" in layers else None)
    if glossed:
        gloss = (f" (1: the {k} kernels mixed evenly; 0: one kernel)", " (its std over images; 0: the same π for every image)",
                 " (a kernel's RMS distance from the layer's mean kernel"
                 + (f", {sizes['spread']}, over the mean kernel's RMS, {sizes['mean']}" if sizes else ", relative to the mean kernel")
                 + f"; √{k - 1} ≈ {np.sqrt(k - 1):.2f} for independent random kernels)")
    else:
        gloss = ("", "", f" (distance {sizes['spread']}, mean kernel {sizes['mean']})" if sizes else "")
    entropy = layers["normalized_entropy"]
    text = (f"π's normalised entropy {_range(entropy, '.2f', sep='–')}, median {entropy.median():.2f}{gloss[0]}; "
            f"its spread {_range(layers['spread_over_images'], '.3f', sep='–')}{gloss[1]}; kernel diversity "
            f"{_range(layers['kernel_diversity'], '.1f', sep='–')}{gloss[2]}")
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
    other = _other(profile)
    other_layers = read_attention_layers(results_dir, other)
    if other_layers is not None:
        text += f". At {length(other)}: " + _attention_layer_words(other_layers, read_attention_ablation(results_dir, other))
    return f"{text}. {_kernel_drift(ANALYSIS_K)}"


def _other(profile: str) -> str:
    """The other training length's profile: "paper" for "full", and "full" for any other."""
    return "paper" if profile == "full" else "full"


def _kernel_drift(k: int) -> str:
    return (f"The recipe's weight decay acts only on the mean of the {k} kernels (early on, with π near-uniform, the "
            "kernels share one gradient, so per-kernel decay alone would act on their differences, shrinking them), "
            "so nothing limits how far apart they drift.")


def attention_layers_text(layers: pd.DataFrame, k: int) -> str:
    """Notebook 02's reading of its per-layer attention statistics of DY K=``k``
    (``analysis.attention_layer_statistics``): the README's words for them, glossed, and why the
    kernels can drift apart."""
    return f"Over the {len(layers)} dynamic convolutions: {_attention_layer_words(layers, None, True, k)}. {_kernel_drift(k)}"


# The finding each per-image analysis of ``lengths.analyses`` belongs to, by the question's subject.
ANALYSIS_TOPICS = {f"{DY_LABEL} attention": "Dynamic convolution, do similar classes attend alike?",
                   "gates' channel usage": "Channel gating, do similar classes use similar channels?",
                   "gates": "Channel gating, accuracy and executed MACs",
                   "attacks": "Adversarial attacks",
                   "energy attack": "Can an attacker make a gated model spend more?",
                   "MAC cap": "Can an attacker make a gated model spend more?"}


def _with_longer_training(found: list[Finding], results_dir: Path) -> list[Finding]:
    """``found`` (the 30-epoch findings) with a closing sentence on each whose analysis reaches
    another conclusion at 200 epochs (``lengths.analyses_by_length``), so that no finding reads
    as settled where the longer training says otherwise."""
    by_length = analyses_by_length(results_dir)
    outcome = by_length[SAME] if len(by_length) else pd.Series(dtype=str)
    notes: dict[str, str] = {}
    for asked_of, same in outcome.items():
        if same.startswith("changes: "):
            subject, asked = asked_of.split(": ", 1)
            notes[ANALYSIS_TOPICS[subject]] = notes.get(ANALYSIS_TOPICS[subject], "") + (
                f" At {length('paper')}, on seed 0 alone, the answer to “{asked}” changes ({outcome_detail(same)}): "
                f"one training run, not yet a verdict (see Training length).")
    def noted(text: str, note: str) -> str:  # at the end of the lead, before any sub-bullets
        lead, *details = text.split("\n")
        return "\n".join([lead + note, *details])

    return [f._replace(text=noted(f.text, notes.get(f.topic, ""))) for f in found]


def findings_markdown(found: list[Finding], figures: Optional[str] = None) -> str:
    """One bullet per finding, its figure linked under ``figures`` (a path prefix; None: no
    links, e.g. where the figures follow on the same page)."""
    lines = []
    for f in found:
        lead, *details = f.text.split("\n")  # a long finding: a lead sentence, then indented sub-bullets
        link = f" ([figure]({figures}/{f.figure}))" if f.figure and figures else ""
        lines.append(f"- **{f.topic}{'' if f.topic.endswith('?') else '.'}** {lead}{link}")
        lines += [f"  {detail}" for detail in details]
    return "\n".join(lines)
