"""Results over seeds: mean ± std per model, paired differences against a reference model, and
the margin over the static frontier, each with a 95% interval.

Runs of one model that differ only in their seed are the replicates; a difference between two
models is paired by seed (same data order and initialisation stream), and its interval is
Student's t over the pairs. With one seed there is no interval (NaN), and tables say so.

Accuracy columns: ``test_acc`` is accuracy on CIFAR-10's 10,000 test images and ``train_acc`` on
the un-augmented training images, both of the final model in eval mode. No choice of the study
(recipe, L0 weight, headline model) looked at the test images: each was made on a hold-out of the
training set (``val_acc`` of the runs under ``results/recipe_selection/``), so "test" here is never
a validation set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
from scipy import stats

from .runs import list_finished_runs
from .selection import frontier_accuracy
from .names import FAMILIES, run_family, run_label

REFERENCE = run_label("resnet20")  # the model every paired difference is taken against


def load_runs(results_dir: str | Path, profile: str) -> list[dict]:
    """The ``metrics.json`` of every finished run of ``profile`` directly under ``results_dir``."""
    return [m for _, m in list_finished_runs(results_dir) if m["profile"] == profile]


def extreme(value: float, values: pd.Series) -> str:
    """"the lowest" or "the highest" where ``value`` is an extreme of ``values`` (the runs over seeds
    it is one of), else "". Among two seeds every value is one; ``paired_rank`` says it only among three."""
    return "the lowest" if value <= values.min() else "the highest" if value >= values.max() else ""


def paired_rank(table: pd.DataFrame, label: str, other: str = REFERENCE) -> str:
    """"the lowest of its 3 seeds" (or highest) when ``other``'s run that ``label``'s single seed
    is paired with (in a ``seed_table``) is an extreme of ``other``'s seeds, so a one-seed
    difference is read with it; else ""."""
    runs = table[table["label"] == other].dropna(subset=["test_acc"]).set_index("seed")["test_acc"]
    mine = table.loc[table["label"] == label, "seed"]
    if len(runs) < 3 or len(mine) != 1 or mine.iloc[0] not in runs.index:
        return ""
    place = extreme(runs[mine.iloc[0]], runs)
    return f"{place} of its {len(runs)} seeds" if place else ""


def seed_table(runs: list[dict]) -> pd.DataFrame:
    """One row per run: label, family, seed, MACs (average executed for gated models), test and
    train accuracy, parameters (NaN where not recorded), and the run's folder name."""
    return pd.DataFrame([{"label": run_label(m["model"], m.get("model_kwargs")),
                          "family": run_family(m["model"], m.get("model_kwargs")), "seed": m["seed"],
                          "macs": m.get("avg_executed_macs", m["macs"]), "test_acc": m["test_acc"],
                          "train_acc": m["train_acc"], "params": m.get("params", np.nan),
                          "run": m["run"]} for m in runs],
                        columns=["label", "family", "seed", "macs", "test_acc", "train_acc", "params", "run"])


def static_runs(runs: list[dict]) -> pd.DataFrame:
    """The plain and thin ResNet-20s among ``runs`` (``load_runs``): their ``seed_table`` with a
    column ``width``, every seed (what a frontier of one seed is made of)."""
    static = [m for m in runs if m["model"] == "resnet20"
              and set(m.get("model_kwargs") or {}) <= {"width"}]
    return seed_table(static).assign(width=[(m.get("model_kwargs") or {}).get("width", 1.0)
                                            for m in static])


def static_frontier(runs: list[dict]) -> pd.DataFrame:
    """The static frontier of ``runs`` (``load_runs``): the plain and thin ResNet-20s, one row
    per width with its label, MACs, the seeds it has and its test accuracy's mean over them
    (column ``acc``, as ``common.selection.frontier_accuracy`` takes it), sorted by MACs."""
    table = static_runs(runs)
    rows = [{"label": label, "width": runs_["width"].iloc[0], "seeds": _seeds(runs_["seed"]),
             "macs": runs_["macs"].mean(), "acc": runs_["test_acc"].mean()}
            for label, runs_ in table.groupby("label", sort=False)]
    return pd.DataFrame(rows, columns=["label", "width", "seeds", "macs", "acc"]).sort_values(
        "macs", ignore_index=True)


def kernel_sweep(runs: list[dict], kernels=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The runs behind "accuracy against K", every seed: ``seed_table`` rows of the DY-ResNet-20s
    whose only setting is K (those in ``kernels``; None: all), with a column ``K``, and of the
    plain ResNet-20 (the reference)."""
    dy = [m for m in runs if m["model"] == "dy_resnet20" and set(m.get("model_kwargs") or {}) == {"num_kernels"}
          and (kernels is None or m["model_kwargs"]["num_kernels"] in kernels)]
    reference = [m for m in runs if m["model"] == "resnet20" and not m.get("model_kwargs")]
    table = seed_table(dy).assign(K=[m["model_kwargs"]["num_kernels"] for m in dy])
    return table.sort_values(["K", "seed"], ignore_index=True), seed_table(reference)


def kernel_summary(dy: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Per K (``kernel_sweep``'s tables): seeds, train and test accuracy as mean ± std, and the
    test accuracy's difference against the reference paired by seed, with its 95% interval and
    ``verdict``."""
    reference_label = reference["label"].iloc[0] if len(reference) else REFERENCE
    both = pd.concat([reference, dy.drop(columns="K")])
    train, test = summarize(both, "train_acc"), summarize(both, "test_acc")
    diffs = paired_differences(both, reference_label).rename(columns=lambda c: f"delta_{c}")
    rows = []
    for label in [reference_label, *dy.drop_duplicates("label")["label"]]:
        if label not in test.index:
            continue
        delta = diffs.loc[label] if label in diffs.index else None
        rows.append({"model": label, "seeds": test.loc[label, "seeds"],
                     "train acc (%)": plus_minus(train.loc[label, "mean"], train.loc[label, "std"]),
                     "test acc (%)": plus_minus(test.loc[label, "mean"], test.loc[label, "std"]),
                     f"paired Δ test vs {reference_label} [95% CI]":
                         signed(delta, "delta") if delta is not None else "–",
                     "what the interval supports": verdict(delta, "delta") if delta is not None else "–"})
    return pd.DataFrame(rows).set_index("model")


def interval(values, confidence: float = 0.95) -> dict:
    """n, mean, std (n-1) and the t interval of the mean of ``values``; NaN where n < 2."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    n = len(values)
    mean = float(values.mean()) if n else np.nan
    if n < 2:
        return {"n": n, "mean": mean, "std": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    std = float(values.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / np.sqrt(n)
    return {"n": n, "mean": mean, "std": std, "ci_low": mean - half, "ci_high": mean + half}


def _seeds(values) -> str:
    return ", ".join(str(s) for s in sorted(values))


def over_seeds(found: dict, digits: int = 2, unit: str = "") -> str:
    """``interval``'s dict as "20.0 ± 3.0% (mean ± std over 3 seeds)", or "20.0% (1 seed)"."""
    return (plus_minus(found["mean"], found["std"], digits, unit)
            + (f" (mean ± std over {found['n']} seeds)" if found["n"] > 1 else ""))


def summarize(table: pd.DataFrame, column: str = "test_acc") -> pd.DataFrame:
    """Per label (in the table's order): family, seeds, MACs (mean), and n / mean / std / 95%
    interval of ``column`` over its seeds."""
    rows = []
    for label, runs in table.groupby("label", sort=False):
        rows.append({"label": label, "family": runs["family"].iloc[0], "seeds": _seeds(runs["seed"]),
                     "macs": runs["macs"].mean(), **interval(runs[column])})
    return pd.DataFrame(rows).set_index("label")


def paired_differences(table: pd.DataFrame, reference: str = REFERENCE,
                       column: str = "test_acc") -> pd.DataFrame:
    """Per label other than ``reference``: ``column`` minus the reference's, paired by seed
    (only seeds both have), as n / mean / std / 95% interval, with the seeds used."""
    ref = table[table["label"] == reference].set_index("seed")[column]
    rows = []
    for label, runs in table[table["label"] != reference].groupby("label", sort=False):
        diffs = (runs.set_index("seed")[column] - ref).dropna()
        rows.append({"label": label, "seeds": _seeds(diffs.index), **interval(diffs)})
    return pd.DataFrame(rows, columns=["label", "seeds", "n", "mean", "std", "ci_low",
                                       "ci_high"]).set_index("label")


def seed_frontier(static: pd.DataFrame, seed: int, column: str = "test_acc") -> Optional[pd.DataFrame]:
    """The static runs of one seed (a ``seed_table`` or ``static_runs``) as the frontier
    ``common.selection.frontier_accuracy`` reads (``column`` as ``acc``); None when that seed has
    fewer than two static models, which make no frontier."""
    points = static[static["seed"] == seed]
    return points.rename(columns={column: "acc"}) if points["label"].nunique() > 1 else None


def frontier_margins(table: pd.DataFrame, static_labels: list[str], labels: list[str],
                     column: str = "test_acc") -> pd.DataFrame:
    """For each of ``labels``: its accuracy minus the static frontier's at its own MACs, seed by
    seed (the frontier of seed s is made of the static runs of seed s, interpolated linearly in
    log MACs as in ``common.selection``; NaN outside their MACs range), then n / mean / std / 95%
    interval over seeds. Columns ``per_seed`` ({seed: margin}) and ``frontier_acc`` (mean) too."""
    static = table[table["label"].isin(static_labels)]
    rows = []
    for label in labels:
        margins, frontier = {}, {}
        for run in table[table["label"] == label].itertuples():
            points = seed_frontier(static, run.seed, column)
            if points is None:
                continue
            at = frontier_accuracy(points, run.macs)[0]
            frontier[run.seed], margins[run.seed] = at, getattr(run, column) - at
        inside = [v for v in frontier.values() if v == v]
        rows.append({"label": label, "seeds": _seeds(k for k, v in margins.items() if v == v),
                     "frontier_acc": float(np.mean(inside)) if inside else np.nan,
                     **interval(list(margins.values())), "per_seed": margins})
    return pd.DataFrame(rows, columns=["label", "seeds", "frontier_acc", "n", "mean", "std",
                                       "ci_low", "ci_high", "per_seed"]).set_index("label")


def plus_minus(mean: float, std: float, digits: int = 2, unit: str = "") -> str:
    """"86.50 ± 0.25", or "86.50 (1 seed)" when there is no spread to show; ``unit`` follows the
    numbers ("86.50 ± 0.25%", "86.50% (1 seed)")."""
    if std != std:
        return f"{mean:.{digits}f}{unit} (1 seed)"
    return f"{mean:.{digits}f} ± {std:.{digits}f}{unit}"


def overview(table: pd.DataFrame, reference: str = REFERENCE,
             static_family: str = FAMILIES["resnet20"]) -> pd.DataFrame:
    """The study's table over seeds, one row per model: seeds, MACs, test accuracy (mean, std), parameters,
    the paired difference against ``reference`` and, for every non-static model, the margin over
    the static frontier (every run of ``static_family``: ResNet-20 and its thin versions)."""
    summary = summarize(table)
    static = summary.index[summary["family"] == static_family].tolist()
    dynamic = [x for x in summary.index if x not in static]
    diffs = paired_differences(table, reference)
    margins = frontier_margins(table, static, dynamic)
    out = summary[["family", "seeds", "macs", "n", "mean", "std"]].rename(
        columns={"mean": "test_acc", "std": "test_acc_std"})
    out["params"] = table.groupby("label")["params"].first().reindex(out.index)
    # Each dynamic model's paired control: the static model nearest in (log) MACs
    # (results/README.md, "The headline gated model, chosen on a hold-out").
    out["nearest_static"] = [min(static, key=lambda s: abs(np.log(summary.loc[s, "macs"] / row["macs"])))
                             if label in dynamic and static else None
                             for label, row in summary.iterrows()]
    nearest = pd.concat([paired_differences(table[table["label"].isin([label, control])], control)
                         for label, control in out["nearest_static"].dropna().items()]
                        or [paired_differences(table.iloc[:0], reference)])
    for prefix, part in [("delta", diffs), ("margin", margins), ("nearest", nearest)]:
        for col in ["seeds", "n", "mean", "ci_low", "ci_high"]:
            out[f"{prefix}_{col}"] = part[col].reindex(out.index)
    # static models first (costliest first), then each dynamic family in order of cost
    key = [(label not in static, row["family"] if label not in static else "", -row["macs"]
            if label in static else row["macs"]) for label, row in out.iterrows()]
    return out.iloc[sorted(range(len(out)), key=key.__getitem__)]


def sign_digits(value: float, digits: int = 2) -> str:
    """``value`` with its sign at ``digits`` decimals, or at one significant digit where a value
    other than 0 would print as zero: an interval bound just below 0 reads "-0.0004", not
    "-0.000"."""
    text = f"{value:+.{digits}f}"
    if value == 0 or value != value or float(text) != 0:
        return text
    return np.format_float_positional(value, precision=1, fractional=False, sign=True)


def difference_text(found: dict, digits: int = 2, unit: str = "") -> str:
    """A difference and its 95% interval from ``interval``'s dict: "-0.004× [-0.007, -0.0004]"
    (``unit`` "×", 3 digits); the difference alone with fewer than two values."""
    text = f"{sign_digits(found['mean'], digits)}{unit}"
    if not found["n"] >= 2:
        return text
    return f"{text} [{sign_digits(found['ci_low'], digits)}, {sign_digits(found['ci_high'], digits)}]"


def signed(row, prefix: str, note: str = "") -> str:
    """A difference over seeds: "+0.43 [-0.84, +1.69]", "+0.47 (seed 0 only)" (the one seed both
    sides have; "(1 seed)" where the row does not say which) or "–"; a one-seed difference's ``note``
    joins its parenthesis: "+0.47 (seed 0 only; <note>)"."""
    n, mean = row[f"{prefix}_n"], row[f"{prefix}_mean"]
    if n != n or n == 0:
        return "–"
    if n < 2:
        which = row.get(f"{prefix}_seeds")
        seed = f"seed {which} only" if isinstance(which, str) and which else "1 seed"
        return f"{mean:+.2f} (" + "; ".join(filter(None, [seed, note])) + ")"
    return difference_text({key: row[f"{prefix}_{key}"] for key in ("n", "mean", "ci_low", "ci_high")})


def signed_points(row, prefix: str, note: str = "") -> str:
    """``signed`` in a sentence, its unit before its parenthesis: "+0.43 [-0.84, +1.69] points
    (<note>)", "+0.08 points (seed 0 only; <note>)"; "–" without a difference."""
    value, _, seed_note = signed(row, prefix).partition(" (")
    notes = "; ".join(filter(None, [seed_note.removesuffix(")"), note]))
    return value if value == "–" else f"{value} points" + (f" ({notes})" if notes else "")


def overview_markdown(over: pd.DataFrame, reference_macs: float) -> str:
    """``overview``'s table for readers: accuracy as mean ± std, differences with their 95%
    interval (Student's t over seeds), "1 seed" where there is no interval."""
    lines = ["| model | seeds | MACs (avg executed) | of ResNet-20 | test acc (%) | paired Δ vs "
             "ResNet-20 (points) [95% CI] | paired Δ vs the static model nearest in MACs [95% CI] | "
             "vs static frontier at its MACs (points) [95% CI] |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for label, row in over.iterrows():
        nearest = (f"{signed(row, 'nearest')} ({row['nearest_static']})"
                   if isinstance(row["nearest_static"], str) else "–")
        lines.append(f"| {label} | {row['seeds']} | {row['macs'] / 1e6:.2f}M | "
                     f"{100 * row['macs'] / reference_macs:.1f}% | "
                     f"{plus_minus(row['test_acc'], row['test_acc_std'])} | {signed(row, 'delta')} | "
                     f"{nearest} | {signed(row, 'margin')} |")
    return "\n".join(lines)


# Why a model has no margin over the static frontier: the frontier is never extrapolated.
OUTSIDE_FRONTIER = "outside the MACs of the static widths trained on the same seed"

# What a difference's 95% interval supports, and the reason printed beside it.
VERDICTS = {"no comparison": "", "one seed": "no interval", "ahead": "95% CI above 0",
            "behind": "95% CI below 0", "not distinguishable": "95% CI spans 0"}


def interval_word(n: float, low: float, high: float) -> str:
    """One of ``VERDICTS`` for a difference over ``n`` paired seeds with 95% interval [``low``,
    ``high``]: ahead or behind when the interval excludes 0, otherwise not distinguishable; with
    one seed or none, no verdict."""
    if n != n or n == 0:
        return "no comparison"
    if n < 2:
        return "one seed"
    return "ahead" if low > 0 else "behind" if high < 0 else "not distinguishable"


def verdict_word(row, prefix: str) -> str:
    """``interval_word`` of an ``overview`` row's difference (``prefix`` "delta" or "margin"; also
    a ``d_``-prefixed comparison dict)."""
    return interval_word(row[f"{prefix}_n"], row[f"{prefix}_ci_low"], row[f"{prefix}_ci_high"])


def verdict(row, prefix: str) -> str:
    """``verdict_word`` with its reason: "ahead (95% CI above 0)", "one seed: no interval"."""
    word = verdict_word(row, prefix)
    if word == "no comparison" and prefix == "margin":
        return f"{word} ({OUTSIDE_FRONTIER})"
    reason = VERDICTS[word]
    return word if not reason else f"{word}: {reason}" if word == "one seed" else f"{word} ({reason})"
