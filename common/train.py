"""Training: one resumable, reproducible recipe for every model of the project.

SGD (momentum 0.9, Nesterov), weight decay on conv/linear weights only (modules with an
``apply_weight_decay_`` method decay their own parameters, see ``make_optimizer``), linear
warm-up then cosine decay per iteration, batch 128, optional label smoothing, bf16 autocast and
channels_last; on CUDA the step runs compiled, under CUDA graphs (``compile_for_training``).
What a run folder holds, and how it is named, locked and resumed, is ``common.runs``. A finished
run is reused, not retrained, unless ``retrain=True``. The hot loop is ``fit_epoch``.

Command line (e.g. for a long run in the background)::

    python -m common.train --model resnet20 --profile full --data ../shared/data/cifar10-jpeg.tar.gz
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple, Optional

import torch
import torch.nn as nn
from tqdm import tqdm

from .config import (COMPILE, PRECISIONS, PROFILES, TrainConfig, autocast, device_name,
                     resolve_compile, resolve_device, resolve_precision)
from .data import CifarData, iterate_batches, load_cifar10, random_partition, to_float
from .evaluation import evaluate
from .flops import count_macs, count_params, gating_statistics
from .models import build_model, model_settings
from .paths import RESULTS_DIR, portable
from .runs import (CHECKPOINT, CONFIG_FILE, HISTORY_FILE, METRICS_FILE, WEIGHTS_FILE, RunFileError,
                   clear_run, epochs_per_device, finished_run, list_finished_runs,
                   config_hash, load_checkpoint, run_name, run_status, save_atomic, training_lock,
                   write_history)

def lr_at(step: int, total_steps: int, warmup_steps: int, peak: float) -> float:
    """Linear warm-up to ``peak`` over ``warmup_steps``, then cosine decay to 0."""
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return peak * 0.5 * (1 + math.cos(math.pi * progress))


class Schedule(NamedTuple):
    """A run's step counts, which the learning rate and every epoch's batches follow."""
    steps_per_epoch: int
    total_steps: int
    warmup_steps: int
    drop_last: bool  # False only for a training set smaller than one batch (one partial step)

    @classmethod
    def of(cls, config: TrainConfig, images: int) -> "Schedule":
        """The schedule of ``config`` over ``images`` training images."""
        drop_last = images > config.batch_size
        steps = images // config.batch_size if drop_last else 1
        return cls(steps, steps * config.epochs, round(config.warmup_epochs * steps), drop_last)

    def lr(self, step: int, peak: float) -> float:
        return lr_at(step, self.total_steps, self.warmup_steps, peak)


class ScoreSplit(NamedTuple):
    """What each epoch and the end of a run are scored on: the hold-out or the test set."""
    images: torch.Tensor
    labels: torch.Tensor
    name: str  # "val" or "test": the prefix of its columns in the history and metrics


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


def train(config: TrainConfig, data: CifarData, results_dir: str | Path = RESULTS_DIR,
          device: str = "auto", retrain: bool = False, stop_after: Optional[int] = None,
          progress: bool = True, compile: str = "auto") -> Path:
    """Train (or reuse, or resume) the run that ``config`` and ``data`` define; return its folder.

    ``stop_after`` trains at most that many epochs in this call and returns with the checkpoint
    saved (the next call resumes). ``progress`` shows a tqdm bar. ``compile`` ("auto": see
    ``common.config.resolve_compile``; "on"; "off") runs the training step compiled
    (``compile_for_training``); it changes speed, not the run's name or recipe (each epoch's
    history row says whether it ran compiled).
    """
    if not retrain and (finished := finished_run(config, data.source, results_dir)):
        return finished
    run_dir = Path(results_dir) / run_name(config, data.source)
    with training_lock(run_dir):
        if retrain:
            clear_run(run_dir)
        elif finished_run(config, data.source, results_dir):  # another process just finished it
            return run_dir
        if not (run_dir / CHECKPOINT).exists() and (notice := training_notice(
                config, data, results_dir, resolve_device(device))):
            print(notice, file=sys.stderr, flush=True)
        return _train_run(config, data, run_dir, device, stop_after, progress, compile)


def compile_for_training(model: nn.Module, device: torch.device, backend=None) -> nn.Module:
    """``model`` compiled for the training step, sharing its parameters and buffers: on CUDA with
    ``mode="reduce-overhead"`` (CUDA graphs), elsewhere inductor's default (``backend`` overrides,
    e.g. a counting backend in tests). The learning rate (optimizer state), dynamic convolution's
    temperature (a buffer filled in place) and the gates' noise (drawn inside the graph) are
    inputs, not constants, so one compilation serves the whole run."""
    if backend is not None:
        return torch.compile(model, backend=backend)
    return torch.compile(model, mode="reduce-overhead" if device.type == "cuda" else "default")


def images_per_second(model: nn.Module, batch_size: int, precision: str, mode: str,
                      device: torch.device, min_seconds: float = 3.0, warmup: int = 2) -> float:
    """Images/s of one training step (forward, backward, SGD) or one inference forward."""
    if mode not in ("train", "infer"):
        raise ValueError(f"mode must be 'train' or 'infer', not {mode!r}")
    model = to_device(model, device).train(mode == "train")
    x = torch.rand(batch_size, 3, 32, 32, device=device).contiguous(
        memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch_size,), device=device)
    optimizer = make_optimizer(model, TrainConfig()) if mode == "train" else None

    def step():
        if mode == "train":
            with autocast(device, precision):
                loss = nn.functional.cross_entropy(model(x).float(), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        else:
            with torch.no_grad(), autocast(device, precision):
                model(x)
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(warmup):
        step()
    steps, started = 0, time.perf_counter()
    while time.perf_counter() - started < min_seconds or steps < 3:
        step()
        steps += 1
    return steps * batch_size / (time.perf_counter() - started)


def training_notice(config: TrainConfig, data: CifarData, results_dir: str | Path,
                    dev: torch.device) -> Optional[str]:
    """What a run about to train from scratch will cost, and why it is not reused: said before
    a long (non-smoke) run starts, e.g. from a notebook with another data source than the
    committed results', so the user can pick ``profile="smoke"`` instead. Does not block."""
    if config.profile == "smoke":
        return None
    torch.manual_seed(config.seed)
    model = build_model(config.model, **config.model_kwargs)
    speed = images_per_second(model, config.batch_size, resolve_precision(config.precision, dev),
                              "train", dev, min_seconds=1.0)
    images = training_size(config, len(data.train_labels))
    hours = images * config.epochs / speed / 3600
    finished = [m["data_source"] for _, m in list_finished_runs(results_dir)]
    others = sorted({s["name"] for s in finished if s["fingerprint"] != data.source["fingerprint"]})
    reason = (f" The finished runs in {portable(results_dir)} were trained on other data "
              f"({', '.join(others)}); {data.source['name']} has another fingerprint, so none "
              f"of them is reused." if others else "")
    return (f"Training {config.model} {config.model_kwargs or ''} from scratch: profile "
            f"'{config.profile}', {config.epochs} epochs on {images:,} images, about {hours:.1f} h "
            f"on {device_name(dev)} (measured now: {speed:.0f} training images/s).{reason} "
            f"For a quick look set profile = \"smoke\" (2,000 images, 2 epochs: minutes).")


def fit_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, criterion: nn.Module,
              train_x: torch.Tensor, train_y: torch.Tensor, config: TrainConfig, epoch: int,
              schedule: Schedule, dev: torch.device, precision: str,
              bar=None) -> dict[str, torch.Tensor | int]:
    """One epoch of training, the whole hot loop. Returns the sums over images {"loss",
    "correct", <regularizer terms>} as tensors on the device, which the caller reads once, and
    "seen": no step waits for the host (tests/test_train.py runs it on the meta device, where
    any read of a value fails)."""
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
    steps_per_epoch = schedule.steps_per_epoch
    for i, (x, y) in enumerate(iterate_batches(train_x, train_y, config.batch_size, generator,
                                               augment=True, drop_last=schedule.drop_last)):
        lr = schedule.lr(epoch * steps_per_epoch + i, config.lr)
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
    return {**sums, "seen": seen}


def _train_run(config: TrainConfig, data: CifarData, run_dir: Path, device: str,
               stop_after: Optional[int], progress: bool, compile: str = "auto") -> Path:
    """The body of ``train`` for a run folder this process holds the lock of: set up, resume,
    train epoch by epoch with a checkpoint after each, then ``_finish_run``."""
    # model_settings: every model setting in force, defaults included (kwargs name the run).
    config_record = {**dataclasses.asdict(config), "data_source": data.source,
                     "model_settings": model_settings(config.model, **config.model_kwargs),
                     "run": run_dir.name}
    (run_dir / CONFIG_FILE).write_text(json.dumps(config_record, indent=2))
    identity = config_hash(config, data.source)

    dev = resolve_device(device)
    precision = resolve_precision(config.precision, dev)
    train_x, train_y, holdout_x, holdout_y = split_training_data(data, config)
    # What each epoch and the end are scored on. A hold-out run exists to choose settings, so it
    # never looks at the test set.
    score = (ScoreSplit(holdout_x, holdout_y, "val") if config.holdout
             else ScoreSplit(data.test_images, data.test_labels, "test"))
    torch.manual_seed(config.seed)
    model = to_device(build_model(config.model, **config.model_kwargs), dev)
    optimizer = make_optimizer(model, config)
    criterion = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)

    history, start_epoch = [], 0
    if (run_dir / CHECKPOINT).exists():
        ckpt = load_checkpoint(run_dir / CHECKPOINT, identity)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        torch.set_rng_state(ckpt["rng_state"])
        history, start_epoch = ckpt["history"], ckpt["epoch"]
    # Compiled once per process (so once per run, and again after a resume), sharing weights:
    # evaluation and checkpoints use the eager model.
    compiled = resolve_compile(compile, dev, config.model, config.profile, precision)
    step_model = compile_for_training(model, dev) if compiled else model

    schedule = Schedule.of(config, len(train_y))
    steps_per_epoch = schedule.steps_per_epoch
    end_epoch = config.epochs if stop_after is None else min(config.epochs,
                                                            start_epoch + stop_after)
    bar = StepClock(tqdm(total=schedule.total_steps, initial=start_epoch * steps_per_epoch,
                         disable=not progress, desc=run_dir.name, unit="step", mininterval=5,
                         dynamic_ncols=True))
    # The training images live on the training device for the whole run (uint8); each epoch's
    # order, crops and flips still come from a CPU generator, so every device sees the same batches.
    train_x, train_y = train_x.to(dev), train_y.to(dev)
    for epoch in range(start_epoch, end_epoch):
        started = time.perf_counter()
        sums = fit_epoch(step_model, optimizer, criterion, train_x, train_y, config, epoch,
                         schedule, dev, precision, bar)
        trained = time.perf_counter() - started
        history.append(_epoch_row(model, sums, epoch, score, dev, precision, started,
                                  schedule.lr((epoch + 1) * steps_per_epoch - 1, config.lr)))
        # Speed as the run went: images/s of the training steps, whether they ran compiled, and
        # the first step of this process (which compiles, for a compiled step).
        history[-1].update(train_images_per_s=sums["seen"] / trained, compiled=compiled,
                           first_step_seconds=bar.first_step if epoch == start_epoch else None)
        bar.set_postfix({"epoch": epoch + 1, "loss": f"{history[-1]['train_loss']:.3f}",
                         f"{score.name}_acc": f"{history[-1][f'{score.name}_acc']:.2f}"})
        write_history(history, run_dir / HISTORY_FILE)
        save_atomic({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                     "rng_state": torch.get_rng_state(), "epoch": epoch + 1,
                     "history": history, "config_hash": identity}, run_dir / CHECKPOINT)
    bar.close()
    if len(history) < config.epochs:
        return run_dir  # stopped early on purpose; the next call resumes
    return _finish_run(model, config, data, run_dir, history, train_x, train_y, score, dev,
                       precision)


class StepClock:
    """A progress bar's stand-in for ``fit_epoch`` that also remembers how long the first step
    of this process took (with a compiled step: mostly compiling)."""

    def __init__(self, bar):
        self.bar, self.started, self.first_step = bar, time.perf_counter(), None

    def update(self, n: int = 1) -> None:
        if self.first_step is None:
            self.first_step = time.perf_counter() - self.started
        self.bar.update(n)

    def __getattr__(self, name):  # set_postfix, close: the bar's
        return getattr(self.bar, name)


def _epoch_row(model: nn.Module, sums: dict, epoch: int, score: ScoreSplit, dev: torch.device,
               precision: str, started: float, lr: float) -> dict:
    """The history row of an epoch: ``fit_epoch``'s sums as means, the score split's loss and
    accuracy and, for gated models, how conditional the gates are now."""
    sums = {name: float(value) for name, value in sums.items()}  # the epoch's one read
    seen = sums.pop("seen")
    row = {"epoch": epoch + 1, "train_loss": sums.pop("loss") / seen,
           "train_acc": 100 * sums.pop("correct") / seen,
           **{f"{name}_loss": total / seen for name, total in sums.items()}}
    scored = evaluate(model, score.images, score.labels, dev)
    row.update({f"{score.name}_loss": scored["loss"], f"{score.name}_acc": scored["acc"]})
    row.update({f"{score.name}_{k}": v for k, v in gating_statistics(model, score.images, dev).items()})
    row.update(lr=lr, seconds=time.perf_counter() - started, device=device_name(dev),
               precision=precision)
    return row


def _finish_run(model: nn.Module, config: TrainConfig, data: CifarData, run_dir: Path,
                history: list[dict], train_x: torch.Tensor, train_y: torch.Tensor, score: ScoreSplit,
                dev: torch.device, precision: str) -> Path:
    """Score the trained model and write ``model.pt``, then ``metrics.json`` (which marks the
    run finished); then delete the checkpoint."""
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
    final = evaluate(model, score.images, score.labels, dev)
    metrics.update({f"{score.name}_acc": final["acc"], f"{score.name}_loss": final["loss"]})
    # Input-dependent compute (channel gating) varies per image, measured with the gates'
    # statistics in one pass; static models cost `macs`.
    metrics.update(gating_statistics(model, score.images, dev))
    metrics["avg_executed_macs"] = metrics.get("macs_mean", metrics["macs"])
    save_atomic(model.state_dict(), run_dir / WEIGHTS_FILE)
    (run_dir / METRICS_FILE).write_text(json.dumps(metrics, indent=2))  # marks "finished"
    # A finished run never resumes; dropping the checkpoint keeps it out of the committed folder.
    (run_dir / CHECKPOINT).unlink(missing_ok=True)
    return run_dir


def json_object(text: str) -> dict:
    """``--model-kwargs``: a JSON object, e.g. '{"num_kernels": 4}'."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not JSON ({err}): {text!r}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"not a JSON object: {text!r}")
    return value


def main(argv=None) -> None:
    """The command line. A bad setting (unknown model, a setting the model does not have, an
    invalid value) is a one-line usage error (exit 2) before any run folder, lock or data."""
    parser = argparse.ArgumentParser(prog="python -m common.train",
                                     description="Train (or resume, or reuse) one run.")
    parser.add_argument("--status", action="store_true",
                        help="only list the runs under --results-dir with their progress")
    parser.add_argument("--model", default="resnet20")
    parser.add_argument("--model-kwargs", default="{}", type=json_object,
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
    parser.add_argument("--compile", default="auto", choices=COMPILE,
                        help="compiled training step (CUDA graphs on a GPU); auto: on for CUDA")
    parser.add_argument("--results-dir", default=str(RESULTS_DIR))
    parser.add_argument("--retrain", action="store_true")
    parser.add_argument("--stop-after", type=int, default=None,
                        help="train at most this many epochs now; rerun to resume")
    args = parser.parse_args(argv)
    if args.status:
        try:
            print(run_status(args.results_dir).to_string(index=False))
        except RunFileError as err:
            sys.exit(f"error: {err}")
        return
    overrides = dict(model=args.model, model_kwargs=args.model_kwargs, seed=args.seed,
                     precision=args.precision, holdout=args.holdout)
    for name in ("epochs", "lr", "label_smoothing"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    try:  # TrainConfig checks the model and its settings' names; building it checks their values
        config = TrainConfig.from_profile(args.profile, **overrides)
        build_model(config.model, **config.model_kwargs)
    except (ValueError, TypeError) as err:
        parser.error(str(err))
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    run_dir = train(config, load_cifar10(args.data), args.results_dir, args.device,
                    args.retrain, args.stop_after, compile=args.compile)
    metrics_path = run_dir / METRICS_FILE
    print(metrics_path.read_text() if metrics_path.exists() else f"checkpoint saved in {run_dir}")


if __name__ == "__main__":
    main()
