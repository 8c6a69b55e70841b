"""The study's runs as the notebooks use them: labels, train-or-reuse, and the files they share.

Notebooks 02-05 each need "ResNet-20 plus this family's runs of this profile and seed", under the
same labels (``common.names.run_label``: "ResNet-20", "DY K=4", "gated L0=0.5"); and 05 reads
tables that 02-04 wrote. Both live here once, so a notebook cell is one call.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .config import TrainConfig
from .data import CifarData
from .manifest import parse_run
from .names import FAMILIES, run_label
from .runs import finished_run, load_history, load_metrics
from .train import train

# Tables one notebook writes for a later one (under results/tables/), named once.
HANDOFF = {
    "attention_tsne": "02_attention_tsne_{profile}_k{k}.csv",
    "attention_similarity": "02_attention_class_similarity_{profile}_k{k}.csv",
    "channel_usage": "03_gating_channel_usage_{profile}.csv",
    "robustness": "04_robustness_long_{profile}.csv",
}

def handoff_path(tables_dir: str | Path, table: str, **fields) -> Path:
    """Where the shared table ``table`` (a key of ``HANDOFF``) of these fields lives."""
    if table not in HANDOFF:
        raise KeyError(f"unknown hand-off table {table!r}; known: {sorted(HANDOFF)}")
    return Path(tables_dir) / HANDOFF[table].format(**fields)


def study_specs(kernels=(), l0_weights=()) -> dict[str, tuple[str, dict]]:
    """{label: (model, kwargs)}: ResNet-20, DY-ResNet-20 per K, gated ResNet-20 per L0 weight."""
    specs = {run_label("resnet20"): ("resnet20", {})}
    specs |= {run_label("dy_resnet20", {"num_kernels": k}): ("dy_resnet20", {"num_kernels": k})
              for k in kernels}
    specs |= {run_label("gated_resnet20", {"l0_weight": w}): ("gated_resnet20", {"l0_weight": w})
              for w in l0_weights}
    return specs


def train_runs(specs: dict[str, tuple[str, dict]], data: CifarData, profile: str, seed: int,
               results_dir: str | Path, device: str = "auto", retrain: bool = False
               ) -> dict[str, Path]:
    """Train, resume or reuse every run of ``specs`` (same profile, recipe and seed); their
    folders by label."""
    return {label: train(TrainConfig.from_profile(profile, model=model, model_kwargs=kwargs,
                                                  seed=seed), data, results_dir, device, retrain)
            for label, (model, kwargs) in specs.items()}


def finished_runs(specs: dict[str, tuple[str, dict]], data: CifarData, profile: str, seed: int,
                  results_dir: str | Path) -> tuple[dict[str, Path], list[str]]:
    """The finished runs of ``specs`` by label, and the labels that have none (not trained)."""
    found, missing = {}, []
    for label, (model, kwargs) in specs.items():
        config = TrainConfig.from_profile(profile, model=model, model_kwargs=kwargs, seed=seed)
        run_dir = finished_run(config, data.source, results_dir)
        if run_dir:
            found[label] = run_dir
        else:
            missing.append(label)
    return found, missing


def seed_replicates(runs: list[str], seeds, data: CifarData, profile: str,
                    results_dir: str | Path, main_seed: int, main_labels=()) -> dict[str, Path]:
    """The finished runs of ``runs`` (sweep names: "resnet20", "dy4", "model:{json kwargs}") at
    each of ``seeds``, labelled "<label> (seed s)", or plain "<label>" at ``main_seed``; runs
    the notebook already has (``main_labels`` at ``main_seed``) are left out. The same models with
    another training history, for controls."""
    specs = {run_label(*parse_run(run)): parse_run(run) for run in runs}
    found = {}
    for seed in seeds:
        runs_of_seed, _ = finished_runs(specs, data, profile, seed, results_dir)
        found |= {label if seed == main_seed else f"{label} (seed {seed})": d
                  for label, d in runs_of_seed.items()
                  if not (seed == main_seed and label in main_labels)}
    return found


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


def strongest_pgd(sweep: pd.DataFrame, eps_255: float) -> pd.Series:
    """Per model, the lowest accuracy of any PGD variant (naive or straight-through, any number
    of steps) at ``eps_255`` in notebook 04's long robustness table: the strongest attack tried."""
    rows = sweep[(sweep["eps_255"] == eps_255) & sweep["attack"].str.startswith("PGD")]
    return rows.groupby("model", sort=False)["robust_acc"].min()


def smallest_attack_eps(sweep: pd.DataFrame) -> float:
    """The smallest non-zero ε (in 1/255) of a robustness sweep: at larger ones PGD drives every
    model here to ~0%, so that is where models can differ."""
    return float(sweep.loc[sweep["eps_255"] > 0, "eps_255"].min())
