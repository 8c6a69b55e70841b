"""The study's runs as the notebooks use them: labels, train-or-reuse, and the files they share.

Notebooks 02-05 each need "ResNet-20 plus this family's runs of this profile and seed", under the
same labels (``common.names.run_label``: "ResNet-20", "DY K=4", "gated L0=0.5"); and 05 reads
tables that 02-04 wrote. Both live here once, so a notebook cell is one call. Notebook 04's
attack results and their tables are ``common.attack_results``.
"""

from __future__ import annotations

from pathlib import Path

from .config import TrainConfig
from .data import CifarData
from .manifest import parse_run
from .names import run_label, seed_label
from .runs import finished_run
from .train import train

# Tables one notebook writes and a later step reads (notebook 05, ``common.verdicts``, ``common.findings``),
# under results/tables/: their names live here only, so writer and reader cannot drift apart.
HANDOFF = {
    "attention_tsne": "02_attention_tsne_{profile}_k{k}",
    "attention_similarity": "02_attention_class_similarity_{profile}_k{k}",
    "attention_controls": "02_attention_similarity_controls_{profile}_k{k}",
    "attention_seeds": "02_attention_similarity_seeds_{profile}_k{k}",
    "attention_layers": "02_attention_per_layer_{profile}_k{k}",
    "attention_ablation": "02_attention_ablation_{profile}_k{k}",
    "dy_speed": "02_dy_speed_benchmark",
    "channel_usage": "03_gating_channel_usage_{profile}",
    "gating_input_dependence": "03_gating_input_dependence_{profile}",
    "gating_controls": "03_gating_similarity_controls_{profile}",
    "gating_seeds": "03_gating_similarity_seeds_{profile}",
    "gating_speed": "03_gating_batch1_speed_{profile}",
    "robustness": "04_robustness_long_{profile}",
    "attack_paired": "04_attack_paired_{profile}",
    "energy": "04_energy_{profile}",
    "energy_recovered": "04_energy_saving_recovered_{profile}",
    "energy_adaptive": "04_energy_adaptive_{profile}",
    "energy_strength": "04_energy_strength_{profile}",
    "mac_cap": "04_mac_cap_{profile}",
}


def handoff_name(table: str, **fields) -> str:
    """The file stem of the shared table ``table`` (a key of ``HANDOFF``) of these fields, as
    ``common.tables.save_table`` takes it."""
    if table not in HANDOFF:
        raise KeyError(f"unknown hand-off table {table!r}; known: {sorted(HANDOFF)}")
    return HANDOFF[table].format(**fields)


def handoff_path(tables_dir: str | Path, table: str, **fields) -> Path:
    """Where the shared table ``table`` (a key of ``HANDOFF``) of these fields lives (its CSV)."""
    return Path(tables_dir) / f"{handoff_name(table, **fields)}.csv"


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
        found |= {label if seed == main_seed else seed_label(label, seed): d
                  for label, d in runs_of_seed.items()
                  if not (seed == main_seed and label in main_labels)}
    return found
