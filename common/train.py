"""Training: one resumable, reproducible recipe for every model of the project.

SGD (momentum 0.9, Nesterov), weight decay on conv/linear weights only (modules with an
``apply_weight_decay_`` method decay their own parameters, see ``make_optimizer``), linear
warm-up then cosine decay per iteration, batch 128, optional label smoothing, bf16 autocast and
channels_last. A run lives in ``results/<run name>/``:

* ``config.json``   the configuration and data source that identify the run
* ``history.csv``   one row per epoch (train/test loss and accuracy, lr, seconds, device, precision)
* ``checkpoints/last.pt``  written after every epoch; git-ignored; a rerun resumes from it
* ``checkpoints/train.lock``  held while a process trains the run (``training_lock``)
* ``model.pt`` and ``metrics.json``  once the run has finished

A finished run is reused, not retrained, unless ``retrain=True``.

Command line (e.g. for a long run in the background)::

    python -m common.train --model resnet20 --profile full --data ../shared/data/cifar10-jpeg.tar.gz
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import fcntl
import hashlib
import json
import math
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from .data import (CifarData, evaluate, iterate_batches, load_cifar10, random_partition,
                   to_float)
from .flops import count_macs, count_params, gating_statistics
from .models import CONFIG_FILE, WEIGHTS_FILE, build_model, model_settings
from .paths import RESULTS_DIR, portable

# Profiles: how much data and how many epochs. `smoke` is what tests and CI run.
PROFILES = {
    "smoke": dict(epochs=2, train_size=2000),
    "full": dict(epochs=30, train_size=None),
    "paper": dict(epochs=200, train_size=None),
}
PRECISIONS = ("auto", "bf16", "fp32")
HISTORY_FILE, METRICS_FILE = "history.csv", "metrics.json"
CHECKPOINT = Path("checkpoints") / "last.pt"
LOCK = Path("checkpoints") / "train.lock"


@dataclass
class TrainConfig:
    """Everything that defines a training run (and therefore its identity)."""

    model: str = "resnet20"
    model_kwargs: dict = field(default_factory=dict)
    profile: str = "smoke"
    epochs: int = PROFILES["smoke"]["epochs"]
    train_size: Optional[int] = PROFILES["smoke"]["train_size"]  # None: every training image
    holdout: int = 0  # training images held out as a validation set, for choosing settings
    batch_size: int = 128
    lr: float = 0.2  # peak; chosen on a training hold-out (results/recipe_selection/)
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.0
    # Training arithmetic: "auto" is bf16 autocast where the hardware has native bf16 (recent
    # GPUs, CPUs with AVX512-BF16/AMX), else fp32. Evaluation always runs in fp32.
    precision: str = "auto"
    seed: int = 0

    @classmethod
    def from_profile(cls, profile: str, **overrides) -> "TrainConfig":
        """The configuration of a profile (``smoke``, ``full``, ``paper``) with overrides."""
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; choose one of {list(PROFILES)}")
        return cls(profile=profile, **{**PROFILES[profile], **overrides})

    def __post_init__(self):
        problems = []
        if self.epochs < 1:
            problems.append(f"epochs must be >= 1 (got {self.epochs})")
        if self.batch_size < 1:
            problems.append(f"batch_size must be >= 1 (got {self.batch_size})")
        if self.train_size is not None and self.train_size < 1:
            problems.append(f"train_size must be >= 1 or None (got {self.train_size})")
        if self.holdout < 0:
            problems.append(f"holdout must be >= 0 (got {self.holdout})")
        if self.lr <= 0 or self.weight_decay < 0 or self.warmup_epochs < 0:
            problems.append("lr must be > 0, weight_decay and warmup_epochs >= 0")
        if not 0 <= self.label_smoothing < 1:
            problems.append(f"label_smoothing must be in [0, 1) (got {self.label_smoothing})")
        if self.precision not in PRECISIONS:
            problems.append(f"precision must be one of {PRECISIONS} (got {self.precision!r})")
        if problems:
            raise ValueError("bad TrainConfig: " + "; ".join(problems))


def run_name(config: TrainConfig, data_source: dict) -> str:
    """Readable, unique folder name: model, profile, seed and a hash of everything else."""
    identity = {**dataclasses.asdict(config), "data_fingerprint": data_source["fingerprint"]}
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:8]
    kwargs = "".join(f"_{k}{v}" for k, v in sorted(config.model_kwargs.items()))
    return f"{config.model}{kwargs}-{config.profile}-seed{config.seed}-{digest}"


def finished_run(config: TrainConfig, data_source: dict, results_dir: str | Path = RESULTS_DIR
                 ) -> Optional[Path]:
    """The folder of the finished run that ``config`` and the data source define, else None."""
    run_dir = Path(results_dir) / run_name(config, data_source)
    return run_dir if (run_dir / METRICS_FILE).exists() else None


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present, else the CPU."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but no GPU is visible; use 'cpu' or 'auto'")
    return torch.device(device)


def has_fast_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bf16 natively (emulated bf16 on an AVX2 CPU is ~10x slower)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto`` -> ``bf16`` where it is native on ``device``, else ``fp32``."""
    if precision == "auto":
        return "bf16" if has_fast_bf16(device) else "fp32"
    return precision


def autocast(device: torch.device, precision: str):
    """bf16 autocast context (a no-op for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def lr_at(step: int, total_steps: int, warmup_steps: int, peak: float) -> float:
    """Linear warm-up to ``peak`` over ``warmup_steps``, then cosine decay to 0."""
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return peak * 0.5 * (1 + math.cos(math.pi * progress))


def to_device(model: nn.Module, device: torch.device) -> nn.Module:
    """Move ``model`` to ``device`` with its 4-D weights channels_last (faster convolutions).

    ``Module.to(memory_format=...)`` refuses models with 5-D weights (dynamic convolution's
    kernel bank), so the layout is set per tensor.
    """
    model = model.to(device)
    for p in model.parameters():
        if p.ndim == 4:
            p.data = p.data.contiguous(memory_format=torch.channels_last)
    return model


def self_decaying_modules(model: nn.Module) -> list[nn.Module]:
    """Modules that apply their own weight decay (``apply_weight_decay_``), e.g. dynamic
    convolution, which must not decay its kernels one by one."""
    return [m for m in model.modules() if hasattr(m, "apply_weight_decay_")]


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """SGD with weight decay on conv/linear weights only (not BN weights or biases), except in
    modules that decay their own parameters (see ``self_decaying_modules``): the optimizer
    leaves those out of its decay and has them add their own at the start of every step."""
    self_decaying = self_decaying_modules(model)
    own = {id(p) for m in self_decaying for p in m.parameters()}
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim > 1 and id(p) not in own]
    no_decay = [p for p in params if p.ndim <= 1 or id(p) in own]
    optimizer = torch.optim.SGD([{"params": decay, "weight_decay": config.weight_decay},
                                 {"params": no_decay, "weight_decay": 0.0}],
                                lr=config.lr, momentum=config.momentum, nesterov=config.nesterov)
    if self_decaying:
        def decay_own_parameters(optimizer, args, kwargs):
            for module in self_decaying:
                module.apply_weight_decay_(config.weight_decay)
        optimizer.register_step_pre_hook(decay_own_parameters)
    return optimizer


def training_size(config: TrainConfig, n: int) -> int:
    """How many of ``n`` training images ``config`` trains on (the rest of a hold-out split,
    or ``train_size``)."""
    return n - config.holdout if config.train_size is None else config.train_size


def split_training_data(data: CifarData, config: TrainConfig):
    """(train images, train labels, holdout images, holdout labels) for this config."""
    n = len(data.train_labels)
    n_train = training_size(config, n)
    if n_train < 1 or n_train + config.holdout > n:
        raise ValueError(f"train_size {config.train_size} + holdout {config.holdout} exceeds the "
                         f"{n} training images of {data.source['name']}")
    holdout_idx, train_idx = random_partition(n, [config.holdout, n_train], config.seed)
    return (data.train_images[train_idx], data.train_labels[train_idx],
            data.train_images[holdout_idx], data.train_labels[holdout_idx])


def _save_atomic(obj, path: Path) -> None:
    """torch.save through a temporary file, so an interrupted write never corrupts ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


def _write_history(rows: list[dict], path: Path) -> None:
    with open(path, "w", newline="") as f:
        # Union of the rows' keys: a resumed run's newer rows may carry columns older ones lack.
        writer = csv.DictWriter(f, fieldnames=list(dict.fromkeys(k for row in rows for k in row)))
        writer.writeheader()
        writer.writerows(rows)


def _load_checkpoint(path: Path, config_hash: str) -> dict:
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


def train(config: TrainConfig, data: CifarData, results_dir: str | Path = RESULTS_DIR,
          device: str = "auto", retrain: bool = False, stop_after: Optional[int] = None,
          progress: bool = True) -> Path:
    """Train (or reuse, or resume) the run that ``config`` and ``data`` define; return its folder.

    ``stop_after`` trains at most that many epochs in this call and returns with the checkpoint
    saved (the next call resumes). ``progress`` shows a tqdm bar.
    """
    if not retrain and (finished := finished_run(config, data.source, results_dir)):
        return finished
    run_dir = Path(results_dir) / run_name(config, data.source)
    with training_lock(run_dir):
        if retrain:
            _clear_run(run_dir)
        elif finished_run(config, data.source, results_dir):  # another process just finished it
            return run_dir
        if not (run_dir / CHECKPOINT).exists() and (notice := training_notice(
                config, data, results_dir, resolve_device(device))):
            print(notice, file=sys.stderr, flush=True)
        return _train_run(config, data, run_dir, device, stop_after, progress)


def training_notice(config: TrainConfig, data: CifarData, results_dir: str | Path,
                    dev: torch.device) -> Optional[str]:
    """What a run about to train from scratch will cost, and why it is not reused: said before
    a long (non-smoke) run starts, e.g. from a notebook with another data source than the
    committed results', so the user can pick ``profile="smoke"`` instead. Does not block."""
    if config.profile == "smoke":
        return None
    from .bench import images_per_second  # bench imports this module

    torch.manual_seed(config.seed)
    model = build_model(config.model, **config.model_kwargs)
    speed = images_per_second(model, config.batch_size, resolve_precision(config.precision, dev),
                              "train", dev, min_seconds=1.0)
    images = training_size(config, len(data.train_labels))
    hours = images * config.epochs / speed / 3600
    finished = [json.loads(p.read_text())["data_source"]
                for p in Path(results_dir).glob(f"*/{METRICS_FILE}")]
    others = sorted({s["name"] for s in finished if s["fingerprint"] != data.source["fingerprint"]})
    reason = (f" The finished runs in {portable(results_dir)} were trained on other data "
              f"({', '.join(others)}); {data.source['name']} has another fingerprint, so none "
              f"of them is reused." if others else "")
    return (f"Training {config.model} {config.model_kwargs or ''} from scratch: profile "
            f"'{config.profile}', {config.epochs} epochs on {images:,} images, about {hours:.1f} h "
            f"on {device_name(dev)} (measured now: {speed:.0f} training images/s).{reason} "
            f"For a quick look set profile = \"smoke\" (2,000 images, 2 epochs: minutes).")


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


def _clear_run(run_dir: Path) -> None:
    """Delete everything a run has written (``retrain``) except the lock this process holds."""
    keep = {run_dir / LOCK, (run_dir / LOCK).parent}
    for path in sorted(run_dir.rglob("*"), reverse=True):  # a folder's files before the folder
        if path not in keep:
            path.rmdir() if path.is_dir() else path.unlink()


def fit_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, criterion: nn.Module,
              train_x: torch.Tensor, train_y: torch.Tensor, config: TrainConfig, epoch: int,
              steps_per_epoch: int, total_steps: int, warmup_steps: int, drop_last: bool,
              dev: torch.device, precision: str, bar=None) -> dict[str, float]:
    """One epoch of training, the whole hot loop. Loss, accuracy and regularizer sums stay on
    the device and are read once at the end ({"loss", "correct", "seen", <regularizer terms>},
    sums over images), so no step waits for the host."""
    model.train()
    # Layers with a training schedule (e.g. dynamic convolution's temperature) follow the
    # fractional epoch; their state lives in buffers, so checkpoints carry it. Models with extra
    # losses (channel gating's batch-shaping and L0) return them, weighted, from regularizer().
    scheduled = [m for m in model.modules() if hasattr(m, "update_schedule")]
    regularized = hasattr(model, "regularizer")
    # One generator per epoch: order and augmentation replay exactly after a resume.
    generator = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
    sums = {"loss": torch.zeros((), dtype=torch.float64, device=dev),
            "correct": torch.zeros((), dtype=torch.int64, device=dev)}
    seen = 0
    for i, (x, y) in enumerate(iterate_batches(train_x, train_y, config.batch_size, generator,
                                               augment=True, drop_last=drop_last)):
        lr = lr_at(epoch * steps_per_epoch + i, total_steps, warmup_steps, config.lr)
        for group in optimizer.param_groups:
            group["lr"] = lr
        for module in scheduled:
            module.update_schedule(epoch + i / steps_per_epoch)
        x = to_float(x, dev)
        with autocast(dev, precision):
            logits = model(x)
            loss = criterion(logits.float(), y)
        if regularized:
            terms = model.regularizer((epoch + i / steps_per_epoch) / config.epochs)
            loss = loss + sum(terms.values())
            for name, value in terms.items():
                sums[name] = sums.get(name, 0) + value.detach().double() * len(y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        sums["loss"] += loss.detach().double() * len(y)
        sums["correct"] += (logits.argmax(1) == y).sum()
        seen += len(y)
        if bar is not None:
            bar.update(1)
    return {**{name: float(value) for name, value in sums.items()}, "seen": seen}


def _train_run(config: TrainConfig, data: CifarData, run_dir: Path, device: str,
               stop_after: Optional[int], progress: bool) -> Path:
    """The body of ``train`` for a run folder this process holds the lock of."""
    # model_settings: every model setting in force, defaults included (kwargs name the run).
    config_record = {**dataclasses.asdict(config), "data_source": data.source,
                     "model_settings": model_settings(config.model, **config.model_kwargs),
                     "run": run_dir.name}
    (run_dir / CONFIG_FILE).write_text(json.dumps(config_record, indent=2))
    config_hash = run_dir.name.rsplit("-", 1)[1]

    dev = resolve_device(device)
    precision = resolve_precision(config.precision, dev)
    train_x, train_y, holdout_x, holdout_y = split_training_data(data, config)
    # What each epoch and the end are scored on. A hold-out run exists to choose settings, so it
    # never looks at the test set.
    score_x, score_y, split = ((holdout_x, holdout_y, "val") if config.holdout
                               else (data.test_images, data.test_labels, "test"))
    torch.manual_seed(config.seed)
    model = build_model(config.model, **config.model_kwargs)
    model = to_device(model, dev)
    optimizer = make_optimizer(model, config)
    criterion = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)

    history, start_epoch = [], 0
    if (run_dir / CHECKPOINT).exists():
        ckpt = _load_checkpoint(run_dir / CHECKPOINT, config_hash)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        torch.set_rng_state(ckpt["rng_state"])
        history, start_epoch = ckpt["history"], ckpt["epoch"]

    drop_last = len(train_y) > config.batch_size
    steps_per_epoch = len(train_y) // config.batch_size if drop_last else 1
    total_steps = steps_per_epoch * config.epochs
    warmup_steps = round(config.warmup_epochs * steps_per_epoch)
    end_epoch = config.epochs if stop_after is None else min(config.epochs,
                                                            start_epoch + stop_after)
    bar = tqdm(total=total_steps, initial=start_epoch * steps_per_epoch, disable=not progress,
               desc=run_dir.name, unit="step", mininterval=5, dynamic_ncols=True)
    # The training images live on the training device for the whole run (uint8); each epoch's
    # order, crops and flips still come from a CPU generator, so every device sees the same batches.
    train_x, train_y = train_x.to(dev), train_y.to(dev)
    for epoch in range(start_epoch, end_epoch):
        started = time.perf_counter()
        sums = fit_epoch(model, optimizer, criterion, train_x, train_y, config, epoch,
                         steps_per_epoch, total_steps, warmup_steps, drop_last, dev, precision, bar)
        lr = lr_at((epoch + 1) * steps_per_epoch - 1, total_steps, warmup_steps, config.lr)
        seen = sums.pop("seen")
        row = {"epoch": epoch + 1, "train_loss": sums.pop("loss") / seen,
               "train_acc": 100 * sums.pop("correct") / seen,
               **{f"{name}_loss": total / seen for name, total in sums.items()}}
        scored = evaluate(model, score_x, score_y, dev)
        row.update({f"{split}_loss": scored["loss"], f"{split}_acc": scored["acc"]})
        # Gated models: how conditional the gates are now (why gates end static, issue 16).
        row.update({f"{split}_{k}": v for k, v in gating_statistics(model, score_x, dev).items()})
        row.update(lr=lr, seconds=time.perf_counter() - started,
                   device=device_name(dev), precision=precision)
        history.append(row)
        bar.set_postfix({"epoch": epoch + 1, "loss": f"{row['train_loss']:.3f}",
                         f"{split}_acc": f"{row[f'{split}_acc']:.2f}"})
        _write_history(history, run_dir / HISTORY_FILE)
        _save_atomic({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                      "rng_state": torch.get_rng_state(), "epoch": epoch + 1,
                      "history": history, "config_hash": config_hash}, run_dir / CHECKPOINT)
    bar.close()
    if len(history) < config.epochs:
        return run_dir  # stopped early on purpose; the next call resumes

    model.eval()
    final_train = evaluate(model, train_x, train_y, dev)
    metrics = {
        "model": config.model, "model_kwargs": config.model_kwargs, "profile": config.profile,
        "epochs": config.epochs, "seed": config.seed, "data_source": data.source,
        "train_size": len(train_y), "holdout": config.holdout,
        "params": count_params(model), "macs": count_macs(model),
        "train_acc": final_train["acc"], "train_loss": final_train["loss"],
        "train_seconds": sum(r["seconds"] for r in history),
        "precision": precision, "device": str(dev), "device_name": device_name(dev),
        "epochs_per_device": epochs_per_device(history, f"{device_name(dev)}, {precision}"),
        "torch": torch.__version__, "finished_at": datetime.now(timezone.utc).isoformat(),
        "run": run_dir.name,
    }
    final = evaluate(model, score_x, score_y, dev)
    metrics.update({f"{split}_acc": final["acc"], f"{split}_loss": final["loss"]})
    # Input-dependent compute (channel gating) varies per image, measured with the gates'
    # statistics in one pass; static models cost `macs`.
    metrics.update(gating_statistics(model, score_x, dev))
    metrics["avg_executed_macs"] = metrics.get("macs_mean", metrics["macs"])
    _save_atomic(model.state_dict(), run_dir / WEIGHTS_FILE)
    (run_dir / METRICS_FILE).write_text(json.dumps(metrics, indent=2))  # last: marks "finished"
    return run_dir


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
    """The device a finished run trained on; a run resumed on another device lists its epochs on
    each, e.g. "18 epochs NVIDIA H100, bf16 + 12 epochs AMD EPYC CPU (1 threads), fp32"."""
    per_device = metrics.get("epochs_per_device", {})
    if len(per_device) < 2:
        return metrics["device_name"]
    return " + ".join(f"{epochs} epochs {device}" for device, epochs in per_device.items())


def device_name(dev: torch.device) -> str:
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    cpu = platform.processor() or platform.machine()
    try:  # Linux names the CPU model here; platform.processor() is often empty
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu} CPU ({torch.get_num_threads()} threads)"


def load_history(run_dir: str | Path):
    """The per-epoch history of a run as a pandas DataFrame."""
    import pandas as pd
    return pd.read_csv(Path(run_dir) / HISTORY_FILE)


def load_metrics(run_dir: str | Path) -> dict:
    """The final metrics of a finished run."""
    path = Path(run_dir) / METRICS_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: the run has not finished; train it.")
    return json.loads(path.read_text())


def run_status(results_dir: str | Path = RESULTS_DIR):
    """Every run under ``results_dir`` (any depth) with its progress: a DataFrame, one row per
    run, for checking on long background training (``python -m common.train --status``)."""
    import pandas as pd

    rows = []
    for config_path in sorted(Path(results_dir).rglob(CONFIG_FILE)):
        run_dir = config_path.parent
        config = json.loads(config_path.read_text())
        history = (pd.read_csv(run_dir / HISTORY_FILE) if (run_dir / HISTORY_FILE).exists()
                   else pd.DataFrame())
        score = next((c for c in ("test_acc", "val_acc") if c in history), None)
        finished = (run_dir / METRICS_FILE).exists()
        rows.append({
            "run": str(run_dir.relative_to(results_dir)),
            "epochs": f"{len(history)}/{config['epochs']}",
            "state": ("finished" if finished else "training" if is_training(run_dir)
                      else "stopped, resumable" if len(history) else "not started"),
            "last acc (%)": round(float(history[score].iloc[-1]), 2) if score else None,
            "hours": round(float(history["seconds"].sum()) / 3600, 2) if len(history) else 0.0})
    return pd.DataFrame(rows, columns=["run", "epochs", "state", "last acc (%)", "hours"])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Train (or resume, or reuse) one run.")
    parser.add_argument("--status", action="store_true",
                        help="only list the runs under --results-dir with their progress")
    parser.add_argument("--model", default="resnet20")
    parser.add_argument("--model-kwargs", default="{}", type=json.loads,
                        help='JSON, e.g. \'{"num_kernels": 4}\'')
    parser.add_argument("--profile", default="smoke", choices=list(PROFILES))
    parser.add_argument("--data", default=None, help="CIFAR-10 source (default: $CIFAR10, "
                        "else torchvision)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision", default="auto", choices=PRECISIONS)
    parser.add_argument("--holdout", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None, help="override the profile's epochs")
    parser.add_argument("--lr", type=float, default=None, help="override the peak learning rate")
    parser.add_argument("--label-smoothing", type=float, default=None,
                        help="override the profile's label smoothing")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for this process (e.g. 1 each for two parallel runs)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--results-dir", default=str(RESULTS_DIR))
    parser.add_argument("--retrain", action="store_true")
    parser.add_argument("--stop-after", type=int, default=None,
                        help="train at most this many epochs now; rerun to resume")
    args = parser.parse_args(argv)
    if args.status:
        print(run_status(args.results_dir).to_string(index=False))
        return
    overrides = dict(model=args.model, model_kwargs=args.model_kwargs, seed=args.seed,
                     precision=args.precision, holdout=args.holdout)
    for name in ("epochs", "lr", "label_smoothing"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    config = TrainConfig.from_profile(args.profile, **overrides)
    run_dir = train(config, load_cifar10(args.data), args.results_dir, args.device,
                    args.retrain, args.stop_after)
    metrics_path = run_dir / METRICS_FILE
    print(metrics_path.read_text() if metrics_path.exists() else f"checkpoint saved in {run_dir}")


if __name__ == "__main__":
    main()
