"""Configuration: every setting of a training run in one place, with its default visible, and
the policies that map "auto" settings to this machine (device, arithmetic, compilation).

A ``TrainConfig`` is a run's identity (``common.runs.run_name`` hashes it); device, precision
actually used and compilation change speed, not the run, and are recorded in its history.
"""

from __future__ import annotations

import contextlib
import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import torch

from .models import model_settings
from .paths import BENCH_DIR

# Profiles: how much data and how many epochs. `smoke` is what tests and CI run.
PROFILES = {
    "smoke": dict(epochs=2, train_size=2000),
    "full": dict(epochs=30, train_size=None),
    "paper": dict(epochs=200, train_size=None),
}
PRECISIONS = ("auto", "bf16", "fp32")
COMPILE = ("auto", "on", "off")


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

    def recipe(self) -> dict[str, str]:
        """The training recipe in a reader's words, one line per setting (notebook 01 shows it)."""
        return {"epochs": f"{self.epochs}",
                "training images": ("all" if self.train_size is None else f"{self.train_size:,}")
                                   + (f", less {self.holdout:,} held out" if self.holdout else ""),
                "optimizer": f"SGD, {'Nesterov ' if self.nesterov else ''}momentum {self.momentum:g}, batch {self.batch_size}",
                "learning rate": f"peak {self.lr:g}: linear warm-up over {self.warmup_epochs:g} epoch"
                                 f"{'' if self.warmup_epochs == 1 else 's'}, then cosine decay to 0, per step",
                "weight decay": f"{self.weight_decay:g} on convolution and linear weights (not BatchNorm, not biases; "
                                "a dynamic convolution decays the mean of its kernels)",
                "label smoothing": f"{self.label_smoothing:g}",
                "precision": {"auto": "bf16 autocast where the hardware has native bf16, else fp32; evaluation in fp32",
                              "bf16": "bf16 autocast; evaluation in fp32", "fp32": "fp32"}[self.precision]}

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
        try:  # the model and the names of its settings, before any run folder exists
            model_settings(self.model, **self.model_kwargs)
        except (ValueError, TypeError) as err:
            problems.append(str(err))
        if problems:
            raise ValueError("bad TrainConfig: " + "; ".join(problems))


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


# Compiling the training step on the CPU pays for some model families and loses for others
# (measured per machine by `python -m common.bench trainer`, which records its decisions here).
COMPILE_DECISIONS = BENCH_DIR / "compile_cpu.json"
MIN_COMPILE_GAIN = 1.10  # compile on the CPU only where the compiled step is >= 10% faster
COMPILE_PROFILES = ("paper",)  # committed `full` runs keep the eager step they were trained with


def compile_decisions(path: Path = COMPILE_DECISIONS) -> dict:
    """{"<device name>, <precision>": {model: {"speedup", "compile", ...}}} as measured so far
    (CPU names can be generic, e.g. "AMD EPYC": the precision tells machines with native bf16
    from those without)."""
    return json.loads(path.read_text()) if path.exists() else {}


def resolve_compile(compile: str, device: torch.device, model: Optional[str] = None,
                    profile: Optional[str] = None, precision: Optional[str] = None,
                    decisions: Optional[dict] = None) -> bool:
    """Whether the training step runs compiled. ``on``/``off`` decide; ``auto`` compiles on
    CUDA (there a ResNet-20 step is bound by per-step launch latency, which CUDA graphs remove)
    and, on the CPU, only for new runs of ``COMPILE_PROFILES`` whose model family was measured
    on this CPU (``device_name``) at this ``precision`` to train >= ``MIN_COMPILE_GAIN`` x faster
    compiled (``decisions``, default: ``COMPILE_DECISIONS``). Unmeasured: eager, never slower."""
    if compile not in COMPILE:
        raise ValueError(f"compile must be one of {COMPILE} (got {compile!r})")
    if compile != "auto" or device.type == "cuda":
        return compile == "on" or compile == "auto"
    if profile not in COMPILE_PROFILES or model is None:
        return False
    decisions = compile_decisions() if decisions is None else decisions
    row = decisions.get(f"{device_name(device)}, {precision}", {}).get(model)
    return bool(row and row["compile"])


def device_name(dev: torch.device) -> str:
    """The GPU's or CPU's model name; a CPU's with the threads this process uses."""
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    cpu = platform.processor() or platform.machine()
    try:  # Linux names the CPU model here; platform.processor() is often empty
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu} CPU ({torch.get_num_threads()} threads)"
