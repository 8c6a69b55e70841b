"""The study's findings, one per question of the proposal, each with its number and the figure
that shows it: computed from the finished runs (``metrics.json``, over seeds) and the tables the
notebooks wrote, never typed. The README's Findings block and notebook 05's opening both print
``findings_markdown``, so the two cannot disagree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple, Optional

import pandas as pd

from . import seeds
from .analysis import (RATE_MATCHED, TRAINED, TWINS, UNTRAINED, UNTRAINED_STATIC, VEHICLE_ANIMAL, control_partials,
                       follows_split, partial_column, split_threshold)
from .config import PROFILES
from .flops import RESNET20_MACS
from .literature import HE_RESNET20_ACC, RESNET20, dy_gain_range, dy_gains_text
from .selection import GOALS, decides_per_image
from .manifest import (ANALYSIS_K, HEADLINE, HEADLINE_CONTROL, KERNELS, L0_WEIGHTS, SEEDS,
                       parse_run, queue)
from .models.gating import CONDITIONAL_RANGE
from .names import FAMILIES, run_label, throughput_label
from .paths import PUBLISHED_CHECK, RESULTS_DIR
from .runs import CONFIG_FILE, HISTORY_FILE, METRICS_FILE
from .seeds import REFERENCE
from .study import (ENERGY_WORDS, PAIRED_CI, adaptive_gap, differing, energy_word, handoff_path,
                    smallest_attack_eps, strongest_pgd)
from .tables import counted


class Finding(NamedTuple):
    topic: str
    text: str
    figure: Optional[str]  # file name under figures/<profile>/


def _tables(results_dir: Path) -> Path:
    return Path(results_dir) / "tables"


def _read(path: Path) -> Optional[pd.DataFrame]:
    return pd.read_csv(path, index_col=0) if path.exists() else None


def _delta(row: pd.Series, prefix: str) -> str:
    """"+0.43 [-0.84, +1.69]" (paired by seed, 95% interval) or "+0.47 (1 seed)", as the
    tables over seeds write it (``seeds.signed``)."""
    return seeds.signed(row, prefix)


def _spans_zero(row: pd.Series, prefix: str) -> Optional[bool]:
    if not row[f"{prefix}_n"] >= 2:
        return None
    return bool(row[f"{prefix}_ci_low"] <= 0 <= row[f"{prefix}_ci_high"])  # a numpy bool is never `is False`


def _acc(row: pd.Series) -> str:
    """"87.09 ± 0.31% (3 seeds)", or "91.50% (1 seed)" where there is no spread."""
    n = int(row["n"])
    return seeds.plus_minus(row["test_acc"], row["test_acc_std"], unit="%") + (f" ({n} seeds)" if n > 1 else "")


def dynamic_convolution(over: pd.DataFrame, table: pd.DataFrame,
                        speed: Optional[pd.DataFrame] = None) -> Optional[Finding]:
    """DY against ResNet-20 over K, among published re-implementations, on the training images, and
    (from notebook 02's ``speed`` table, when given) in wall-clock time."""
    labels = [run_label("dy_resnet20", {"num_kernels": k}) for k in KERNELS]
    params = table.groupby("label")["params"].first().dropna()
    rows = over.loc[[label for label in labels if label in over.index]]
    if rows.empty or REFERENCE not in over.index:
        return None
    main = run_label("dy_resnet20", {"num_kernels": ANALYSIS_K})
    best = rows.loc[main] if main in rows.index else rows.iloc[0]
    distinguishable = [label for label, row in rows.iterrows() if _spans_zero(row, "delta") is False]
    single = [label.split()[-1] for label, row in rows.iterrows() if not row["delta_n"] >= 2]
    paired = (f"paired by seed {_delta(best, 'delta')} points (95% interval)" if best["delta_n"] >= 2 else
              f"against ResNet-20's run of the same seed {_delta(best, 'delta')} points (one seed: no verdict)")
    text = (f"{best.name} reaches {_acc(best)} against ResNet-20's {_acc(over.loc[REFERENCE])}: {paired} at "
            f"{100 * best['macs'] / RESNET20_MACS:.1f}% of ResNet-20's MACs"
            + (f" and {params[best.name] / params[REFERENCE]:.1f}× its parameters" if
               REFERENCE in params and best.name in params else "") + ".")
    if len(rows) > 1:  # a sweep over K (the `paper` profile trains one K)
        text += (f" Over K = {', '.join(label.split('=')[-1] for label in rows.index)}: "
                 + "; ".join(f"{label.split()[-1]} {_delta(row, 'delta')}"
                             + (f" ({row['delta_n']:.0f} seeds)" if row["delta_n"] >= 2 else "")
                             for label, row in rows.iterrows())
                 + (". No K with two or more seeds is distinguishable from ResNet-20" if not distinguishable
                    else f". Distinguishable from ResNet-20: {', '.join(distinguishable)}")
                 + (f"; one seed gives no verdict ({', '.join(single)})." if single else "."))
    text += " " + _among_reimplementations(best)
    train = seeds.summarize(table, "train_acc")["mean"]
    if REFERENCE in train and best.name in train:
        gain = _comparison(table, best.name, REFERENCE, "train_acc")
        numbers = (f"{seeds.signed(gain, 'd')} points ({train[best.name]:.2f}% against ResNet-20's "
                   f"{train[REFERENCE]:.2f}%, mean over seeds)")
        text += (f" On the training images (un-augmented) the difference is {numbers}, one seed: no verdict."
                 if gain["d_n"] < 2 else
                 f" On the training images (un-augmented) {best.name} gains more: {numbers}, a closer fit to the "
                 f"images it learnt from, not a gain on new ones." if gain["d_mean"] > max(best["delta_mean"], 0) else
                 f" On the training images (un-augmented) the difference is {numbers}: no closer fit to the images "
                 f"it learnt from than to new ones.")
    text += _dy_time(speed, int(best.name.split("=")[-1]))
    return Finding("Dynamic convolution, accuracy against K", text, "05_accuracy_vs_k.png")


def _dy_time(speed: Optional[pd.DataFrame], k: int) -> str:
    """" Equal MACs are not equal time: …" from notebook 02's speed table (images/s over ResNet-20's,
    the computation the trained models use), or "" where it is missing."""
    row = throughput_label(f"dy_resnet20 K={k} aggregate")  # the computation the trained models use
    if speed is None or row not in speed.index:
        return ""
    column = {setting: next((c for c in speed.columns if c.split(" (")[0] == setting), None)
              for setting in ("train, batch 128", "infer, batch 1")}
    if None in column.values():
        return ""
    return (f" Equal MACs are not equal time: on the CPU, DY K={k} trains at "
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


def _controls(table: Optional[pd.DataFrame]) -> Optional[tuple]:
    """(the feature's own row, the static features' row, its agreement column, partial column)."""
    if table is None or len(table) < 2:
        return None
    own, static = table.iloc[0], table.iloc[1]
    agreement = next(c for c in table.columns if c.startswith("agreement with")
                     and "vehicles" not in c)
    return own, static, table[agreement].iloc[1], own[partial_column(table)]


# A trained feature's partial agreement with the vehicle/animal split (given ResNet-20's features)
# must exceed its untrained twin's by this much to count as learnt.
LEARNT_MARGIN = 0.2


def _apart(own: pd.Series) -> str:
    """", against -0.40 on average for a vehicle and an animal": the baseline of a
    similarity-controls row (``analysis.VEHICLE_ANIMAL``), "" where the table predates it."""
    value = own.get(VEHICLE_ANIMAL)
    return "" if value is None or pd.isna(value) else f", against {value:.2f} on average for a vehicle and an animal"


def _learnt(untrained: float, trained: float) -> bool:
    return untrained < trained - LEARNT_MARGIN


def _untrained_twins(table: pd.DataFrame) -> dict[str, float]:
    """The untrained twins' partial correlations in a similarity-controls table, by
    ``analysis.TWINS`` (the rate-matched one only for gated models). The learnt test compares
    with the larger: the stricter control."""
    partials = control_partials(table)
    return {twin: partials[twin] for twin in TWINS if twin in partials}


TWIN_WORDS = {UNTRAINED: "untrained", RATE_MATCHED: f"untrained {RATE_MATCHED}"}


def class_structure_over_seeds(table: Optional[pd.DataFrame], model: str, quoted: int = 0) -> str:
    """" Over the 3 seeds of <model> …" from a per-seed controls table (``analysis.controls_by_seed``,
    index seed; each seed against the ResNet-20 of its seed): the ranges, on how many seeds the
    trained model follows the split and is learnt, where seed ``quoted`` (the one whose table the
    reader saw) lies, and, when untrained networks alone spread over more than twice the split
    threshold, that the counts are weak evidence; "" with fewer than two seeds."""
    if table is None or len(table) < 2:
        return ""
    n, twins = len(table), [c for c in TWINS if c in table]
    trained, stricter = table[TRAINED], table[twins].max(axis=1)
    untrained, threshold = table[[*twins, UNTRAINED_STATIC]].to_numpy(), split_threshold()
    learnt = (trained - stricter)[[_learnt(twin, value) for twin, value in zip(stricter, trained)]]
    place = ("" if quoted not in trained.index else "the highest of them" if trained[quoted] == trained.max() else
             "the lowest of them" if trained[quoted] == trained.min() else "between the others")
    return (f" Over the {n} seeds of {model}, each against the ResNet-20 of its seed"
            + (f" (seed {quoted}, quoted above, is {place})" if place else "")
            + f": trained {_range(trained, '+.2f')}, following the split on "
            f"{sum(follows_split(v) for v in trained)} of {n}; "
            + ", ".join(f"{TWIN_WORDS[c]} {_range(table[c], '+.2f')}" for c in twins)
            + f"; learnt on {len(learnt)} of {n} seeds"
            + (f" (by {learnt.min():+.2f} where narrowest, seed {learnt.idxmin()}, against the {LEARNT_MARGIN:g} "
               f"required)" if len(learnt) else "")
            + (f". Untrained networks alone range from {_range(untrained, '+.2f')} over the seeds (an untrained "
               f"ResNet-20's features {_range(table[UNTRAINED_STATIC], '+.2f')}), far more than the {threshold:.2f} "
               f"the split rule allows for chance, so these per-seed counts are weak evidence."
               if untrained.max() - untrained.min() > 2 * threshold else "."))


def _random_features(table: pd.DataFrame, partial: float) -> str:
    """The same partial correlation for an untrained ResNet-20's pooled features (the table's
    "untrained <static>" row), beside the trained feature's ``partial``: a test that random
    features pass cannot set a feature apart from them; "" without that row."""
    value = control_partials(table).get(UNTRAINED_STATIC)
    if value is None:
        return ""
    if not follows_split(value):
        return f"; the pooled features of an untrained ResNet-20 give {value:+.2f} by the same test"
    if not follows_split(partial):
        return f", while the pooled features of an untrained ResNet-20 pass the same test ({value:+.2f})"
    if _like_random(table, partial):
        return (f", as do the pooled features of an untrained ResNet-20 ({value:+.2f}): this test alone does not "
                f"set trained features apart from random ones")
    return f", beyond the pooled features of an untrained ResNet-20 ({value:+.2f})"


def _like_random(table: pd.DataFrame, partial: float) -> bool:
    """Whether an untrained ResNet-20's pooled features follow the split too, within
    ``LEARNT_MARGIN`` of the trained feature's ``partial``: then following it says nothing of
    the feature's own."""
    value = control_partials(table).get(UNTRAINED_STATIC)
    return value is not None and follows_split(value) and partial - value <= LEARNT_MARGIN


def _threshold_words() -> str:
    return f"≥ {split_threshold():.2f} counts as following"


def attention_by_class(results_dir: Path, profile: str) -> Optional[Finding]:
    table = _read(_tables(results_dir) / f"02_attention_similarity_controls_{profile}_k{ANALYSIS_K}.csv")
    found = _controls(table)
    if found is None:
        return None
    own, static, agreement, partial = found
    dy = run_label("dy_resnet20", {"num_kernels": ANALYSIS_K})
    text = (f"Similar classes do attend alike (class-mean attention of {dy} correlates at "
            f"{own['cat/dog']:.2f} for cat/dog, {own['automobile/truck']:.2f} for automobile/truck"
            f"{_apart(own)}), "
            f"but a static ResNet-20's pooled features at the same layers group the classes the same way "
            f"({static['cat/dog']:.2f} / {static['automobile/truck']:.2f}; the two similarities agree at "
            f"r = {agreement:.2f}), and once those features are accounted for the attention "
            + (f"still follows the vehicle/animal split (partial correlation {partial:+.2f}; "
               f"{_threshold_words()}){_random_features(table, partial)}"
               + ("." if _like_random(table, partial) else ": it adds class structure of its own.")
               if follows_split(partial) else
               f"does not follow the vehicle/animal split (partial correlation {partial:+.2f}; "
               f"{_threshold_words()}){_random_features(table, partial)}: the grouping is the network's, "
               f"not the attention's."))
    untrained = f"untrained {own.name}"
    if untrained in table.index:
        split = "agreement with vehicles/animals"
        untrained_partial = control_partials(table)[UNTRAINED]
        text += (f" An untrained {dy} follows that split more closely than the trained one "
                 f"(agreement with the split {table.loc[untrained, split]:.2f} against {own[split]:.2f}"
                 if table.loc[untrained, split] > own[split] else
                 f" An untrained {dy} agrees with that split at {table.loc[untrained, split]:.2f} "
                 f"(trained: {own[split]:.2f}")
        text += f"; given ResNet-20's features {untrained_partial:+.2f} against {partial:+.2f})"
        text += (": training adds to that class structure." if _learnt(untrained_partial, partial)
                 else ": much of the class structure is in the images and the architecture, not learnt.")
    text += class_structure_over_seeds(
        _read(_tables(results_dir) / f"02_attention_similarity_seeds_{profile}_k{ANALYSIS_K}.csv"), dy)
    return Finding("Dynamic convolution, do similar classes attend alike?", text,
                   "02_dy_attention_class_similarity.png")


def _per_image(d: pd.Series) -> bool:
    """Whether a row of notebook 03's input-dependence table meets the selection rule's
    per-image criteria (``GOALS``: share of live gates conditional, per-image MACs spread)."""
    return bool(decides_per_image(d["live gates conditional (%)"] / 100, d["MACs spread (%)"] / 100))


def channel_gating(over: pd.DataFrame, results_dir: Path, profile: str) -> Optional[Finding]:
    headline = run_label(*HEADLINE)
    if headline not in over.index:
        return None
    row = over.loc[headline]
    control = row["nearest_static"]  # the control whose paired difference is printed beside it
    uniform = [run_label("gated_resnet20", {"l0_weight": w}) for w in L0_WEIGHTS]
    margins = [(w, f"{over.loc[u, 'margin_mean']:+.2f}") for w, u in zip(L0_WEIGHTS, uniform)
               if u in over.index and over.loc[u, "margin_n"] >= 1]
    verdict = {True: "not distinguishable from it", False: "different from it", None: "one paired seed: no verdict"}
    text = (f"The headline gated model (conditional gates, MAC-weighted L0, chosen on a training "
            f"hold-out) executes {row['macs'] / 1e6:.2f}M MACs on average "
            f"({100 * row['macs'] / RESNET20_MACS:.1f}% of ResNet-20's) at {_acc(row)}: "
            f"{_delta(row, 'delta')} points against ResNet-20 and {_delta(row, 'nearest')} against "
            f"{control}, {_nearest_words(over, row, control)} ({verdict[_spans_zero(row, 'nearest')]})"
            + (f"; {_delta(row, 'margin')} over the static frontier at its own MACs (interpolated between the "
               f"thin ResNet-20s of each seed)." if row["margin_n"] >= 1 else "."))
    dependence = _read(_tables(results_dir) / f"03_gating_input_dependence_{profile}.csv")
    if dependence is not None and headline in dependence.index:
        d = dependence.loc[headline]
        per_image = _per_image(d)
        text += ((" On seed 0 its decisions are per image, as the selection rule required" if per_image else
                  " On seed 0 its decisions are less per image than the selection rule required")
                 + f" (at least {100 * GOALS['min_live_conditional']:.0f}% of live gates conditional, per-image MACs "
                 f"varying by at least {100 * GOALS['min_macs_cv']:.0f}%): "
                 f"{d['live gates conditional (%)']:.0f}% of its live gates are conditional (on for "
                 f"{100 * CONDITIONAL_RANGE[0]:.0f}–{100 * CONDITIONAL_RANGE[1]:.0f}% of images), its per-image MACs vary by {d['MACs spread (%)']:.1f}% (std / "
                 f"mean), and freezing every gate to its majority decision costs "
                 f"{-d['Δ frozen (points)']:.2f} points (no retraining"
                 + (f"; the frozen network executes {d['frozen MACs vs ResNet-20']:.2f}× ResNet-20's MACs against "
                    f"{d['MACs vs ResNet-20']:.2f}×, so not all of that is input dependence"
                    if "frozen MACs vs ResNet-20" in d
                    and not _same_cost(d["frozen MACs vs ResNet-20"], d["MACs vs ResNet-20"]) else "") + ").")
    if margins:
        shares = (dependence.reindex(uniform)["live gates conditional (%)"].dropna()
                  if dependence is not None else pd.Series(dtype=float))
        text += (f" The uniform-L0 models, whose gates are mostly fixed"
                 + (f" ({shares.min():.0f}–{shares.max():.0f}% of live gates conditional)" if len(shares) else "")
                 + f", lie within {max(abs(float(m)) for _, m in margins):.2f} points of the static frontier "
                 f"(L0 = {' / '.join(f'{w:g}' for w, _ in margins)}: {' / '.join(m for _, m in margins)} points; "
                 "one seed each, so no verdict).")
    speed = _read(_tables(results_dir) / f"03_gating_batch1_speed_{profile}.csv")
    if speed is not None and "gated, active channels only" in speed.index:
        fast = speed.loc["gated, active channels only"]
        text += (f" Fewer MACs do not mean less time here: computing only the active channels at batch 1 "
                 f"runs at {fast['speed_vs_resnet20']:.2f}× ResNet-20's images/s for "
                 f"{fast['macs_vs_resnet20']:.2f}× its MACs on the images timed (CPU, notebook 03).")
    return Finding("Channel gating, accuracy and executed MACs", text, "05_accuracy_vs_macs.png")


COST_TOLERANCE = 0.05  # two networks whose MACs differ by at most this share cost the same


def _same_cost(macs: float, other: float) -> bool:
    return abs(macs / other - 1) <= COST_TOLERANCE


def _nearest_words(over: pd.DataFrame, row: pd.Series, control: str) -> str:
    """"the static network of equal MACs", or, when its MACs differ (``_same_cost``), "the static
    network nearest in MACs of those trained, at 10.25M"."""
    macs = over.loc[control, "macs"] if control in over.index else float("nan")
    if _same_cost(row["macs"], macs):
        return "the static network of equal MACs"
    return f"the static network nearest in MACs of those trained, at {macs / 1e6:.2f}M"


def channels_by_class(results_dir: Path, profile: str) -> Optional[Finding]:
    table = _read(_tables(results_dir) / f"03_gating_similarity_controls_{profile}.csv")
    found = _controls(table)
    if found is None:
        return None
    own, static, agreement, partial = found
    text = (f"Similar classes use similar channels (cat/dog {own['cat/dog']:.2f}, automobile/truck "
            f"{own['automobile/truck']:.2f}{_apart(own)}); a static ResNet-20's features give "
            f"{static['cat/dog']:.2f} / {static['automobile/truck']:.2f} (agreement r = {agreement:.2f}). "
            f"Given them, channel usage "
            + ("still follows" if follows_split(partial) else "does not follow")
            + f" the vehicle/animal split (partial correlation {partial:+.2f}; {_threshold_words()})"
            f"{_random_features(table, partial)}")
    twins = _untrained_twins(table)
    if not twins:
        text += "."
    else:
        text += (f". What training adds shows against the same gated model untrained: by the same partial "
                 f"correlation its channel usage gives {twins[UNTRAINED]:+.2f}")
        if RATE_MATCHED in twins:
            text += f", and {twins[RATE_MATCHED]:+.2f} with its gates set to the trained model's on-rates"
        text += (f", against {partial:+.2f} trained, so the gates learn to follow the split." if
                 _learnt(max(twins.values()), partial) else
                 ", so it is not shown to be learnt: the untrained architecture gives it too.")
    text += class_structure_over_seeds(_read(_tables(results_dir) / f"03_gating_similarity_seeds_{profile}.csv"),
                                       "the headline gated model")
    return Finding("Channel gating, do similar classes use similar channels?", text,
                   "03_gating_channel_class_similarity.png")


TEST_IMAGES = 10_000  # CIFAR-10's test split, which notebook 03's frozen-gate ablation evaluates whole
ROBUST_ACC = 10.0  # accuracy (%) under the strongest PGD at the largest ε from which a model counts as robust


def _binomial_differ(a: float, b: float, images: int) -> bool:
    """Whether two accuracies (%) on ``images`` test images each differ beyond the 95% interval of
    a difference of two binomial proportions (unpaired normal approximation: conservative for two
    evaluations of the same images, as in the frozen-gate ablation)."""
    p, q = a / 100, b / 100
    return abs(a - b) > 100 * 1.96 * ((p * (1 - p) + q * (1 - q)) / images) ** 0.5


class Robustness(NamedTuple):
    """Notebook 04's robustness sweep, read once for the findings and the analyses."""
    sweep: pd.DataFrame
    eps: float  # the smallest ε attacked (/255)
    strongest: pd.Series  # accuracy (%) under the strongest PGD at ``eps`` (per image, with ``paired``), by model
    largest: float  # the largest ε attacked (/255)
    most: float  # the highest accuracy (%) under PGD at ``largest`` of any model
    images: Optional[int]  # test images attacked (None in sweeps that do not record it)
    paired: Optional[pd.DataFrame]  # notebook 04's differences from ResNet-20 paired by image at ``eps``

    def differ(self, labels) -> list[str]:
        """Those of ``labels`` whose accuracy under the per-image strongest PGD differs from
        ResNet-20's: the 95% interval of the difference, paired by image, excludes 0 (none
        without notebook 04's paired table)."""
        found = differing(self.paired) if self.paired is not None else []
        return [label for label in labels if label in found]


def _robustness(results_dir: Path, profile: str) -> Optional[Robustness]:
    path = handoff_path(_tables(results_dir), "robustness", profile=profile)
    if not path.exists():
        return None
    sweep = pd.read_csv(path)
    eps, largest = smallest_attack_eps(sweep), sweep["eps_255"].max()
    most = sweep[(sweep["eps_255"] == largest) & sweep["attack"].str.startswith("PGD")]["robust_acc"].max()
    paired = _tables(results_dir) / f"04_attack_paired_{profile}.csv"
    paired = pd.read_csv(paired) if paired.exists() else None
    # one measure for the accuracies and their differences: per image, every PGD variant
    strongest = (paired.set_index("model")["robust acc (%)"] if paired is not None
                 else strongest_pgd(sweep, eps))
    return Robustness(sweep, eps, strongest, largest, most,
                      int(sweep["images"].iloc[0]) if "images" in sweep else None,
                      paired)


def attacks(results_dir: Path, profile: str) -> Optional[Finding]:
    found = _robustness(results_dir, profile)
    if found is None:
        return None
    sweep, eps, strongest = found.sweep, found.eps, found.strongest
    largest, most = found.largest, found.most
    families = {"ResNet-20": [REFERENCE],
                "DY": [run_label("dy_resnet20", {"num_kernels": k}) for k in KERNELS],
                "gated": [run_label("gated_resnet20", {"l0_weight": w}) for w in L0_WEIGHTS]
                + [run_label(*HEADLINE)]}
    parts = []
    for family, labels in families.items():
        values = strongest.reindex(labels).dropna()
        if family == "DY" and len(values):  # "DY K=2…5", or the one K trained
            ks = [label.split("=")[-1] for label in values.index]
            family = f"DY K={ks[0]}" + (f"…{ks[-1]}" if len(ks) > 1 else "")
        if len(values):
            parts.append(f"{family} {values.min():.1f}–{values.max():.1f}% (lowest–highest of its {len(values)} "
                         "models, seed 0)" if len(values) > 1 else f"{family} {values.iloc[0]:.1f}%")
    headline_seeds = sweep.loc[sweep["model"].str.startswith(run_label(*HEADLINE)), "model"].nunique()
    extra = (f", {'both' if headline_seeds == 2 else f'all {headline_seeds}'} seeds of the headline gated model"
             if headline_seeds > 1 else "")
    paired, compared = found.paired, ""
    if paired is not None:  # the comparison between models: differences paired by image
        spread = paired[f"Δ vs {REFERENCE} (points)"].dropna()
        half = (paired[PAIRED_CI[1]] - paired[PAIRED_CI[0]]).dropna() / 2
        beyond = found.differ(strongest.index)
        compared = ((f" and {_none_of(parts)} from ResNet-20" if not beyond else
                     f"; {', '.join(beyond)} differ from ResNet-20")
                    + f" (each model against ResNet-20 on the same {found.images} test images, paired by image, "
                    f"an image counting as robust only if it survives every PGD variant, for gated models the "
                    f"straight-through ones adapted to their gates too: "
                    + ("differences " if len(spread) > 1 else "difference ") + _range(spread, "+.1f") + " points, "
                    + ("95% intervals " if len(half) > 1 else "95% interval ") + _range(half, ".1f", "±")
                    + f"; seed 0 of each model{extra})")
    text = ((f"No model is robust at {largest:g}/255" if most < ROBUST_ACC else
             f"A model keeps {most:.1f}% at {largest:g}/255")
            + f"{compared}: at ε = {eps:g}/255 "
            + ("the share of images that survive every PGD variant is" if paired is not None
               else "the strongest PGD leaves")
            + f" {'; '.join(parts)}; at {largest:g}/255 "
            + (f"every model is at {most:.1f}%." if most == 0 else f"every model is at {most:.1f}% or less."))
    return Finding("Adversarial attacks", text, "05_robustness_curves.png")


def _range(values: pd.Series, spec: str, prefix: str = "") -> str:
    """"-4.3 to +1.3" over ``values`` in the format ``spec`` (each after ``prefix``), or the one
    value when they agree."""
    low, high = (prefix + format(v, spec) for v in (values.min(), values.max()))
    return low if low == high else f"{low} to {high}"


def _none_of(parts: list[str]) -> str:
    """"neither dynamic family is distinguishable" when both families were attacked, else "<the
    one> is not distinguishable"."""
    families = [part.split()[0] for part in parts if not part.startswith("ResNet-20")]
    if len(families) > 1:
        return "neither dynamic family is distinguishable"
    names = {"DY": "dynamic convolution", "gated": "channel gating"}
    return f"{names.get(families[0], families[0]) if families else 'no other model'} is not distinguishable"


CAP_INTERVAL = ("capped − static: 95% CI low", "capped − static: 95% CI high")  # notebook 04's columns


def _cap_words(caps: pd.DataFrame) -> list[str]:
    """Per cap of notebook 04's MAC-cap table: the capped model against the static network that
    costs the cap, "behind" / "ahead" / "not distinguishable" by the 95% interval over seeds, or
    "one seed" (no interval; also for tables written without one)."""
    if not set(CAP_INTERVAL) <= set(caps.columns):
        return ["one seed"] * len(caps)
    return ["one seed" if low != low else "ahead" if low > 0 else "behind" if high < 0 else "not distinguishable"
            for low, high in caps[list(CAP_INTERVAL)].itertuples(index=False)]


def _cap_verdict(caps: pd.DataFrame) -> str:
    """The MAC cap's conclusion over its caps (those with a static network to compare with)."""
    words = _cap_words(caps[caps["capped − static"].notna()])
    if "one seed" in words:
        return "one seed: no verdict"
    return ("static higher at every cap" if set(words) == {"behind"} else
            "capped higher at some cap" if "ahead" in words else
            "static higher at some caps, never lower" if "behind" in words else "not distinguishable at any cap")


def _cap_against_static(caps: pd.DataFrame, row: pd.Series) -> str:
    """The capped model (at the cap ``row`` of the MAC-cap table ``caps``) against the static
    network that spends the cap on every image, with its interval where there are seeds, and
    over all caps."""
    if row["capped − static"] != row["capped − static"]:
        return ""
    word = _cap_words(row.to_frame().T)[0]
    text = (f" Against a static network with the same worst case, one that spends the cap ({row['cap (M)']:.2f}M) on "
            f"every image (its accuracy read off the static frontier between the trained widths), the capped model "
            f"({row['clean MACs (M)']:.2f}M on average) ")
    if word == "one seed":
        return text + f"scores {_higher(row['capped − static'])} it (one seed: no verdict)."
    compared = caps[caps["capped − static"].notna()]
    words = _cap_words(compared)
    single = words.count("one seed")
    over = (f"behind at every one ({compared['capped − static'].min():+.2f} to "
            f"{compared['capped − static'].max():+.2f} points)" if set(words) == {"behind"} else
            _and([f"behind at {words.count('behind')}", f"ahead at {words.count('ahead')}",
                  f"not distinguishable at {words.count('not distinguishable')}"]
                 + ([f"on one seed (no interval) at {single}"] if single else [])))
    position = {"behind": "is behind it", "ahead": "is ahead of it", "not distinguishable": "is not distinguishable from it"}
    takeaway = ("; with a cap on one seed, no verdict over the caps" if single else
                "; a static network of the same worst-case cost does as well or better" if "ahead" not in words else
                "; the capped model does as well or better than a static network of the same worst-case cost"
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


class EnergyAttack(NamedTuple):
    """Notebook 04's energy attack on the headline gated model at its largest ε, one row per seed."""
    eps: float  # /255
    top: pd.DataFrame  # the energy table's rows of the headline at ``eps``
    shares: pd.DataFrame  # per seed: % of its saving against ResNet-20 taken back (energy, stealthy)
    ratio: pd.Series  # mean MACs attacked / clean, per seed
    noise: pd.Series  # mean MACs under uniform noise of the same ε / clean, per seed


def _energy_attack(results_dir: Path, profile: str) -> Optional[EnergyAttack]:
    tables = _tables(results_dir)
    energy, recovered = (_read(tables / f"04_energy_{profile}.csv"),
                         _read(tables / f"04_energy_saving_recovered_{profile}.csv"))
    if energy is None or recovered is None:
        return None
    headline = run_label(*HEADLINE)
    energy = energy.reset_index()
    eps = energy["ε (/255)"].max()
    top = energy[energy["model"].str.startswith(headline) & (energy["ε (/255)"] == eps)]
    shares = recovered[recovered.index.str.startswith(headline)]
    if top.empty or shares.empty:
        return None
    clean = top["mean MACs clean (M)"]
    return EnergyAttack(eps, top, shares, top["mean MACs energy (M)"] / clean,
                        top["mean MACs noise (M)"] / clean)


def _adaptive_energy(tables: Path, profile: str) -> str:
    """The sentence on notebook 04's adaptive energy attack (gradients through the gates'
    straight-through relaxation) against the plain one, paired by seed; "" without its table."""
    adaptive = _read(tables / f"04_energy_adaptive_{profile}.csv")
    if adaptive is None or adaptive.empty:
        return ""
    gap = adaptive_gap(adaptive)
    if gap["n"] < 2:
        difference, word = f"{gap['mean']:+.3f}×; one seed: no verdict", "compared with"
    else:
        difference = f"{gap['mean']:+.3f}× [{gap['ci_low']:+.3f}, {gap['ci_high']:+.3f}] paired by seed"
        word = ("more than" if gap["ci_low"] > 0 else "less than" if gap["ci_high"] < 0
                else "not distinguishable from")
    text = (f" An adaptive attacker, with gradients as if each on/off gate were its sigmoid (the "
            f"straight-through relaxation), reaches {adaptive['adaptive / clean'].mean():.2f}×: {word} the plain "
            f"attack ({difference})")
    strength = _read(tables / f"04_energy_strength_{profile}.csv")
    if strength is not None and len(strength) > 1:
        strength = strength.reset_index()
        main = strength[strength["main"]]
        if len(main):
            most, main = strength.loc[strength["attacked / clean"].idxmax()], main.iloc[0]
            text += (f"; more effort ({int(most['steps'])} steps, {counted(int(most['restarts']), 'restart')}) adds {most['attacked / clean'] - main['attacked / clean']:+.3f}× "
                     f"to the {int(main['steps'])}-step attack on {int(strength['images'].iloc[0])} images of seed 0")
    return text + "."


def energy_attack(results_dir: Path, profile: str) -> Optional[Finding]:
    """How much compute an attacker can force on the headline gated model, and what a cap costs
    (notebook 04's tables)."""
    found = _energy_attack(results_dir, profile)
    if found is None:
        return None
    tables = _tables(results_dir)
    eps, top, shares, ratio = found.eps, found.top, found.shares, found.ratio
    share = seeds.interval(shares["energy"])
    stealthy = seeds.interval(shares["stealthy"].dropna())
    images = f" on {int(top['images'].iloc[0]):,} test images" if "images" in top else ""
    text = (f"At ε = {eps:g}/255 an attack on compute raises the headline gated model's mean executed "
            f"MACs{images} from {top['mean MACs clean (M)'].mean():.2f}M to {top['mean MACs energy (M)'].mean():.2f}M "
            f"per image ({ratio.mean():.2f}×, {counted(len(top), 'seed')}; uniform noise of the "
            f"same ε: {found.noise.mean():.3f}×), taking back {seeds.over_seeds(share, 1, '%')} of its saving against ResNet-20"
            + (f"; a stealthy variant that keeps every prediction takes back "
               + (seeds.plus_minus(stealthy["mean"], stealthy["std"], 1, "%") if stealthy["n"] == share["n"]
                  else seeds.over_seeds(stealthy, 1, "%"))
               if stealthy["n"] else "")
            + "." + _adaptive_energy(tables, profile))
    caps = _read(tables / f"04_mac_cap_{profile}.csv")
    if caps is not None and len(caps):
        caps = caps.reset_index()
        bounded = caps[caps["attacked max (M)"] <= CAP_SHOWN * caps["clean MACs (M)"].max()]
        row = (bounded if len(bounded) else caps).sort_values("cap (× mean MACs)").iloc[-1]
        text += (f" A per-image MAC cap bounds it by construction: capped at {row['cap (× mean MACs)']:.2f}× "
                 f"its mean over all test images ({row['cap (M)']:.2f}M), clean accuracy changes by "
                 f"{row['Δ acc vs uncapped']:+.2f} points and the attack reaches at most "
                 f"{row['attacked max (M)']:.2f}M per image." + _cap_against_static(caps, row))
    return Finding("Can an attacker make a gated model spend more?", text, "04_energy_macs.png")


def question(over: pd.DataFrame, profile: str = "full") -> Optional[Finding]:
    """The study's answer in one sentence: DY K=4 against ResNet-20 and the headline gated model
    against its static control, paired by seed; a model without a finished run at ``profile`` is
    named as such."""
    dy, headline = run_label("dy_resnet20", {"num_kernels": ANALYSIS_K}), run_label(*HEADLINE)
    epochs = PROFILES[profile]["epochs"]
    compared = []  # (row, prefix, words) of each model with a finished run
    if dy in over.index:
        equal = _same_cost(over.loc[dy, "macs"], over.loc[REFERENCE, "macs"]) if REFERENCE in over.index else False
        compared.append((over.loc[dy], "delta", f"{dy} against ResNet-20"
                         + (" (equal MACs, not equal parameters)" if equal else "")))
    if headline in over.index:
        row = over.loc[headline]
        compared.append((row, "nearest", f"the headline gated model against "
                                         f"{_nearest_words(over, row, row['nearest_static'])}"))
    if not compared:
        return None
    shown = [_spans_zero(row, prefix) is False and row[f"{prefix}_mean"] > 0 for row, prefix, _ in compared]
    decided = [_spans_zero(row, prefix) is not None for row, prefix, _ in compared]
    answer = ("Yes" + (" for both" if len(compared) == 2 else "") if all(shown) else
              "For one family" if any(shown) else
              "No gain shown" if all(decided) else f"No verdict yet at {epochs} epochs")
    bounds = [f"{row[f'{prefix}_ci_high']:+.2f}" for row, prefix, _ in compared if row[f"{prefix}_n"] >= 2]
    bounded = [words.split(" against")[0] for row, prefix, words in compared if row[f"{prefix}_n"] >= 2]
    text = (f"Does input dependence beat a static network of the same cost? {answer}: "
            + ", ".join(f"{_delta(row, prefix)} points for {words}" for row, prefix, words in compared)
            + (" (paired by seed, 95% intervals; an interval that includes 0 shows no gain)" if any(decided) else "")
            + (f"; at 95%, {'these two models gain' if len(bounds) == 2 else bounded[0] + ' gains'} at most "
               f"{' and '.join(bounds)} points at {epochs} epochs" if bounds and not any(shown) else "")
            + ("" if dy in over.index else f"; {dy} has no finished run at {epochs} epochs yet")
            + ("" if headline in over.index else f"; the headline gated model has no finished run at {epochs} "
               "epochs yet") + ".")
    return Finding("The study's question", text, None)


def reading_rules() -> str:
    """The rules that turn the analyses' numbers into the words of the findings and of
    ``analyses_by_length``, as a Markdown list."""
    return "\n".join([
        "- **Ahead or behind**: a difference paired by seed whose 95% interval excludes 0; **not "
        "distinguishable**: one that includes 0; with one seed, no verdict. This rule is for comparisons over "
        "seeds; the analyses of notebooks 02–04 (seed 0; the attacks on compute over the headline gated "
        "model's seeds) are read by the rules below.",
        f"- **Follows the vehicle/animal split** beyond ResNet-20's features: partial correlation "
        f"≥ {split_threshold():.2f}, the 5% critical value of a partial correlation over the 45 class pairs "
        "(the pairs share classes, so this is a fixed reading rule, not a test).",
        f"- **Learnt**: the trained model's partial correlation exceeds its untrained twin's by more than "
        f"{LEARNT_MARGIN:g} (for a gated model, the larger of its two untrained twins': as initialised, and "
        f"with each gate set to the trained model's on-rate; that second twin was added after the first 200-epoch "
        f"analyses and can only make the rule stricter).",
        f"- **Per image** (gating): at least {100 * GOALS['min_live_conditional']:.0f}% of live gates conditional "
        f"and per-image MACs varying by at least {100 * GOALS['min_macs_cv']:.0f}%, the selection rule's criteria.",
        "- **Differ under attack**: the difference from ResNet-20 on the same test images, paired by image "
        "(an image robust if it survives every PGD variant), has a 95% interval that excludes 0; **robust**: at least "
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
    table, over = overview(results_dir, profile)
    found = [question(over, profile) if not over.empty else None,
             dynamic_convolution(over, table, _read(_tables(results_dir) / "02_dy_speed_benchmark.csv"))
             if not over.empty else None,
             attention_by_class(results_dir, profile),
             channel_gating(over, results_dir, profile) if not over.empty else None,
             channels_by_class(results_dir, profile),
             attacks(results_dir, profile),
             energy_attack(results_dir, profile),
             training_length(results_dir, in_progress=False)]
    return [f for f in found if f is not None]


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


def overview(results_dir: str | Path = RESULTS_DIR, profile: str = "full"
             ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every finished run of ``profile`` (``seeds.seed_table``) and its table over seeds
    (``seeds.overview``; empty without runs): what the findings are computed from."""
    table = seeds.seed_table(seeds.load_runs(results_dir, profile))
    return table, (seeds.overview(table) if not table.empty else pd.DataFrame())


def paper_models() -> list[str]:
    """The labels of the models the ``paper`` profile trains (its queue in ``common.manifest``):
    ResNet-20 first, each model before its control."""
    labels = list(dict.fromkeys(run_label(*parse_run(run)) for run, _ in queue("paper")))
    order = [REFERENCE, run_label("dy_resnet20", {"num_kernels": ANALYSIS_K}), run_label(*HEADLINE)]
    return sorted(labels, key=lambda label: order.index(label) if label in order else len(order))


def reader_name(label: str) -> str:
    """A model's name in the training-length section: "headline gated model" for the headline's
    run label, which spells out its recipe."""
    return "headline gated model" if label == run_label(*HEADLINE) else label


def length(profile: str) -> str:
    """A profile as the reader knows it: "30 epochs", "200 epochs"."""
    return f"{PROFILES[profile]['epochs']} epochs"


def profiles_side_by_side(results_dir: str | Path = RESULTS_DIR,
                          profiles=("full", "paper")) -> pd.DataFrame:
    """The ``paper`` profile's models under each profile: test accuracy (mean ± std, seeds),
    executed MACs, the paired difference against ResNet-20 and against the static network nearest
    in MACs (each within its profile); "–" where a profile has no finished run of the model yet."""
    rows = {label: {} for label in paper_models()}
    for profile in profiles:
        _, over = overview(results_dir, profile)
        for label in rows:
            row = over.loc[label] if label in over.index else None
            at = length(profile)

            def cell(text):  # "pending": no finished run yet; "n/a": no such comparison
                return "pending" if row is None else "n/a" if text == "–" else text

            rows[label] |= {
                f"{at}: test acc (%)": cell(row is not None and _acc(row)),
                f"{at}: MACs (M)": cell(row is not None and f"{row['macs'] / 1e6:.2f}"),
                f"{at}: Δ vs ResNet-20": cell(row is not None and _delta(row, "delta")),
                f"{at}: Δ vs static nearest in MACs": cell(row is not None and _delta(row, "nearest"))}
    table = pd.DataFrame(rows).T.rename_axis("model")
    return table.rename(index=reader_name)


def training_histories(results_dir: str | Path = RESULTS_DIR, profiles=("full", "paper"),
                       in_progress: bool = True) -> dict[str, dict[str, pd.DataFrame]]:
    """Per model of the ``paper`` profile (by ``reader_name``): the per-epoch history of each of
    its runs under ``profiles`` as {"<profile> seed <s>": history}; the runs still training too
    with ``in_progress`` (their folders are not committed, so a page that a clone must regenerate
    leaves them out)."""
    wanted = paper_models()
    found: dict[str, dict[str, pd.DataFrame]] = {label: {} for label in wanted}
    for profile in profiles:
        for config_path in sorted(Path(results_dir).glob(f"*-{profile}-seed*/{CONFIG_FILE}")):
            config = pd.read_json(config_path, typ="series")
            label = run_label(config["model"], config.get("model_kwargs") or {})
            history = config_path.parent / HISTORY_FILE
            finished = (config_path.parent / METRICS_FILE).exists()
            if (label in found and history.exists() and config.get("holdout", 0) == 0
                    and (finished or in_progress)):
                found[label][f"{profile} seed {config['seed']}"] = pd.read_csv(history)
    return {reader_name(label): runs for label, runs in found.items()}


def profile_epochs(profiles=("full", "paper")) -> dict[str, int]:
    return {profile: PROFILES[profile]["epochs"] for profile in profiles}


_D_KEYS = ("seeds", "n", "mean", "ci_low", "ci_high")  # what a comparison's ``d_`` dict carries


def _comparison(table: pd.DataFrame, label: str, reference: str, column: str = "test_acc") -> dict:
    """``label`` minus ``reference`` paired by seed in one profile's ``seed_table``, as the
    ``d_``-prefixed n / mean / 95% interval that ``seeds.signed`` and ``seeds.verdict_word`` read."""
    diffs = seeds.paired_differences(table[table["label"].isin([label, reference])], reference, column)
    row = diffs.loc[label] if label in diffs.index else {"seeds": "", "n": 0, "mean": float("nan"),
                                                         "ci_low": float("nan"), "ci_high": float("nan")}
    return {f"d_{key}": row[key] for key in _D_KEYS}


def _against_constant(values: pd.Series, constant: float) -> dict:
    """The mean of ``values`` minus ``constant``, with the 95% interval of that mean."""
    found = seeds.interval(values - constant)
    return {f"d_{key}": found[key] for key in ("n", "mean", "ci_low", "ci_high")}


def _over_frontier(table: pd.DataFrame, label: str) -> dict:
    """``label``'s accuracy minus the static frontier's at its own MACs, seed by seed
    (``seeds.frontier_margins``), as ``_comparison``'s ``d_`` dict (n = 0 where no frontier of
    the profile brackets its MACs), with ``d_outside``: how many of its finished seeds no frontier
    of their seed brackets (they wait for a static width on their other side)."""
    static = table.loc[table["family"] == FAMILIES["resnet20"], "label"].unique().tolist()
    found = seeds.frontier_margins(table, static, [label])
    row = found.loc[label] if label in found.index else {"n": 0}
    outside = (table["label"] == label).sum() - (row["n"] if row["n"] == row["n"] else 0)
    return {f"d_{key}": row.get(key, float("nan")) for key in _D_KEYS} | {"d_outside": int(outside)}


def comparisons(table: pd.DataFrame) -> dict[str, dict]:
    """The study's decisive comparisons in one profile's ``seed_table``: ResNet-20 against He et
    al.'s accuracy, DY against ResNet-20 (test and training images), and the headline gated model
    against ResNet-20, against its static control (of equal MACs at the `full` profile) and over
    the static frontier at its own MACs."""
    dy = run_label("dy_resnet20", {"num_kernels": ANALYSIS_K})
    headline, control = run_label(*HEADLINE), run_label(*parse_run(HEADLINE_CONTROL))
    return {
        f"ResNet-20 (JPEG copy) against He et al.'s {HE_RESNET20_ACC:.2f}% (original images)":
            _against_constant(table.loc[table["label"] == REFERENCE, "test_acc"], HE_RESNET20_ACC),
        f"{dy} against ResNet-20": _comparison(table, dy, REFERENCE),
        f"{dy} against ResNet-20 on the training images": _comparison(table, dy, REFERENCE, "train_acc"),
        "headline gated model against ResNet-20": _comparison(table, headline, REFERENCE),
        f"headline gated model against {control} (its static control)": _comparison(table, headline, control),
        "headline gated model over the static frontier at its MACs (static widths on both sides of them)":
            _over_frontier(table, headline),
    }


SAME = "same at 200 epochs?"  # the last column of the training-length tables


def conclusions(results_dir: str | Path = RESULTS_DIR, profiles=("full", "paper")) -> pd.DataFrame:
    """Each decisive comparison (``comparisons``) under each profile: the difference in points
    (paired by seed, 95% interval), what the interval supports, and whether that verdict is the
    same at the longer training: "same", "changes: <a> → <b>", or "pending (<n> of 3 seeds compared …)"
    until both profiles have the study's seeds (``common.manifest.SEEDS``) of it. Then the
    comparisons that only the shortest profile trains (``_sweeps``)."""
    tables = {profile: overview(results_dir, profile) for profile in profiles}
    table = _conclusions({profile: found[0] for profile, found in tables.items()})
    shortest = tables[profiles[0]][1]
    if shortest.empty:
        return table
    return pd.concat([table, _sweeps(shortest, profiles)])


def _sweeps(over: pd.DataFrame, profiles) -> pd.DataFrame:
    """The conclusions over the sweeps (K, the uniform L0 weight), which the longer profiles do
    not train, in the columns of ``_conclusions``."""
    dy = [run_label("dy_resnet20", {"num_kernels": k}) for k in KERNELS]
    uniform = [run_label("gated_resnet20", {"l0_weight": w}) for w in L0_WEIGHTS]
    longest = length(profiles[-1])
    groups = {"DY K = 2…5 against ResNet-20 (the sweep over K)": (dy, "delta", f"the sweep over K is not trained at {longest}"),
              "uniform-L0 gated models over the static frontier":
                  (uniform, "margin", f"they are not trained at {longest}")}
    rows = {}
    for name, (labels, prefix, why) in groups.items():
        found = over.reindex([label for label in labels if label in over.index])
        if found.empty:
            continue
        words = [seeds.verdict_word(row, prefix) for _, row in found.iterrows()]
        row = {f"{length(profiles[0])}: Δ (points) [95% CI]": "; ".join(
                   (f"{label.split(' ', 1)[-1]} " if len(found) > 1 else "") + seeds.signed(r, prefix)
                   for label, r in found.iterrows()),
               f"{length(profiles[0])}: verdict": ", ".join(dict.fromkeys(words))}
        row |= {f"{length(p)}: {c}": "–" for p in profiles[1:] for c in ("Δ (points) [95% CI]", "verdict")}
        row[SAME] = f"{length(profiles[0])} only ({why})"
        rows[name] = row
    return pd.DataFrame(rows).T.rename_axis("comparison")


def _outcome(first: Optional[str], last: Optional[str], pending: str) -> str:
    """The last column of a training-length table: "same", "changes: a → b" or ``pending``."""
    if first is None or last is None:
        return pending
    return "same" if first == last else f"changes: {first} → {last}"


def _conclusions(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """``conclusions`` from each profile's ``seed_table`` (profiles in order, shortest first)."""
    profiles = list(tables)
    found = {profile: comparisons(table) for profile, table in tables.items()}
    rows = {}
    for name in found[profiles[0]]:
        row, words = {}, []
        for profile in profiles:
            values = found[profile][name]
            word = seeds.verdict_word(values, "d")
            row[f"{length(profile)}: Δ (points) [95% CI]"] = seeds.signed(values, "d") if values["d_n"] else "–"
            row[f"{length(profile)}: verdict"] = word if values["d_n"] else "–"
            words.append(word if values["d_n"] >= len(SEEDS) else None)
        seeds_done, outside = found[profiles[-1]][name]["d_n"], found[profiles[-1]][name].get("d_outside", 0)
        row[SAME] = _outcome(words[0], words[-1], f"pending ({seeds_done:.0f} of {len(SEEDS)} seeds compared "
                                                  f"at {length(profiles[-1])}" + (
            f"; {outside} finished {'seed lies' if outside == 1 else 'seeds lie'} {seeds.OUTSIDE_FRONTIER}"
            if outside else "") + ")")
        rows[name] = row
    return pd.DataFrame(rows).T.rename_axis("comparison")


def _similarity_rows(table: Optional[pd.DataFrame], what: str, model: str) -> dict[str, tuple]:
    """A similarity-controls table's two conclusions: does ``what`` follow the vehicle/animal split
    beyond a static ResNet-20's features, and is that learnt (against the untrained ``model``)?"""
    found = _controls(table)
    if found is None:
        return {}
    partial, random = found[3], control_partials(table).get(UNTRAINED_STATIC)
    rows = {f"{what}: follows the vehicle/animal split?": (
        "partial correlation given ResNet-20's features (an untrained ResNet-20's features)",
        f"{partial:+.2f}" + (f" ({random:+.2f})" if random is not None else ""),
        ("follows, as random features do" if _like_random(table, partial) else "follows") if follows_split(partial)
        else "does not follow")}
    twins = _untrained_twins(table)
    if twins:
        rows[f"{what}: learnt?"] = (
            f"partial correlation, trained against an untrained {model}"
            + (f" (and one {RATE_MATCHED})" if RATE_MATCHED in twins else ""),
            f"trained {partial:+.2f}, untrained {twins[UNTRAINED]:+.2f}"
            + (f" ({twins[RATE_MATCHED]:+.2f})" if RATE_MATCHED in twins else ""),
            "learnt" if _learnt(max(twins.values()), partial) else "not learnt")
    return rows


def analyses(results_dir: str | Path, profile: str) -> dict[str, tuple[str, str, str]]:
    """The per-image analyses' conclusions in one profile (seed 0 of each model), from the tables
    notebooks 02-04 wrote: {question: (what is measured, its numbers, its conclusion in a word or
    two)}; a question whose table is missing is left out."""
    tables = _tables(results_dir)
    dy, headline = run_label("dy_resnet20", {"num_kernels": ANALYSIS_K}), run_label(*HEADLINE)
    rows = _similarity_rows(_read(tables / f"02_attention_similarity_controls_{profile}_k{ANALYSIS_K}.csv"),
                            f"{dy} attention", dy)
    rows |= _similarity_rows(_read(tables / f"03_gating_similarity_controls_{profile}.csv"),
                             "gates' channel usage", "gated model")
    dependence = _read(tables / f"03_gating_input_dependence_{profile}.csv")
    if dependence is not None and headline in dependence.index:
        d = dependence.loc[headline]
        per_image = _per_image(d)
        rows["gates: decide per image?"] = (
            "live gates conditional, per-image MACs spread (std / mean); seed 0",
            f"{d['live gates conditional (%)']:.0f}%, {d['MACs spread (%)']:.1f}%",
            "per image" if per_image else "not per image")
        costs = d["Δ frozen (points)"] < 0 and _binomial_differ(d["test acc"], d["frozen-gate acc"], TEST_IMAGES)
        rows["gates: freezing them costs accuracy?"] = (
            "test accuracy with every gate frozen to its majority decision, minus as trained (points); seed 0",
            f"{d['Δ frozen (points)']:+.2f}", "costs accuracy" if costs else "no cost shown")
    robustness = _robustness(results_dir, profile)
    if robustness is not None:
        eps, largest, most = robustness.eps, robustness.largest, robustness.most
        shown = robustness.strongest.reindex([REFERENCE, dy, headline])  # "–" for a model not attacked
        strongest = shown.dropna()
        if REFERENCE in strongest.index and robustness.paired is not None:
            differ = [reader_name(label) for label in robustness.differ(strongest.index)]
            rows[f"attacks: models differ at ε = {eps:g}/255?"] = (
                f"accuracy (%) surviving every PGD variant image by image, {' / '.join(map(reader_name, shown.index))}; "
                f"{robustness.images} test images, seed 0; differences paired by image", " / ".join("–" if v != v else f"{v:.1f}" for v in shown),
                f"{', '.join(differ)} differ" if differ else "not distinguishable")
        rows[f"attacks: a model robust at ε = {largest:g}/255?"] = (
            "highest accuracy (%) under PGD of any model attacked", f"{most:.1f}",
            "some model robust" if most >= ROBUST_ACC else "no model robust")
    energy = _energy_attack(results_dir, profile)
    if energy is not None:
        gain, seeds_ = energy.ratio.mean(), len(energy.top)
        rows["energy attack: the headline gated model spends more?"] = (
            f"at ε = {energy.eps:g}/255: mean MACs attacked / clean (uniform noise), share of the saving taken back "
            f"(stealthy attack); mean over the seeds attacked",
            f"{gain:.2f}× (noise {energy.noise.mean():.3f}×), {energy.shares['energy'].mean():.1f}% "
            f"({energy.shares['stealthy'].mean():.1f}%), {counted(seeds_, 'seed')}",
            f"spends {energy_word(gain)}")
    caps = _read(tables / f"04_mac_cap_{profile}.csv")
    if caps is not None and len(caps):
        gap = caps["capped − static"].dropna()
        if len(gap):
            rows["MAC cap: beats the static network costing the cap?"] = (
                "capped − static accuracy (points) over the caps, paired by seed with its 95% interval; the "
                "static network is read off each seed's frontier of the thin networks trained at that length",
                f"{gap.min():+.2f} to {gap.max():+.2f}", _cap_verdict(caps))
    return rows


def analyses_by_length(results_dir: str | Path = RESULTS_DIR, profiles=("full", "paper")
                       ) -> pd.DataFrame:
    """Each per-image analysis (``analyses``) under each profile, as "<numbers>: <conclusion>",
    and whether the conclusion is the same at the longer training ("same", "changes: <a> →
    <b>", or "pending" until notebooks 02-04 have run on the longer profile's models:
    ``make report PROFILE=paper``). Seed 0 of each model (the attacks on compute: every seed of
    the headline gated model, with an interval where there are two or more)."""
    found = {profile: analyses(results_dir, profile) for profile in profiles}
    rows = {}
    for name, (measure, *_) in found[profiles[0]].items():
        values = [found[profile].get(name) for profile in profiles]
        row = {"measure": measure}
        row |= {length(profile): f"{v[1]}: {v[2]}" if v else "–" for profile, v in zip(profiles, values)}
        first, last = (v[2] if v else None for v in (values[0], values[-1]))
        row[SAME] = (f"pending ({last})" if last and last.startswith("one seed") else
                     _outcome(first, last, f"pending (not analysed at {length(profiles[-1])})"))
        rows[name] = row
    return pd.DataFrame(rows).T.rename_axis("question")


def published_check(results_dir: str | Path, fingerprint: str) -> Optional[dict]:
    """The published ResNet-20's scores on the data with this fingerprint, as recorded by
    ``make published`` (``common.published``); None if not measured there."""
    path = Path(results_dir) / PUBLISHED_CHECK
    return json.loads(path.read_text()).get(fingerprint) if path.exists() else None


def _published(results_dir: str | Path, ours: pd.Series) -> str:
    """What the published ResNet-20 trained on the original images scores on the copy that the
    `paper` ResNet-20 runs trained on (``common.published``), as it is and fine-tuned on the copy,
    beside ``ours`` (the `paper` ResNet-20's ``overview`` row); "" if not measured."""
    sources = {m["data_source"]["fingerprint"] for m in seeds.load_runs(results_dir, "paper")
               if run_label(m["model"], m.get("model_kwargs")) == REFERENCE}
    entries = [e for e in (published_check(results_dir, s) for s in sorted(sources)) if e]
    if not entries:
        return ""
    e = entries[0]
    published = (f"{e['source']}'s published {e['network']} ({e['published_test_acc']:.2f}% on the original test "
                 f"images) classifies {e['test_acc']:.2f}% of the copy's test images ({e['train_acc']:.2f}% of its "
                 "training images)")
    tuned = e.get("finetuned")
    if not tuned:
        return f". The copy is not a lossless stand-in for the original images: {published}"
    reaches = tuned["test_acc"] >= HE_RESNET20_ACC
    n = int(ours["n"])
    return (f". An indirect check points at {'our training' if reaches else 'the copy'}: {published}, and after "
            f"{tuned['epochs']} epochs of fine-tuning on the copy's training images (peak learning rate "
            f"{tuned['lr']:g}, fixed beforehand; one run) {tuned['test_acc']:.2f}% of its test images, "
            f"{tuned['test_acc'] - ours['test_acc']:+.2f} points from ours ({ours['test_acc']:.2f}%, "
            + (f"mean of {n} seeds" if n > 1 else "1 seed") + "): "
            + ("a ResNet-20 can reach He et al.'s " if reaches else
               "a ResNet-20 that learnt from the original images stays below He et al.'s ")
            + f"{HE_RESNET20_ACC:.2f}% on the copy")


def _control_cost(full_over: pd.DataFrame, paper_over: pd.DataFrame) -> str:
    """A sentence when, at the ``paper`` profile, the headline gated model's executed MACs differ
    from its static control's (``_same_cost``; the control was chosen at equal MACs at the
    ``full`` profile); "" otherwise."""
    headline, control = run_label(*HEADLINE), run_label(*parse_run(HEADLINE_CONTROL))
    if not {headline, control} <= set(paper_over.index):
        return ""
    gated, static = paper_over.loc[headline, "macs"], paper_over.loc[control, "macs"]
    if _same_cost(gated, static):
        return ""
    before = (f" (at {length('full')}: {full_over.loc[headline, 'macs'] / 1e6:.2f}M against "
              f"{full_over.loc[control, 'macs'] / 1e6:.2f}M)" if {headline, control} <= set(full_over.index) else "")
    return (f"At {length('paper')} the headline gated model executes {gated / 1e6:.2f}M MACs on average, "
            f"{100 * gated / static:.0f}% of its static control's {static / 1e6:.2f}M{before}: trained longer, its "
            f"gates switch {'more' if gated < static else 'fewer'} channels off, so the comparison with the "
            f"control no longer holds cost equal (the control costs {'more' if gated < static else 'less'}: "
            + ("a gain over it still counts, a loss may be the control's extra MACs)" if gated < static
               else "a loss against it still counts, a gain may be the gated model's extra MACs)"))


def training_length(results_dir: str | Path = RESULTS_DIR, in_progress: bool = True
                    ) -> Optional[Finding]:
    """What the ``paper`` runs say beside the ``full`` ones (``conclusions``,
    ``analyses_by_length``); with ``in_progress``, where the paper queue stands (not for pages
    that must not change while a run trains)."""
    short, long = length("full"), length("paper")
    epochs = PROFILES["paper"]["epochs"]
    paper = {label: {run: h for run, h in runs.items() if run.startswith("paper")}
             for label, runs in training_histories(results_dir, in_progress=in_progress).items()}
    full_table, full_over = overview(results_dir, "full")
    paper_table, paper_over = overview(results_dir, "paper")
    if REFERENCE not in full_over.index:
        return None  # no full-profile ResNet-20 to compare with (e.g. a smoke-only results folder)
    running = [f"{label} seed {run.split()[-1]} at epoch {len(h)}"
               for label, runs in paper.items() for run, h in runs.items() if len(h) < epochs]
    planned = len(queue("paper"))
    finished = len(paper_table)
    per_model = {run for run, _ in queue("paper")}
    shape = (f"{len(per_model)} models × {len(SEEDS)} seeds" if planned == len(per_model) * len(SEEDS)
             else f"{len(per_model)} models")
    still = (f" Of the {planned} runs planned at {long} ({shape}): "
             f"{finished} finished; {len(running)} training"
             + (f" ({', '.join(running)} of {epochs})" if running else "")
             + f"; {planned - finished - len(running)} queued. Accuracy during training is not a result."
             if in_progress else "")
    done = [label for label in map(reader_name, paper_models()) if label in paper_over.rename(index=reader_name).index]
    if not done:
        return Finding("Training length", (
            f"No run of the {epochs}-epoch `paper` profile has finished: every conclusion here rests on "
            f"{short}, where ResNet-20 reaches {_acc(full_over.loc[REFERENCE])} against He et "
            f"al.'s {HE_RESNET20_ACC:.2f}% (original images, ~164 epochs). The report's training-length "
            f"section sets each conclusion about the {len(paper_models())} {epochs}-epoch models at both lengths as their runs "
            f"finish ({finished} of {planned} so far).{still}"), None)
    paper_named, full_named = paper_over.rename(index=reader_name), full_over.rename(index=reader_name)
    waiting = [label for label in map(reader_name, paper_models()) if label not in done]
    accuracy = ("**Accuracy.** " + f"With at least one seed finished at {long}: " + ", ".join(done)
                + (f"; none finished yet: {', '.join(waiting)}" if waiting else "") + ". Test accuracy: "
                + "; ".join(f"{label} {_acc(paper_named.loc[label])} at {long}"
                            + (f" against {_acc(full_named.loc[label])} at {short}"
                               if label in full_named.index else "")
                            for label in done))
    if REFERENCE in paper_over.index:  # the literature's ResNet-20s, trained on the original images
        reference = paper_over.loc[REFERENCE, "test_acc"]
        published = (f"**Against published ResNet-20s.** Ours at {long} against the published ones, all trained "
                     "on the original images: " + ", ".join(
                         f"{p.source.split(' (')[0]} {p.static_acc:.2f}% ({reference - p.static_acc:+.2f} points)"
                         for p in RESNET20) + ". This study has not trained on the original images, so how "
                     "much of that gap the JPEG copy costs is not measured directly"
                     + _published(results_dir, paper_over.loc[REFERENCE]))
    else:
        published = ""
    cost = _control_cost(full_over, paper_over)
    table = _conclusions({"full": full_table, "paper": paper_table})
    by_outcome = {outcome: [name for name, row in table.iterrows() if row[SAME].startswith(outcome)]
                  for outcome in ("same", "changes", "pending")}
    decisive = sum(map(len, by_outcome.values()))
    lead = (f"Of the {decisive} decisive comparisons, {len(by_outcome['changes'])} changed, "
            f"{len(by_outcome['same'])} kept {'its' if len(by_outcome['same']) == 1 else 'their'} verdict and "
            f"{len(by_outcome['pending'])} wait for {len(SEEDS)} seeds at {long}")
    verdicts = ". ".join(filter(None, [  # what changed first, then what is still open
        "Changed: " + "; ".join(f"{name} ({table.loc[name, SAME].split(': ')[1]})"
                                for name in by_outcome["changes"]) if by_outcome["changes"] else "",
        "Same verdict at both lengths — " + "; ".join(f"{name}: {table.loc[name, f'{long}: verdict']}"
                                                     for name in by_outcome["same"]) if by_outcome["same"] else "",
        f"Waiting for {len(SEEDS)} seeds at {long} before a verdict: {'; '.join(by_outcome['pending'])}"
        if by_outcome["pending"] else ""]))
    by_length = analyses_by_length(results_dir)
    outcome = by_length[SAME] if len(by_length) else pd.Series(dtype=str)
    changed = [f"{name} ({outcome[name].split(': ')[1]})" for name in outcome.index
               if outcome[name].startswith("changes")]
    single = [name for name in outcome.index if outcome[name].startswith("pending (one seed")]
    one_seed = len(single)  # made, but one seed decides nothing
    pending = outcome.str.startswith("pending").sum() - one_seed
    analysed = len(outcome) - pending - one_seed
    parts = ([f"{(outcome == 'same').sum()} of the {analysed} made at {long} keep their conclusion"
              + (f"; changed: {'; '.join(changed)}" if changed else "")] if analysed else [])
    more = " more" if analysed else ""
    parts += [f"{one_seed}{more}, resting in part on one seed, {'gives' if one_seed == 1 else 'give'} no verdict "
              f"({'; '.join(name + ' ' + by_length.loc[name, long].split(': ')[0] for name in single)})"
              ] if one_seed else []
    parts += [f"{pending} not yet made"] if pending else []
    per_image = ("" if not len(outcome) else
                 f"The {len(outcome)} analyses of notebooks 02–04 (class structure of attention and channel "
                 f"usage, the gates' decisions, the attacks) are not yet made at {long}." if not parts[:-1] and pending
                 else f"**Analyses of notebooks 02–04** ({len(outcome)} in all; seed 0, the attacks on compute over the "
                   f"headline's seeds): {'; '.join(parts)}.")
    # the counts lead; the rest as sub-bullets, one subject each
    items = [f"**Verdicts.** {verdicts}" if verdicts else "", per_image, accuracy, published,
             f"**Cost.** {cost}" if cost else "", still.strip()]
    return Finding("Training length", lead + "." + "".join(f"\n- {item.rstrip('.')}." for item in items if item),
                   "05_profiles.png")
