"""The benchmark store: results/benchmarks/*.json (written by ``common.bench``, read by the
notebooks and the sweep) and the rules derived from them: how many runs share a GPU, and where a
compiled training step pays on the CPU.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .config import COMPILE_DECISIONS, MIN_COMPILE_GAIN, compile_decisions
from .names import throughput_label
from .paths import BENCH_DIR


def record_compile_decisions(result: dict, path: Path = COMPILE_DECISIONS) -> dict:
    """Add a CPU ``trainer_speed`` result's decisions to ``path`` (``common.config``'s cache,
    read by ``resolve_compile``): per model family, compile where the compiled step is at least
    ``MIN_COMPILE_GAIN`` x as fast as the eager one. Returns this machine's decisions."""
    compiled = [row for row in result["rows"] if row["compiled"]]
    machine = {row["model_name"]: {
        "speedup": round(1 / row["time_vs_device_eager"], 3),
        "compile": 1 / row["time_vs_device_eager"] >= MIN_COMPILE_GAIN,
        "compile_seconds": row["compile_seconds"], "measured_as": row["model"],
        "date": result["provenance"]["date"]} for row in compiled}
    decisions = compile_decisions(path)
    decisions[f"{result['device']}, {compiled[0]['precision']}"] = machine
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(decisions, indent=2, sort_keys=True))
    return machine


def runs_per_device(result: dict, share_of_best: float = 0.9) -> int:
    """The rule: the fewest concurrent runs whose aggregate images/s reaches ``share_of_best``
    of the best aggregate measured (more runs than that add waiting, not throughput)."""
    best = max(row["aggregate_images_per_s"] for row in result["rows"])
    return min(row["runs"] for row in result["rows"]
               if row["aggregate_images_per_s"] >= share_of_best * best)


def write(result: dict, name: str, out_dir: Path = BENCH_DIR) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"wrote {path}")
    return path


def load(name: str, bench_dir: str | Path = BENCH_DIR) -> dict:
    """A benchmark written by ``write`` (e.g. ``"dynamic_conv_throughput"``)."""
    path = Path(bench_dir) / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"no benchmark {path}: write it with `make bench` or the "
                                f"`python -m common.bench` command that makes it (see --help)")
    return json.loads(path.read_text())


def vs_reference(result: dict, model: str, mode: str, batch_size: int) -> float:
    """One model's images/s over the reference's in one setting of a throughput benchmark."""
    matches = [row["vs_reference"] for row in result["rows"]
               if (row["model"], row["mode"], row["batch_size"]) == (model, mode, batch_size)]
    if len(matches) != 1:
        raise KeyError(f"{len(matches)} rows for {model!r}, {mode}, batch {batch_size} in the "
                       f"benchmark (models: {sorted({row['model'] for row in result['rows']})})")
    return matches[0]


def ratio_table(result: dict) -> pd.DataFrame:
    """A throughput benchmark as a table: one row per model (``names.throughput_label``), one column per
    setting ("train, batch 128" ...), each cell the model's images/s over the reference's (median of
    rounds)."""
    rows = pd.DataFrame(result["rows"])
    rows["model"] = rows["model"].map(throughput_label)
    rows["setting"] = rows["mode"] + ", batch " + rows["batch_size"].astype(str) + " (" + rows["precision"] + ")"
    table = rows.pivot_table(index="model", columns="setting", values="vs_reference", sort=False)
    table.columns.name = f"images/s vs {throughput_label(result['reference'])}"
    return table
