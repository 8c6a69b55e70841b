"""Notebook 04's attack results as the study's tables: robustness per model and per image, paired
by image against the ResNet-20 of each seed and over seeds, transfer between runs, the energy
attack on compute and the per-image MAC cap (the attacks themselves are ``common.attacks``).

They are stored under ``results/attacks/`` (``common.tables.cached_table``) keyed by run folder
names and settings, never by labels, and the stored tables name runs by folder too:
``label_runs`` / ``label_matrix`` put the current labels on when they are read, so renaming a
model in ``common.names`` never recomputes an attack.
"""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
import torch.nn as nn

from .attacks import (ENERGY_SETS, Attack, budget_curve, energy_sweep, pgd_attack, robust_per_image,
                      robustness_sweep, transfer_matrix)
from .names import FAMILIES, layer_name, run_label, seed_label, split_seed
from .runs import load_history, load_metrics
from .seeds import interval, seed_frontier
from .selection import frontier_accuracy
from .tables import cached_table


def run_info(run_dir: str | Path) -> dict:
    """A finished run's architecture family ("ResNet-20", "DY-ResNet-20", "gated ResNet-20",
    whatever its recipe settings), model label (``run_label``), seed and per-epoch training
    losses (which tell whether two runs shared their first epochs bit for bit)."""
    m = load_metrics(run_dir)
    return {"family": FAMILIES.get(m["model"], m["model"]),
            "model": run_label(m["model"], m.get("model_kwargs")), "seed": m["seed"],
            "train_loss": tuple(load_history(run_dir)["train_loss"])}


def shared_epochs(a: dict, b: dict) -> int:
    """How many first epochs two runs (``run_info``) trained identically: equal training loss,
    epoch by epoch from the first (e.g. gated runs of other L0 weights until L0 starts)."""
    count = 0
    for loss_a, loss_b in zip(a.get("train_loss", ()), b.get("train_loss", ())):
        if loss_a != loss_b:
            break
        count += 1
    return count


def transfer_relations(matrix: pd.DataFrame, info: dict[str, dict]) -> pd.DataFrame:
    """Every off-diagonal cell of a transfer matrix (source rows, target columns) with how the
    two runs are related (``info``: label -> ``run_info``): "same model, other seed" (same
    architecture and recipe, another training history), "same family, shared epochs" (same
    seed and data order, and bit for bit the same first ``shared_epochs``: e.g. gated runs of
    other L0 weights before L0 starts), "same family, same seed" (own history from the first
    epoch: other K, another schedule or precision), "same family, other seed", "other family";
    ``family`` names the family both belong to ("mixed" across families), so a table can split
    each relation by family."""
    rows = []
    for source in matrix.index:
        for target in matrix.columns:
            if source == target:
                continue
            a, b = info[source], info[target]
            shared = shared_epochs(a, b)
            relation = ("same model, other seed" if a["model"] == b["model"] else
                        "other family" if a["family"] != b["family"] else
                        "same family, shared epochs" if shared else
                        "same family, same seed" if a["seed"] == b["seed"] else
                        "same family, other seed")
            family = a["family"] if a["family"] == b["family"] else "mixed"
            rows.append({"source": source, "target": target, "relation": relation,
                         "family": family, "shared_epochs": shared,
                         "target_acc": float(matrix.loc[source, target])})
    return pd.DataFrame(rows, columns=["source", "target", "relation", "family", "shared_epochs",
                                       "target_acc"])


SHARED = "same family, shared epochs"  # transfer_relations' relation of runs with common first epochs


def transfer_takeaway(relations: pd.DataFrame) -> str:
    """What a ``transfer_relations`` table says about family against shared training: the mean
    target accuracy of runs with shared epochs beside the range of the other within-family
    groups' means, per relation and family (lower: the attack transfers better)."""
    if SHARED not in relations["relation"].values:
        return "No two runs here share training epochs, so this set of runs cannot tell shared history from family."
    within = relations[relations["relation"] != "other family"]
    means = within.groupby(["relation", "family"])["target_acc"].mean()
    shared, others = means.loc[[SHARED]], means.drop(SHARED, level="relation")
    low, high = shared.min(), shared.max()
    value = f"{low:.1f}%" if len(shared) == 1 else f"{low:.1f}–{high:.1f}%"
    if others.empty:
        return f"Runs that share their first epochs: {value}, with no other within-family pair to compare."
    span = f"{others.min():.1f}–{others.max():.1f}%" if len(others) > 1 else f"{others.iloc[0]:.1f}%"
    return (f"Between runs that share their first epochs the target accuracy is {value}, against {span} for the "
            "other within-family groups (mean per relation and family): " + (
                "the attack transfers better between them than between any other runs of one family, so shared "
                "training history, not the family, explains that part of the transfer." if high < others.min() else
                "they do not transfer better than every other within-family group, so shared training history "
                "does not explain the within-family transfer here."))


def strongest_pgd(sweep: pd.DataFrame, eps_255: float) -> pd.Series:
    """Per model, the lowest accuracy of any PGD variant (naive or straight-through, any number
    of steps) at ``eps_255`` in notebook 04's long robustness table: the strongest attack tried."""
    rows = sweep[(sweep["eps_255"] == eps_255) & sweep["attack"].str.startswith("PGD")]
    return rows.groupby("model", sort=False)["robust_acc"].min()


def smallest_attack_eps(sweep: pd.DataFrame) -> float:
    """The smallest non-zero ε (in 1/255) of a robustness sweep: where models can differ, since
    at larger ones PGD can leave every model near 0%."""
    return float(sweep.loc[sweep["eps_255"] > 0, "eps_255"].min())


def run_names(runs: dict[str, Path]) -> dict[str, str]:
    """{run folder name: label} for runs given as {label: run folder}."""
    return {Path(d).name: label for label, d in runs.items()}


def label_runs(table: pd.DataFrame, runs: dict[str, Path], columns=("model", "target")
               ) -> pd.DataFrame:
    """``table`` with the run folder names in ``columns`` (those it has) replaced by the labels
    of ``runs`` ({label: run folder}); other values are kept."""
    names = run_names(runs)
    return table.assign(**{c: table[c].map(lambda v: names.get(v, v)) for c in columns
                           if c in table})


def label_matrix(matrix: pd.DataFrame, runs: dict[str, Path]) -> pd.DataFrame:
    """A stored matrix whose rows and columns are run folder names, in the order of ``runs``
    ({label: run folder}) and under their labels."""
    order = [Path(d).name for d in runs.values()]
    names = run_names(runs)
    return matrix.loc[order, order].rename(index=names, columns=names)


def robustness_table(run_dir: Path, model: nn.Module, images, labels, data_key: dict,
                     eps_255, pgd_steps, straight_through: bool, cache_dir: Path,
                     seed: int = 0, device="cpu", recompute: bool = False,
                     progress: bool = True) -> pd.DataFrame:
    """``common.attacks.robustness_sweep`` of one run (column ``model``: its folder name; column
    ``images``: how many images each accuracy is over), stored as ``sweep-<run>-<hash>`` keyed by
    the run, ``data_key`` (data fingerprint, number of images) and the settings."""
    run = Path(run_dir).name
    key = {**data_key, "seed": seed, "eps_255": list(eps_255), "pgd_steps": list(pgd_steps),
           "run": run, "straight_through": straight_through}
    return cached_table(f"sweep-{run}", key, lambda: robustness_sweep(
        {run: model}, images, labels, [e / 255 for e in eps_255], list(pgd_steps),
        straight_through_models=[run] if straight_through else [], seed=seed, device=device,
        progress=progress), cache_dir, recompute).assign(images=len(labels))


def per_image_table(run_dir: Path, model: nn.Module, images, labels, data_key: dict, eps_255: float,
                    pgd_steps, straight_through: bool, cache_dir: Path, seed: int = 0, device="cpu",
                    recompute: bool = False, progress: bool = True) -> pd.DataFrame:
    """Per attacked image (column ``robust``), whether the run's model survives every PGD variant
    of ``robustness_table`` at ``eps_255`` (PGD-n for each n of ``pgd_steps``, and their
    straight-through versions with ``straight_through``), stored as ``perimage-<run>-<hash>``."""
    run = Path(run_dir).name
    key = {**data_key, "seed": seed, "eps_255": eps_255, "pgd_steps": list(pgd_steps), "run": run,
           "straight_through": straight_through}
    attacks = [pgd_attack(eps_255 / 255, steps, through, stop_when_fooled=True)
               for through in ((False, True) if straight_through else (False,)) for steps in pgd_steps]
    return cached_table(f"perimage-{run}", key, lambda: pd.DataFrame({"robust": robust_per_image(
        model, images, labels, attacks, device=device, seed=seed, progress=progress).numpy()}),
        cache_dir, recompute)


def seed_reference(label: str, reference: str, labels) -> str:
    """The run ``label`` is compared with: ``reference`` at ``label``'s seed ("ResNet-20 (seed 1)"
    for "DY K=4 (seed 1)") where ``labels`` has it, else ``reference`` (the notebook's seed)."""
    seed = split_seed(label)[1]
    same_seed = reference if seed is None else seed_label(reference, seed)
    return same_seed if same_seed in labels else reference


def paired_by_image(robust: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Per model (a column of ``robust``: one bool per image, the same images for every model):
    its robust accuracy (%) and, for every model but ``reference`` and its other seeds, its
    difference from ``reference`` at its own seed (``seed_reference``, named in "paired with")
    paired by image, with a 95% interval (normal approximation for two proportions on the same
    images, from the images only one of the two survives)."""
    n = len(robust)
    rows = []
    for label in robust.columns:
        against = seed_reference(label, reference, robust.columns)
        own, ref = robust[label].astype(bool), robust[against].astype(bool)
        only_own, only_ref = int((own & ~ref).sum()), int((~own & ref).sum())
        d = (only_own - only_ref) / n
        half = 1.96 * np.sqrt(max(only_own + only_ref - n * d ** 2, 0)) / n
        other = label != against
        rows.append({"model": label, "robust acc (%)": 100 * own.mean(),
                     f"Δ vs {reference} (points)": 100 * d if other else np.nan,
                     PAIRED_CI[0]: 100 * (d - half) if other else np.nan,
                     PAIRED_CI[1]: 100 * (d + half) if other else np.nan,
                     "only this model survives": only_own if other else np.nan,
                     f"only {reference} survives": only_ref if other else np.nan,
                     "paired with": against if other else "", "images": n})
    return pd.DataFrame(rows)


def robust_over_seeds(paired: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Per model with at least two seeds in a ``paired_by_image`` table, each paired with
    ``reference`` at its own seed: the differences over those seeds, their mean and Student's t
    95% interval (``seeds.interval``: the seeds are the replicates, the images of each only its
    own error)."""
    split = [split_seed(label) for label in paired["model"]]
    own = [reference if seed is None else seed_label(reference, seed) for _, seed in split]
    same_seed = paired[paired["paired with"] == own]  # the reference's own rows are paired with ""
    base = pd.Series([name for name, _ in split], index=paired.index)[same_seed.index]
    rows = []
    for model, group in same_seed.groupby(base, sort=False):
        if len(group) >= 2:
            found = interval(group[f"Δ vs {reference} (points)"])
            rows.append({"model": model, "seeds": len(group), "Δ mean (points)": found["mean"],
                         PAIRED_CI[0]: found["ci_low"], PAIRED_CI[1]: found["ci_high"]})
    return pd.DataFrame(rows, columns=["model", "seeds", "Δ mean (points)", *PAIRED_CI])


PAIRED_CI = ("95% CI low", "95% CI high")  # the interval columns of ``paired_by_image``


def differing(paired: pd.DataFrame) -> list[str]:
    """The models of a ``paired_by_image`` table whose difference from the reference has a 95%
    interval that excludes 0."""
    low, high = (paired[column] for column in PAIRED_CI)
    return paired.loc[(low > 0) | (high < 0), "model"].tolist()


def direction_words(paired: pd.DataFrame, labels, reference: str, name=str, verb: str = "") -> list[str]:
    """Those of ``labels`` that ``differing`` finds in a ``paired_by_image`` table, as "<name> more
    robust" or "<name> less robust" (than the ``reference`` each is paired with), with ``verb``
    between: "DY K=4 is more robust"."""
    found = differing(paired)
    delta = paired.set_index("model")[f"Δ vs {reference} (points)"]
    return [" ".join(filter(None, [name(label), verb, f"{'more' if delta[label] > 0 else 'less'} robust"]))
            for label in labels if label in found]


def transfer_key(runs: dict[str, Path], data_key: dict, eps_255: float, seed: int = 0) -> dict:
    """What determines a transfer matrix of PGD-10 at ``eps_255``: the runs' folder names
    (sorted: their order is the table's, not the result's), the images and the seed."""
    return {**data_key, "seed": seed, "runs": sorted(Path(d).name for d in runs.values()),
            "transfer_eps_255": eps_255}


def transfer_table(runs: dict[str, Path], models: dict[str, nn.Module], images, labels,
                   data_key: dict, eps_255: float, cache_dir: Path, name: str = "transfer",
                   seed: int = 0, device="cpu", recompute: bool = False,
                   progress: bool = True) -> pd.DataFrame:
    """``common.attacks.transfer_matrix`` of PGD-10 at ``eps_255`` between ``runs`` ({label:
    run folder}; ``models`` by the same labels), stored by run folder (``transfer_key``) and
    returned in the order and under the labels of ``runs``."""
    matrix = cached_table(name, transfer_key(runs, data_key, eps_255, seed), lambda: transfer_matrix(
        {Path(d).name: models[label] for label, d in runs.items()}, images, labels,
        pgd_attack(eps_255 / 255, steps=10), seed=seed, device=device, progress=progress),
        cache_dir, recompute)
    return label_matrix(matrix, runs)


def energy_table(run_dir: Path, model: nn.Module, images, labels, data_key: dict,
                 cache_dir: Path, eps_255, stealthy_eps_255=None, steps: int = 20,
                 restarts: int = 1, step_share: float = 0.25, static_macs: Optional[float] = None,
                 targets: Optional[dict] = None, straight_through: bool = False, seed: int = 0,
                 device="cpu", recompute: bool = False, progress: bool = True) -> pd.DataFrame:
    """``common.attacks.energy_sweep`` of one run (``targets``: {run folder: model} that its
    image sets are also measured on; ``straight_through``: gradients through the gates'
    straight-through relaxation), stored as ``energy-<run>-<hash>`` keyed by run folder names
    and settings; column ``model`` is the run's folder name, ``target`` the target's."""
    run, targets = Path(run_dir).name, {Path(d).name: m for d, m in (targets or {}).items()}
    key = {**data_key, "seed": seed, "run": run, "eps_255": list(eps_255),
           "stealthy_eps_255": None if stealthy_eps_255 is None else list(stealthy_eps_255),
           "steps": steps, "restarts": restarts, "step_share": step_share,
           "static_macs": static_macs, "targets": sorted(targets),
           **({"straight_through": True} if straight_through else {})}  # older keys stay valid
    table = cached_table(f"energy-{run}", key, lambda: energy_sweep(
        model, images, labels, [e / 255 for e in eps_255], steps, restarts, step_share,
        None if stealthy_eps_255 is None else [e / 255 for e in stealthy_eps_255],
        straight_through=straight_through, static_macs=static_macs, targets=targets, seed=seed,
        device=device, progress=progress),
        cache_dir, recompute)
    return table.assign(model=run)[["model", *table.columns]]


def budget_table(run_dir: Path, model: nn.Module, images, labels, data_key: dict,
                 cache_dir: Path, caps, attack: Optional[Attack] = None, name: str = "budget",
                 seed: int = 0, device="cpu", recompute: bool = False,
                 progress: bool = True) -> pd.DataFrame:
    """``common.attacks.budget_curve`` of one run at ``caps`` (MACs; None: uncapped), stored as
    ``<name>-<run>-<hash>`` keyed by the run's folder name, the caps and the attack's settings;
    column ``model`` is the run's folder name."""
    run = Path(run_dir).name
    key = {**data_key, "seed": seed, "run": run,
           "caps": [None if c is None else float(c) for c in caps],
           "attack": dataclasses.asdict(attack) if attack is not None else None}
    table = cached_table(f"{name}-{run}", key, lambda: budget_curve(
        model, images, labels, caps, attack, seed=seed, device=device, progress=progress),
        cache_dir, recompute)
    return table.assign(model=run)[["model", *table.columns]]


def energy_overview(rows: pd.DataFrame) -> pd.DataFrame:
    """Per model and eps, from ``energy_table`` rows (labelled; the model's own rows): mean,
    median and max executed MACs (M) on clean, noise, energy and stealthy images, the share of
    images above the static network (%), and accuracy (%). Sets not run are NaN."""
    own = rows[rows["target"].isna()]
    out = []
    for model, group in own.groupby("model", sort=False):
        clean = group[group["attack"] == "clean"].iloc[0]
        for eps, at_eps in group[group["attack"] != "clean"].groupby("eps_255", sort=True):
            sets = {"clean": clean, **{r.attack: r for r in at_eps.itertuples()}}
            row = {"model": model, "ε (/255)": eps}
            for stat in ("mean", "median", "max"):
                row |= {f"{stat} MACs {s} (M)": _get(sets, s, f"macs_{stat}") / 1e6
                        for s in ENERGY_SETS}
            row |= {f"above static {s} (%)": _get(sets, s, "above_static") for s in ENERGY_SETS}
            row |= {f"acc {s} (%)": _get(sets, s, "acc") for s in ENERGY_SETS}
            out.append(row)
    return pd.DataFrame(out).rename(columns=lambda c: c.replace("energy stealthy", "stealthy"))


def adaptive_energy(plain: pd.DataFrame, adaptive: pd.DataFrame) -> pd.DataFrame:
    """The energy attack with plain gradients against the adaptive one (gradients through the
    gates' straight-through relaxation), from labelled ``energy_table`` rows: one row per model
    and eps that ``adaptive`` attacked, with the mean executed MACs (M) on clean images and under
    each attack, and each attack's ratio to clean."""
    index = ["model", "ε (/255)"]
    plain, adaptive = (energy_overview(rows).set_index(index) for rows in (plain, adaptive))
    clean = adaptive["mean MACs clean (M)"]
    table = pd.DataFrame({"clean (M)": clean,
                          "energy (M)": plain["mean MACs energy (M)"].reindex(adaptive.index),
                          "adaptive energy (M)": adaptive["mean MACs energy (M)"]})
    table["energy / clean"] = table["energy (M)"] / clean
    table["adaptive / clean"] = table["adaptive energy (M)"] / clean
    return table.reset_index()


def adaptive_gap(table: pd.DataFrame) -> dict:
    """``seeds.interval`` of the adaptive attack's ratio minus the plain one's, paired by seed, from
    an ``adaptive_energy`` table (as stored: notebook 04 and the findings read the same CSV)."""
    return interval(table["adaptive / clean"] - table["energy / clean"])


def energy_strength(run_dir: Path, model: nn.Module, images, labels, data_key: dict,
                    cache_dir: Path, eps_255: float, settings: list[dict], seed: int = 0,
                    device="cpu", recompute: bool = False, progress: bool = True) -> pd.DataFrame:
    """How the energy attack's result grows with its effort: one ``energy_table`` of ``run_dir``
    at ``eps_255`` per entry of ``settings`` (``steps``, ``restarts``, ``straight_through``; the
    defaults of ``energy_table`` where absent), each stored as usual. One row per setting: the
    setting, mean executed MACs (M) clean and attacked, their ratio, and the seconds it took."""
    defaults = {name: parameter.default for name, parameter in
                inspect.signature(energy_table).parameters.items()}
    rows = []
    for setting in settings:
        setting = {name: setting.get(name, defaults[name])
                   for name in ("steps", "restarts", "straight_through")}
        table = energy_table(run_dir, model, images, labels, data_key, cache_dir, [eps_255], [],
                             seed=seed, device=device, recompute=recompute, progress=progress,
                             **setting)
        own = table[table["target"].isna()].set_index("attack")
        rows.append({"steps": setting["steps"], "restarts": setting["restarts"],
                     "straight-through": setting["straight_through"],
                     "clean (M)": own.loc["clean", "macs_mean"] / 1e6,
                     "attacked (M)": own.loc["energy", "macs_mean"] / 1e6,
                     "attacked / clean": own.loc["energy", "macs_mean"] / own.loc["clean", "macs_mean"],
                     "seconds": own.loc["energy", "seconds"]})
    return pd.DataFrame(rows)


def measured_on(rows: pd.DataFrame, targets, source: str) -> pd.DataFrame:
    """The image sets of ``source`` (labelled ``energy_table`` rows) as measured on each of
    ``targets``, as the targets' own rows (``model`` the target, ``target`` NaN): e.g. a model
    without gates, which has no energy attack of its own, on the images that attack a gated one."""
    picked = rows[(rows["model"] == source) & rows["target"].isin(list(targets))]
    return picked.assign(model=picked["target"], target=np.nan)


def _get(sets: dict, name: str, column: str) -> float:
    row = sets.get(name)
    return float(getattr(row, column)) if row is not None else np.nan



def saving_recovered(rows: pd.DataFrame, reference_macs: float, eps_255: float,
                     attack: str = "energy") -> pd.Series:
    """Per model (labelled ``energy_table`` rows, own rows): the share of its saving that
    ``attack`` at ``eps_255`` takes back, (attacked - clean) / (``reference_macs`` - clean),
    on the mean executed MACs."""
    own = rows[rows["target"].isna()]
    clean = own[own["attack"] == "clean"].set_index("model")["macs_mean"]
    attacked = own[(own["attack"] == attack) & (own["eps_255"] == eps_255)].set_index("model")[
        "macs_mean"]
    return ((attacked - clean) / (reference_macs - clean)).dropna().rename("saving recovered")


def energy_transfer(rows: pd.DataFrame) -> pd.DataFrame:
    """Black-box energy attacks from labelled ``energy_table`` rows: per source model, target
    model (another run the images were measured on) and eps, the target's mean executed MACs on
    clean images and on the source's energy images, and what the white-box attack on the
    target itself reached (NaN where the target was not attacked)."""
    own = rows[rows["target"].isna()]
    white = own[own["attack"] == "energy"].set_index(["model", "eps_255"])["macs_mean"]
    transfer = rows[rows["target"].notna()]
    clean = transfer[transfer["attack"] == "clean"].set_index(["model", "target"])["macs_mean"]
    out = []
    for r in transfer[transfer["attack"] == "energy"].itertuples():
        base = clean.loc[(r.model, r.target)]
        out.append({"source": r.model, "target": r.target, "ε (/255)": r.eps_255,
                    "target clean MACs (M)": base / 1e6, "transferred MACs (M)": r.macs_mean / 1e6,
                    "white-box MACs (M)": white.get((r.target, r.eps_255), np.nan) / 1e6,
                    "target acc (%)": r.acc})
    table = pd.DataFrame(out)
    if len(table):
        table["transferred / clean"] = table["transferred MACs (M)"] / table["target clean MACs (M)"]
        table["share of white-box gain"] = ((table["transferred MACs (M)"] - table["target clean MACs (M)"])
                                            / (table["white-box MACs (M)"] - table["target clean MACs (M)"]))
    return table


def gate_shift(rows: pd.DataFrame, model: str, eps_255: float) -> pd.DataFrame:
    """Per gated block of ``model`` (labelled ``energy_table`` rows, own rows; short block
    names, "s2.b1"): its mean gate on-rate on clean, noise, energy and stealthy images at
    ``eps_255`` (those run)."""
    own = rows[rows["target"].isna() & (rows["model"] == model)]
    sets = own[(own["attack"] == "clean") | (own["eps_255"] == eps_255)]
    blocks = [c for c in rows.columns if c.startswith("on ")]
    table = sets.set_index("attack")[blocks].T
    table.index = [layer_name(b.removeprefix("on ")) for b in blocks]
    return table.rename_axis("block")


def budget_summary(clean: pd.DataFrame, attacked: pd.DataFrame, base_macs: dict[str, float],
                   static: pd.DataFrame, model_seeds: dict[str, int]) -> pd.DataFrame:
    """Per cap, over models (seeds of one model): ``budget_table`` rows on clean images
    (``clean``: the uncapped row, cap NaN, is the reference) and under an attack made against
    the capped model (``attacked``), with each cap as a multiple of the model's ``base_macs``
    (its mean executed MACs). Columns: ``multiple``, ``n`` (models), and mean / std over them
    of ``cap``, the clean MACs (mean, max), ``acc`` and ``delta_acc`` (against the uncapped
    model, paired), ``capped`` (% of images), the attacked MACs (mean, max) and accuracy, and
    ``frontier_acc``, the static frontier's accuracy at the cap (the guaranteed worst case) made
    of the ``static`` runs (``seeds.static_runs``) of the model's seed (``model_seeds``), with
    ``acc_vs_frontier`` = acc - frontier_acc, paired by seed, also as ``acc_vs_frontier_n`` /
    ``_ci_low`` / ``_ci_high`` (95% interval over seeds; NaN with one seed)."""
    rows = []
    for model, group in clean.groupby("model", sort=False):
        uncapped = group[group["cap"].isna()].iloc[0]
        hits = attacked[attacked["model"] == model].set_index("cap")
        points = seed_frontier(static, model_seeds[model])
        for r in group[group["cap"].notna()].itertuples():
            hit = hits.loc[r.cap] if r.cap in hits.index else None
            rows.append({"model": model, "multiple": round(r.cap / base_macs[model], 3),
                         "cap": r.cap, "macs_mean": r.macs_mean, "macs_max": r.macs_max,
                         "acc": r.acc, "delta_acc": r.acc - uncapped["acc"], "capped": r.capped,
                         "uncapped_macs": uncapped["macs_mean"],
                         "attacked_macs_mean": np.nan if hit is None else hit["attacked_macs_mean"],
                         "attacked_macs_max": np.nan if hit is None else hit["attacked_macs_max"],
                         "attacked_acc": np.nan if hit is None else hit["attacked_acc"],
                         "frontier_acc": np.nan if points is None else frontier_accuracy(points, r.cap)[0]})
    per_model = pd.DataFrame(rows)
    per_model["acc_vs_frontier"] = per_model["acc"] - per_model["frontier_acc"]
    values = [c for c in per_model.columns if c not in ("model", "multiple")]
    grouped = per_model.groupby("multiple")
    summary = grouped[values].mean().add_suffix("_mean").join(grouped[values].std().add_suffix("_std"))
    gap = pd.DataFrame({multiple: interval(runs["acc_vs_frontier"]) for multiple, runs in grouped}).T
    summary = summary.join(gap[["n", "ci_low", "ci_high"]].add_prefix("acc_vs_frontier_"))
    return summary.assign(n=grouped.size()).reset_index()
