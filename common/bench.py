"""Benchmarks: throughput measured side by side in one run, written to ``results/benchmarks/``.

    python -m common.bench throughput            # ResNet-20 train/infer images/s, fp32 vs bf16
    python -m common.bench dynamic               # DY-ResNet-20 K=2..5, both computations, vs ResNet-20
    python -m common.bench precision --data ...  # short fp32 vs bf16 training run, same seed
    python -m common.bench gating --run results/<gated run> --data ...  # batch-1 active channels
    python -m common.bench trainer               # the real training loop: seconds per epoch
    python -m common.bench concurrency           # n training processes on one device at once

Speed claims come from here, never from timed tests. Ratios are only meaningful within one
file: every number in it was measured on the same machine in the same process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn as nn

from .benchmarks import record_compile_decisions, runs_per_device, write
from .config import (TrainConfig, autocast, device_name, resolve_compile, resolve_device,
                     resolve_precision)
from .data import augment_batch, load_cifar10, to_float
from .flops import count_macs, executed_macs
from .models import build_model
from .models.gating import forward_active_channels
from .names import run_label
from .provenance import provenance
from .runs import load_metrics, load_model
from .train import (Schedule, compile_for_training, fit_epoch, images_per_second, make_optimizer,
                    to_device, train)



SETTINGS = (("train", 128), ("infer", 128), ("infer", 1))  # (mode, batch size)


def compare_throughput(models: dict[str, tuple[str, dict]], precisions: tuple[str, ...],
                       reference: str, device: str = "auto", min_seconds: float = 3.0,
                       rounds: int = 3) -> dict:
    """Images/s of every model x setting x precision, measured in this run.

    ``models`` maps a label to ``(registry name, kwargs)``. A shared VM's speed drifts by tens
    of percent within minutes, so the measurements are interleaved: each of ``rounds`` rounds
    measures, setting by setting, every model one right after another. A row reports the median
    of its rounds; its ``vs_reference`` is the median over rounds of its speed over that of the
    row of the same round, mode, batch and precision for ``reference`` (a label, or ``"fp32"``
    to compare each precision with fp32 for the same model).
    """
    dev = resolve_device(device)
    built = {}
    for label, (name, kwargs) in models.items():
        torch.manual_seed(0)
        built[label] = build_model(name, **kwargs)
    keys = [(label, mode, batch, precision) for mode, batch in SETTINGS
            for precision in precisions for label in models]  # same setting side by side
    measured: dict[tuple, list[float]] = {key: [] for key in keys}
    for round_index in range(rounds):
        for key in keys:
            label, mode, batch, precision = key
            ips = images_per_second(built[label], batch, precision, mode, dev, min_seconds)
            measured[key].append(ips)
            print(f"round {round_index + 1}/{rounds} {label:>22} {mode:>5} batch {batch:>3} "
                  f"{precision}: {ips:8.1f} img/s", flush=True)
    rows = []
    for (label, mode, batch, precision), values in measured.items():
        ref_key = (label, mode, batch, "fp32") if reference == "fp32" else (
            reference, mode, batch, precision)
        ratios = [v / r for v, r in zip(values, measured[ref_key])]
        rows.append({"model": label, "mode": mode, "batch_size": batch, "precision": precision,
                     "images_per_s": round(statistics.median(values), 1),
                     "vs_reference": round(statistics.median(ratios), 3),
                     "rounds_images_per_s": [round(v, 1) for v in values]})
    return {"reference": reference, "device": device_name(dev), "rounds": rounds,
            "threads": torch.get_num_threads(), "rows": rows, "provenance": provenance()}


def throughput(device: str = "auto", min_seconds: float = 2.0) -> dict:
    """ResNet-20: train (batch 128) and inference (batch 128 and 1), fp32 vs bf16."""
    return {"benchmark": "throughput", **compare_throughput(
        {"resnet20": ("resnet20", {})}, ("fp32", "bf16"), "fp32", device, min_seconds)}


def dynamic_throughput(device: str = "auto", min_seconds: float = 1.0,
                       kernels=(2, 3, 4, 5)) -> dict:
    """DY-ResNet-20, K = 2..5, each exact computation, against ResNet-20 (training precision)."""
    precision = resolve_precision("auto", resolve_device(device))
    models = {"resnet20": ("resnet20", {})}
    for k in kernels:
        for mode in ("aggregate", "dense"):
            models[f"dy_resnet20 K={k} {mode}"] = ("dy_resnet20", {"num_kernels": k, "mode": mode})
    return {"benchmark": "dynamic_conv_throughput",
            **compare_throughput(models, (precision,), "resnet20", device, min_seconds)}


def precision_check(data_source: str | None, train_size: int = 2000, holdout: int = 2000,
                    epochs: int = 3, seed: int = 0, device: str = "auto") -> dict:
    """Train ResNet-20 twice with the same seed, fp32 and bf16; compare held-out accuracy.

    The hold-out comes from the training set, so choosing the default precision never looks
    at the test set.
    """
    data = load_cifar10(data_source)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for precision in ("fp32", "bf16"):
            config = TrainConfig(profile="precision-check", epochs=epochs, train_size=train_size,
                                 holdout=holdout, precision=precision, seed=seed)
            metrics = load_metrics(train(config, data, tmp, device))
            results[precision] = {"val_acc": metrics["val_acc"],
                                  "train_seconds": round(metrics["train_seconds"], 1)}
            print(precision, results[precision], flush=True)
    return {"benchmark": "bf16_vs_fp32", "model": "resnet20", "seed": seed, "epochs": epochs,
            "train_size": train_size, "holdout": holdout, "data_source": data.source,
            "device": device_name(resolve_device(device)), "results": results,
            "val_acc_difference_bf16_minus_fp32":
                round(results["bf16"]["val_acc"] - results["fp32"]["val_acc"], 2),
            "bf16_speedup": round(results["fp32"]["train_seconds"]
                                  / results["bf16"]["train_seconds"], 3),
            "provenance": provenance()}


@torch.no_grad()
def gating_inference(model: nn.Module, images: torch.Tensor, rounds: int = 3, widths=()) -> dict:
    """Batch-1 CPU inference of a trained gated model on real images, side by side with
    ResNet-20: does skipping the off channels save wall-clock time, not just MACs?

    Three ways, interleaved image by image so drifts in machine speed hit all alike: ResNet-20
    (the same weights without gates), the gated model computing every channel and multiplying
    the off ones by 0, and ``forward_active_channels`` (only the active channels are computed);
    then a thin ResNet-20 per width in ``widths`` (static networks of fewer MACs, e.g. the gated
    model's static control; untrained, as speed does not depend on the weights).
    """
    model = model.cpu().eval()
    static = build_model("resnet20").eval()
    static.load_state_dict(model.state_dict(), strict=False)  # everything but the gates
    ways = {"ResNet-20": static, "gated, all channels computed": model,
            "gated, active channels only": lambda x: forward_active_channels(model, x)}
    thin = {run_label("resnet20", {"width": w}): build_model("resnet20", width=w).eval() for w in widths}
    ways |= thin
    seconds = dict.fromkeys(ways, 0.0)
    batch = [to_float(images[i:i + 1]) for i in range(len(images))]
    for fn in ways.values():  # warm-up
        fn(batch[0])
    for _ in range(rounds):
        for x in batch:
            for name, fn in ways.items():
                started = time.perf_counter()
                fn(x)
                seconds[name] += time.perf_counter() - started
    macs = {"ResNet-20": count_macs(static),
            "gated, all channels computed": count_macs(model),
            "gated, active channels only": executed_macs(model, images).mean().item()}
    macs |= {name: count_macs(network) for name, network in thin.items()}
    rows = [{"way": name, "images_per_s": round(rounds * len(batch) / seconds[name], 1),
             "macs_per_image": round(macs[name])} for name in ways]
    for row in rows:
        row["speed_vs_resnet20"] = round(row["images_per_s"] / rows[0]["images_per_s"], 3)
        row["macs_vs_resnet20"] = round(row["macs_per_image"] / rows[0]["macs_per_image"], 3)
    return {"benchmark": "gating_batch1_inference", "images": len(batch), "rounds": rounds,
            "threads": torch.get_num_threads(), "device": device_name(torch.device("cpu")),
            "rows": rows, "provenance": provenance()}


TRAINER_MODELS = {run_label(model, kwargs): (model, kwargs) for model, kwargs in
                  [("resnet20", {}), ("dy_resnet20", {"num_kernels": 4}),
                   ("gated_resnet20", {"l0_weight": 0.5})]}


def _random_batches(steps: int, dev: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """``steps`` batches of 128 random uint8 images and labels on ``dev`` (speed does not
    depend on the pixels)."""
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (steps * 128, 3, 32, 32), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 10, (steps * 128,), generator=generator)
    return images.to(dev), labels.to(dev)


def host_synced_epoch(model: nn.Module, optimizer, criterion, train_x: torch.Tensor,
                      train_y: torch.Tensor, config: TrainConfig, epoch: int, schedule: Schedule,
                      dev: torch.device, precision: str) -> None:
    """One epoch of the training loop as it was before the device-resident rewrite (commit 6762dc1):
    batches indexed and augmented on the CPU and moved per step, a host sync per step. The
    baseline that ``trainer_speed`` times beside ``fit_epoch``, and the proof that the rewrite
    changed no arithmetic (``tests/test_train.py``: bit-identical CPU weights)."""
    scheduled = [m for m in model.modules() if hasattr(m, "update_schedule")]
    model.train()
    generator = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
    order = torch.randperm(len(train_x), generator=generator)
    steps = schedule.steps_per_epoch
    for i in range(steps):
        idx = order[i * config.batch_size:(i + 1) * config.batch_size]
        x, y = augment_batch(train_x[idx], generator), train_y[idx].to(dev)
        for group in optimizer.param_groups:
            group["lr"] = schedule.lr(epoch * steps + i, config.lr)
        for module in scheduled:
            module.update_schedule(epoch + i / steps)
        with autocast(dev, precision):
            logits = model(to_float(x, dev))
            loss = criterion(logits.float(), y)
        if hasattr(model, "regularizer"):
            loss = loss + sum(model.regularizer((epoch + i / steps) / config.epochs).values())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss.item(), (logits.argmax(1) == y).sum().item()  # the old per-step host sync


def _timed_epoch(model, optimizer, images, labels, config, steps, dev, precision,
                 loop: str = "device") -> float:
    """Seconds per full-profile epoch (390 steps) of ``fit_epoch`` ("device") or of the loop
    before it ("host", ``host_synced_epoch``; its images stay on the CPU) over ``steps`` steps."""
    # the lr and schedules of the first ``steps`` steps of a full-profile run
    schedule = Schedule(steps, 390 * 30, 390, True)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    if loop == "host":
        host_synced_epoch(model, optimizer, nn.CrossEntropyLoss(), images.cpu(), labels.cpu(),
                          config, 0, schedule, dev, precision)
    else:  # reading the sums, as the trainer does once per epoch, waits for the device
        sums = fit_epoch(model, optimizer, nn.CrossEntropyLoss(), images, labels, config, 0,
                         schedule, dev, precision)
        float(sums["loss"])
    return (time.perf_counter() - started) / steps * 390


def trainer_speed(device: str = "auto", steps: int = 20, rounds: int = 3,
                  models: dict = TRAINER_MODELS, baseline: bool = True,
                  compiled: bool = True) -> dict:
    """Seconds per full-profile epoch (390 steps of 128) of the real training loop
    (``common.train.fit_epoch``: device-resident uint8 data, augmentation, schedules, gating
    losses, optimizer), timed on ``steps`` steps after one warm-up pass (which compiles, where
    the trainer compiles), every variant interleaved over ``rounds`` rounds; random images.
    Variants per model: the host-synced loop (``host_synced_epoch``, if ``baseline``), today's
    eager loop and (if ``compiled``) the compiled one, whose first pass's extra time over the
    eager one is its compile time."""
    dev = resolve_device(device)
    images, labels = _random_batches(steps, dev)
    config = TrainConfig.from_profile("full")
    precision = resolve_precision(config.precision, dev)
    variants = ([("host", False)] if baseline else []) + [("device", False)]
    variants += [("device", True)] if compiled else []
    runs = {}
    for label, (name, kwargs) in models.items():
        for loop, compiled in variants:
            torch.manual_seed(0)
            model = to_device(build_model(name, **kwargs), dev)
            step_model = compile_for_training(model, dev) if compiled else model
            runs[label, loop, compiled] = (step_model, make_optimizer(model, config))
    seconds: dict[tuple, list[float]] = {key: [] for key in runs}
    warmup: dict[tuple, float] = {}
    for round_index in range(rounds + 1):  # round 0 warms up (allocations, kernel choice, compiling)
        for key, (model, optimizer) in runs.items():
            started = time.perf_counter()
            took = _timed_epoch(model, optimizer, images, labels, config, steps, dev, precision,
                                key[1])
            if round_index:
                seconds[key].append(took)
            else:
                warmup[key] = time.perf_counter() - started
    rows = [{"model": label, "model_name": models[label][0], "loop": loop, "compiled": compiled,
             "seconds_per_epoch": round(statistics.median(v), 2), "rounds": [round(x, 2) for x in v],
             "precision": precision,
             "compile_seconds": (round(warmup[label, loop, True] - warmup[label, loop, False], 1)
                                 if compiled else None)}
            for (label, loop, compiled), v in seconds.items()]
    for row in rows:  # time against today's eager loop: median of same-round ratios
        eager = seconds[row["model"], "device", False]
        row["time_vs_device_eager"] = round(statistics.median(
            a / b for a, b in zip(seconds[row["model"], row["loop"], row["compiled"]], eager)), 3)
    return {"benchmark": "trainer", "device": device_name(dev), "steps_timed": steps,
            "threads": torch.get_num_threads(), "rows": rows, "provenance": provenance()}




def concurrency_worker(steps: int, device: str, barrier: Path, index: int, count: int) -> dict:
    """One of ``count`` processes of ``concurrency``: ResNet-20 through the real trainer (compiled
    where the trainer compiles), one warm-up pass, then wait until all ``count`` are warm (files
    in ``barrier``) and time ``steps`` steps, so the timed windows overlap."""
    dev = resolve_device(device)
    images, labels = _random_batches(steps, dev)
    config = TrainConfig.from_profile("full")
    precision = resolve_precision(config.precision, dev)
    torch.manual_seed(index)
    model = to_device(build_model("resnet20"), dev)
    step_model = compile_for_training(model, dev) if resolve_compile("auto", dev) else model
    optimizer = make_optimizer(model, config)
    _timed_epoch(step_model, optimizer, images, labels, config, steps, dev, precision)
    (barrier / f"ready{index}").touch()
    while len(list(barrier.glob("ready*"))) < count:
        time.sleep(0.05)
    seconds = _timed_epoch(step_model, optimizer, images, labels, config, steps, dev, precision)
    return {"images_per_s": 390 * 128 / seconds, "seconds_per_epoch": seconds}


def concurrency(device: str = "auto", counts=(1, 2, 4, 8), steps: int = 100,
                threads: int = 1) -> dict:
    """Aggregate training images/s of n ResNet-20 processes sharing one device, for each n of
    ``counts`` (each process ``threads`` CPU threads), against one alone; ``runs_per_device``
    turns it into how many runs to start at once."""
    dev = resolve_device(device)
    rows = []
    for count in counts:
        with tempfile.TemporaryDirectory() as barrier:
            env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
            workers = [subprocess.Popen([sys.executable, "-m", "common.bench", "concurrency-worker",
                                         "--device", device, "--steps", str(steps), "--barrier",
                                         barrier, "--index", str(i), "--count", str(count)],
                                        stdout=subprocess.PIPE, text=True, env=env)
                       for i in range(count)]
            results = [json.loads(w.communicate()[0].strip().splitlines()[-1]) for w in workers]
        if any(w.returncode for w in workers):
            raise RuntimeError(f"a concurrency worker failed (n = {count})")
        rows.append({"runs": count, "aggregate_images_per_s": round(sum(r["images_per_s"] for r in results), 1),
                     "seconds_per_epoch_each": [round(r["seconds_per_epoch"], 2) for r in results]})
    one = rows[0]["aggregate_images_per_s"]
    for row in rows:
        row["vs_one_run"] = round(row["aggregate_images_per_s"] / one, 2)
    result = {"benchmark": "concurrency", "device": device_name(dev), "threads_per_run": threads,
              "steps_timed": steps, "compiled": resolve_compile("auto", dev), "rows": rows,
              "provenance": provenance()}
    result["runs_per_device"] = runs_per_device(result)
    return result












def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Benchmarks (results/benchmarks/*.json)")
    parser.add_argument("command", nargs="?", default="throughput",
                        choices=("throughput", "dynamic", "precision", "gating", "trainer",
                                 "concurrency", "concurrency-worker"),
                        help="throughput: ResNet-20 fp32 vs bf16; dynamic: DY K=2..5 vs "
                             "ResNet-20; precision: short fp32 vs bf16 training run; gating: "
                             "batch-1 inference of a trained gated run, active channels only")
    parser.add_argument("--data", default=None, help="CIFAR-10 source (precision, gating)")
    parser.add_argument("--run", default=None, help="a finished gated run's folder (gating)")
    parser.add_argument("--images", type=int, default=500, help="test images (gating)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="minimum time per measurement and round (default: 2 s for "
                             "throughput, 1 s for dynamic; each is measured in 3 rounds)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 2, 4, 8],
                        help="concurrent runs to measure (concurrency)")
    parser.add_argument("--steps", type=int, default=None,
                        help="timed steps (concurrency: 100, trainer: 20 per round)")
    parser.add_argument("--no-baseline", action="store_true",
                        help="trainer: leave out the host-synced loop (host_synced_epoch)")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads per run (concurrency, trainer)")
    parser.add_argument("--barrier", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    seconds = {} if args.seconds is None else {"min_seconds": args.seconds}
    if args.command == "precision":
        write(precision_check(args.data, device=args.device), "bf16_vs_fp32")
    elif args.command == "gating":
        if args.run is None:
            parser.error("gating needs --run results/<a finished gated_resnet20 run>")
        images = load_cifar10(args.data).test_images[:args.images]
        result = gating_inference(load_model(args.run), images)
        result["run"] = Path(args.run).name
        write(result, "gating_inference")
    elif args.command == "trainer":
        dev = resolve_device(args.device)
        torch.set_num_threads(args.threads)
        result = trainer_speed(args.device, steps=args.steps or 20, baseline=not args.no_baseline)
        write(result, f"trainer_{dev.type}")
        if dev.type == "cpu":
            print(f"compile decisions for {result['device']}: {record_compile_decisions(result)}")
    elif args.command == "dynamic":
        dev = resolve_device(args.device)  # the CPU file keeps its name: notebook 02 reads it
        write(dynamic_throughput(args.device, **seconds),
              "dynamic_conv_throughput" + ("_cuda" if dev.type == "cuda" else ""))
    elif args.command == "concurrency":
        dev = resolve_device(args.device)
        write(concurrency(args.device, args.counts, args.steps or 100, args.threads),
              f"concurrency_{dev.type}")
    elif args.command == "concurrency-worker":
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
        print(json.dumps(concurrency_worker(args.steps or 100, args.device, Path(args.barrier), args.index,
                                            args.count)))
    else:
        write(throughput(args.device, **seconds), "throughput")


if __name__ == "__main__":
    main()
