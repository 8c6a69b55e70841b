"""Run bookkeeping: what a run folder under ``results/`` holds, how it is named, locked,
saved, resumed and listed. The training itself is ``common.train``.

A run lives in ``results/<run name>/``:

* ``config.json``   the configuration and data source that identify the run
* ``history.csv``   one row per epoch (train/test loss and accuracy, lr, seconds, device, precision)
* ``checkpoints/last.pt``  written after every epoch, deleted when the run finishes; a rerun
  resumes from it (not git-ignored, so a workspace that keeps only git-visible files keeps it)
* ``checkpoints/train.lock``  held while a process trains the run (``training_lock``)
* ``model.pt`` and ``metrics.json``  once the run has finished (``metrics.json`` last);
  ``load_model`` rebuilds the trained model from them

A run file that cannot be read (truncated, corrupt, or ``config.json`` missing beside a
``metrics.json``) stops whatever reads it with a ``RunFileError``: one line naming the file and
what to do. Nothing skips it, because a table or README built without that run would silently
disagree with ``results/``.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import fcntl
import hashlib
import io
import json
import os
import platform
from pathlib import Path
from typing import Optional

import pandas as pd
import torch
import torch.nn as nn

from .config import TrainConfig
from .models import build_model
from .paths import REPO_ROOT, RESULTS_DIR, portable
from .tables import counted

CONFIG_FILE, WEIGHTS_FILE = "config.json", "model.pt"
HISTORY_FILE, METRICS_FILE = "history.csv", "metrics.json"
CHECKPOINT = Path("checkpoints") / "last.pt"
LOCK = Path("checkpoints") / "train.lock"


class RunFileError(ValueError):
    """A file of a run folder that cannot be read; the message names it and the fix."""

    def __init__(self, path: Path, problem: str):
        self.path = Path(path)
        # repository-relative inside the repository, as the git command needs it from its root
        shown = Path(portable(self.path)) if REPO_ROOT in self.path.resolve().parents else self.path
        super().__init__(
            f"{shown} {problem}: restore it (`git checkout -- {shown}` if it is committed) "
            f"or delete the run folder {shown.parent} to train the run again")


def read_json(path: str | Path) -> dict:
    """A run's ``config.json`` or ``metrics.json``; a ``RunFileError`` if it is missing or not
    valid JSON."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise RunFileError(path, "is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RunFileError(path, f"is not valid JSON ({err}), e.g. truncated") from None


def config_hash(config: TrainConfig, data_source: dict) -> str:
    """A run's identity in 8 hex digits: every setting of ``config`` and the data's fingerprint."""
    identity = {**dataclasses.asdict(config), "data_fingerprint": data_source["fingerprint"]}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:8]


def run_prefix(config: TrainConfig) -> str:
    """The readable part of a run's folder name: model and its settings, profile, seed."""
    kwargs = "".join(f"_{k}{v}" for k, v in sorted(config.model_kwargs.items()))
    return f"{config.model}{kwargs}-{config.profile}-seed{config.seed}"


def run_name(config: TrainConfig, data_source: dict) -> str:
    """Readable, unique folder name: ``run_prefix`` and ``config_hash``."""
    return f"{run_prefix(config)}-{config_hash(config, data_source)}"


def finished_run(config: TrainConfig, data_source: dict, results_dir: str | Path = RESULTS_DIR
                 ) -> Optional[Path]:
    """The folder of the finished run that ``config`` and the data source define, else None."""
    run_dir = Path(results_dir) / run_name(config, data_source)
    return run_dir if (run_dir / METRICS_FILE).exists() else None


def save_atomic(obj, path: Path) -> None:
    """torch.save through a temporary file, so an interrupted write never corrupts ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


def write_history(rows: list[dict], path: Path) -> None:
    """``history.csv`` through a temporary file, so a reader (``--status``) never sees half of it."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        # Union of the rows' keys: a resumed run's newer rows may carry columns older ones lack.
        writer = csv.DictWriter(f, fieldnames=list(dict.fromkeys(k for row in rows for k in row)))
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


def load_checkpoint(path: Path, config_hash: str) -> dict:
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:
        reason = str(err).strip().splitlines()[0]
        raise RuntimeError(f"checkpoint {path} is corrupt ({reason}); delete it to restart this "
                           f"run from scratch, or pass retrain=True.") from err
    if ckpt.get("config_hash") != config_hash:
        raise RuntimeError(f"checkpoint {path} belongs to another configuration; delete it or "
                           f"pass retrain=True.")
    return ckpt


@contextlib.contextmanager
def training_lock(run_dir: Path):
    """Hold an exclusive lock on a run while training it. Two processes training the same run
    (e.g. ``make train-all`` started twice) would overwrite each other's checkpoints; the second
    one gets a clear error instead. The OS releases the lock when its process ends, however it ends.
    """
    path = run_dir / LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            raise RuntimeError(f"run {run_dir.name} is already being trained ({owner}); wait for it "
                               f"(`python -m common.train --status`) or stop that process") from None
        handle.truncate(0)
        handle.write(f"pid {os.getpid()} on {platform.node()}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def is_training(run_dir: Path) -> bool:
    """Whether a live process holds the run's training lock."""
    if not (run_dir / LOCK).exists():
        return False
    with open(run_dir / LOCK) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def clear_run(run_dir: Path) -> None:
    """Delete everything a run has written (``retrain``) except the lock this process holds."""
    keep = {run_dir / LOCK, (run_dir / LOCK).parent}
    for path in sorted(run_dir.rglob("*"), reverse=True):  # a folder's files before the folder
        if path not in keep:
            path.rmdir() if path.is_dir() else path.unlink()


def epochs_per_device(history: list[dict], unrecorded: str) -> dict[str, int]:
    """How many epochs each "device, precision" trained: a run resumed elsewhere (e.g. begun on
    a lent GPU, finished on the CPU) says so. Rows from before the device was recorded count as
    ``unrecorded``."""
    counts: dict[str, int] = {}
    for row in history:
        label = f"{row['device']}, {row['precision']}" if row.get("device") else unrecorded
        counts[label] = counts.get(label, 0) + 1
    return counts


def trained_on(metrics: dict) -> str:
    """The device and precision a finished run trained with, e.g. "AMD EPYC CPU (1 thread),
    bf16"; a run resumed on another device lists its epochs on each, e.g. "18 epochs NVIDIA
    H100, bf16 + 12 epochs AMD EPYC CPU (1 thread), fp32"."""
    per_device = metrics.get("epochs_per_device", {})
    if len(per_device) < 2:
        return _singular(", ".join(filter(None, [metrics["device_name"], metrics.get("precision")])))
    return " + ".join(f"{counted(epochs, 'epoch')} {_singular(device)}" for device, epochs in per_device.items())


def _singular(device: str) -> str:
    # ``config.device_name`` writes "(1 threads)"; runs key their epochs by that exact string,
    # so it is kept in the files and only read as a reader would write it.
    return device.replace("(1 threads)", "(1 thread)")


def load_history(run_dir: str | Path):
    """The per-epoch history of a run as a pandas DataFrame; a ``RunFileError`` if
    ``history.csv`` is not a whole CSV table with an ``epoch`` column (``write_history`` ends
    every row with a newline, so a file cut short ends mid-line)."""
    path = Path(run_dir) / HISTORY_FILE
    try:
        text = path.read_text()
        history = pd.read_csv(io.StringIO(text))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise RunFileError(path, f"is not a readable CSV table ({str(err).strip()})") from None
    if not text.endswith("\n"):
        raise RunFileError(path, "ends mid-line, e.g. truncated")
    if "epoch" not in history or history["epoch"].isna().any():
        raise RunFileError(path, "has no complete epoch column")
    return history


def list_finished_runs(directory: str | Path) -> list[tuple[dict, dict]]:
    """(config, metrics) of every finished run directly under ``directory``, by folder name.
    A run whose ``config.json`` or ``metrics.json`` cannot be read stops the listing with a
    ``RunFileError`` naming the file (see the module docstring): it is not skipped."""
    return [(read_json(path.parent / CONFIG_FILE), read_json(path))
            for path in sorted(Path(directory).glob(f"*/{METRICS_FILE}"))]


def load_metrics(run_dir: str | Path) -> dict:
    """The final metrics of a finished run."""
    path = Path(run_dir) / METRICS_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: the run has not finished; train it.")
    return read_json(path)


def run_progress(run_dir: Path, device: Optional[str] = None) -> dict:
    """Where one run stands: epochs done and planned, state, last accuracy, hours so far, its
    recent speed (median seconds of its last 5 epochs, of those on a device whose name starts with
    ``device`` if given; NaN without one) and the hours left at that speed."""
    config = read_json(run_dir / CONFIG_FILE)
    history = load_history(run_dir) if (run_dir / HISTORY_FILE).exists() else pd.DataFrame()
    score = next((c for c in ("test_acc", "val_acc") if c in history), None)
    last = round(float(history[score].iloc[-1]), 2) if score else None
    finished = (run_dir / METRICS_FILE).exists()
    if finished:  # a finished run's last accuracy is its final one, read (and so checked) here
        metrics = read_json(run_dir / METRICS_FILE)
        last = next((round(metrics[c], 2) for c in ("test_acc", "val_acc") if c in metrics), last)
    left = 0 if finished else config["epochs"] - len(history)
    here = history[history["device"].str.startswith(device)] if device and len(history) else history
    recent = float(here["seconds"].tail(5).median()) if len(here) else float("nan")
    return {
        "epochs": f"{len(history)}/{config['epochs']}",
        "state": ("finished" if finished else "training" if is_training(run_dir)
                  else "stopped, resumable" if (run_dir / CHECKPOINT).exists()
                  else "stopped, no checkpoint: restarts" if len(history) else "not started"),
        "last acc (%)": last,
        "hours": round(float(history["seconds"].sum()) / 3600, 2) if len(history) else 0.0,
        "s/epoch": round(recent, 1), "hours left": round(left * recent / 3600, 1) if left else 0.0}


def run_status(results_dir: str | Path = RESULTS_DIR):
    """Every run under ``results_dir`` (any depth) with its progress (``run_progress``): a
    DataFrame, one row per run, for checking on long background training (``python -m
    common.train --status``)."""
    rows = [{"run": str(path.parent.relative_to(results_dir)), **run_progress(path.parent)}
            for path in sorted(Path(results_dir).rglob(CONFIG_FILE))]
    return pd.DataFrame(rows, columns=["run", "epochs", "state", "last acc (%)", "hours", "s/epoch", "hours left"])


def load_model(run_dir: str | Path, map_location: str | torch.device = "cpu") -> nn.Module:
    """The trained model of a finished run (``results/<run>/``), in eval mode."""
    run_dir = Path(run_dir)
    config_path, weights_path = run_dir / CONFIG_FILE, run_dir / WEIGHTS_FILE
    if not weights_path.exists() or not config_path.exists():
        raise FileNotFoundError(f"{run_dir} is not a finished run (needs {CONFIG_FILE} and "
                                f"{WEIGHTS_FILE}); train it first, e.g. with common.train.")
    config = read_json(config_path)
    model = build_model(config["model"], **config.get("model_kwargs", {}))
    try:
        state = torch.load(weights_path, map_location=map_location, weights_only=True)
        model.load_state_dict(state)
    except Exception as err:
        reason = str(err).strip().splitlines()[0]
        raise RuntimeError(f"{weights_path} is corrupt or does not match model "
                           f"{config['model']!r} ({reason}); delete {run_dir} and retrain.") from err
    return model.eval()
