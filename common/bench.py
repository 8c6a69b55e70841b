"""Benchmarks: throughput measured side by side in one run, written to ``results/benchmarks/``.

    python -m common.bench throughput            # ResNet-20 train/infer images/s, fp32 vs bf16
    python -m common.bench dynamic               # DY-ResNet-20 K=2..5, both computations, vs ResNet-20
    python -m common.bench precision --data ...  # short fp32 vs bf16 training run, same seed
    python -m common.bench gating --run results/<gated run> --data ...  # batch-1 active channels
    python -m common.bench trainer               # the real training loop: seconds per epoch

Speed claims come from here, never from timed tests. Ratios are only meaningful within one
file: every number in it was measured on the same machine in the same process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch
import torch.nn as nn

from .data import load_cifar10, to_float
from .flops import count_macs, executed_macs
from .models import build_model, load_model
from .models.gating import forward_active_channels
from .paths import RESULTS_DIR
from .report import provenance
from .train import (TrainConfig, autocast, device_name, load_metrics, make_optimizer,
                    resolve_device, resolve_precision, to_device, train)

BENCH_DIR = RESULTS_DIR / "benchmarks"


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
def gating_inference(model: nn.Module, images: torch.Tensor, rounds: int = 3) -> dict:
    """Batch-1 CPU inference of a trained gated model on real images, side by side with
    ResNet-20: does skipping the off channels save wall-clock time, not just MACs?

    Three ways, interleaved image by image so drifts in machine speed hit all alike: ResNet-20
    (the same weights without gates), the gated model computing every channel and multiplying
    the off ones by 0, and ``forward_active_channels`` (only the active channels are computed).
    """
    model = model.cpu().eval()
    static = build_model("resnet20").eval()
    static.load_state_dict(model.state_dict(), strict=False)  # everything but the gates
    ways = {"resnet20": static, "gated, all channels computed": model,
            "gated, active channels only": lambda x: forward_active_channels(model, x)}
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
    macs = {"resnet20": count_macs(static),
            "gated, all channels computed": count_macs(model),
            "gated, active channels only": executed_macs(model, images).mean().item()}
    rows = [{"way": name, "images_per_s": round(rounds * len(batch) / seconds[name], 1),
             "macs_per_image": round(macs[name])} for name in ways]
    for row in rows:
        row["speed_vs_resnet20"] = round(row["images_per_s"] / rows[0]["images_per_s"], 3)
        row["macs_vs_resnet20"] = round(row["macs_per_image"] / rows[0]["macs_per_image"], 3)
    return {"benchmark": "gating_batch1_inference", "images": len(batch), "rounds": rounds,
            "threads": torch.get_num_threads(), "device": device_name(torch.device("cpu")),
            "rows": rows, "provenance": provenance()}


TRAINER_MODELS = {"ResNet-20": ("resnet20", {}), "DY K=4": ("dy_resnet20", {"num_kernels": 4}),
                  "gated L0=0.5": ("gated_resnet20", {"l0_weight": 0.5})}


def trainer_speed(device: str = "auto", steps: int = 20, rounds: int = 3,
                  models: dict = TRAINER_MODELS) -> dict:
    """Seconds per full-profile epoch (390 steps of 128) of the real training loop
    (``common.train.fit_epoch``: device-resident uint8 data, augmentation, schedules, gating
    losses, optimizer), timed on ``steps`` steps after one warm-up pass, models interleaved
    over ``rounds`` rounds; random images (speed does not depend on them)."""
    from .train import fit_epoch

    dev = resolve_device(device)
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (steps * 128, 3, 32, 32), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 10, (steps * 128,), generator=generator)
    images, labels = images.to(dev), labels.to(dev)
    config = TrainConfig.from_profile("full")
    precision = resolve_precision(config.precision, dev)
    runs = {}
    for label, (name, kwargs) in models.items():
        torch.manual_seed(0)
        model = to_device(build_model(name, **kwargs), dev)
        runs[label] = (model, make_optimizer(model, config))
    criterion = nn.CrossEntropyLoss()
    seconds: dict[str, list[float]] = {label: [] for label in models}
    for round_index in range(rounds + 1):  # round 0 warms up (allocations, kernel choice)
        for label, (model, optimizer) in runs.items():
            if dev.type == "cuda":
                torch.cuda.synchronize()
            started = time.perf_counter()
            fit_epoch(model, optimizer, criterion, images, labels, config, 0, steps, 390 * 30,
                      390, True, dev, precision)  # fit_epoch reads its sums: synchronises
            if round_index:
                seconds[label].append((time.perf_counter() - started) / steps * 390)
    rows = [{"model": label, "seconds_per_epoch": round(statistics.median(v), 2),
             "rounds": [round(x, 2) for x in v], "precision": precision} for label, v in seconds.items()]
    return {"benchmark": "trainer", "device": device_name(dev), "steps_timed": steps,
            "threads": torch.get_num_threads(), "rows": rows, "provenance": provenance()}


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
    """A throughput benchmark as a table: one row per model, one column per setting
    ("train, batch 128" ...), each cell the model's images/s over the reference's (median of rounds)."""
    rows = pd.DataFrame(result["rows"])
    rows["setting"] = rows["mode"] + ", batch " + rows["batch_size"].astype(str) + " (" + rows["precision"] + ")"
    table = rows.pivot_table(index="model", columns="setting", values="vs_reference", sort=False)
    table.columns.name = f"images/s vs {result['reference']}"
    return table


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Benchmarks (results/benchmarks/*.json)")
    parser.add_argument("command", nargs="?", default="throughput",
                        choices=("throughput", "dynamic", "precision", "gating", "trainer"),
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
        write(trainer_speed(args.device), f"trainer_{dev.type}")
    elif args.command == "dynamic":
        write(dynamic_throughput(args.device, **seconds), "dynamic_conv_throughput")
    else:
        write(throughput(args.device, **seconds), "throughput")


if __name__ == "__main__":
    main()
