"""Evaluation: a model run in eval mode over a set of images, and what it says or records there
(logits, loss and accuracy, dynamic convolution's attention, the gates of a gated model).

Images are uint8 (N, 3, H, W) as ``common.data`` holds them, or float in [0, 1] (e.g.
adversarial ones); batches go to ``device`` one at a time.
"""

from __future__ import annotations

from typing import Iterator

import torch
import torch.nn as nn
import torch.nn.functional as F

from .data import iterate_batches, to_float
from .models.dynamic_conv import dynamic_layers
from .models.gating import gated_blocks


@torch.no_grad()
def eval_batches(model: torch.nn.Module, images: torch.Tensor, batch_size: int = 500,
                 device: torch.device | str = "cpu") -> Iterator[torch.Tensor]:
    """Run ``model`` in eval mode over uint8 (or [0, 1] float) ``images``; yield each batch's
    output. Callers read what the model recorded during the batch (attention, gates) between
    yields. The model's train/eval mode is restored afterwards, also if the caller stops early.
    """
    was_training = model.training
    model.eval()
    try:
        for x, _ in iterate_batches(images, None, batch_size):
            yield model(to_float(x, device))
    finally:
        model.train(was_training)


@torch.no_grad()
def predict_logits(model: torch.nn.Module, images: torch.Tensor, device: torch.device | str = "cpu",
                   batch_size: int = 500) -> torch.Tensor:
    """fp32 logits of ``model`` in eval mode for uint8 images, on the CPU."""
    logits = [out.float().cpu() for out in eval_batches(model, images, batch_size, device)]
    return torch.cat(logits) if logits else torch.zeros(0)


def evaluate(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor,
             device: torch.device | str = "cpu") -> dict:
    """Cross-entropy loss and accuracy (percent) of ``model`` in eval mode, fp32."""
    logits = predict_logits(model, images, device)
    if len(labels) == 0:
        return {"loss": float("nan"), "acc": float("nan")}
    labels = labels.cpu()
    return {"loss": F.cross_entropy(logits, labels).item(),
            "acc": 100.0 * (logits.argmax(1) == labels).float().mean().item()}


@torch.no_grad()
def collect_attention(model: nn.Module, images: torch.Tensor, batch_size: int = 500,
                      device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """pi of every dynamic layer for every image (uint8 batch), in eval mode: name -> (N, K).

    Recording only keeps a detached copy of pi; the forward result is unchanged.
    """
    layers = dynamic_layers(model)
    collected: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
    try:
        for layer in layers.values():
            layer.record_attention = True
        for _ in eval_batches(model, images, batch_size, device):
            for name, layer in layers.items():
                collected[name].append(layer.last_attention.cpu())
    finally:
        for layer in layers.values():
            layer.record_attention, layer.last_attention = False, None
    return {name: torch.cat(parts) for name, parts in collected.items()}


@torch.no_grad()
def gated_eval(model: nn.Module, images: torch.Tensor, batch_size: int = 500,
               device: torch.device | str = "cpu") -> tuple[torch.Tensor, dict[str, dict[str, torch.Tensor]]]:
    """One eval-mode pass over ``images`` (uint8 batch): the logits, (N, classes) float on the
    CPU, and every gated block's gates, ``{block name: {"gates": (N, C) 0/1, "probs": (N, C)
    sigmoid(logits)}}``, so an analysis that needs both runs the model once."""
    blocks = gated_blocks(model)
    logits, parts = [], {name: {"gates": [], "probs": []} for name in blocks}
    for out in eval_batches(model, images, batch_size, device):
        logits.append(out.float().cpu())
        for name, block in blocks.items():
            parts[name]["gates"].append(block.gate.last_gates.cpu())
            parts[name]["probs"].append(block.gate.last_probs.float().cpu())
    return torch.cat(logits), {name: {key: torch.cat(values) for key, values in record.items()}
                               for name, record in parts.items()}


def collect_gates(model: nn.Module, images: torch.Tensor, batch_size: int = 500,
                  device: torch.device | str = "cpu") -> dict[str, dict[str, torch.Tensor]]:
    """Eval-mode gates of every gated block for every image: ``gated_eval``'s records."""
    return gated_eval(model, images, batch_size, device)[1]


def gate_on_rates(model: nn.Module, images: torch.Tensor, device: torch.device | str = "cpu"
                  ) -> dict[str, torch.Tensor]:
    """Per gated block, the share of ``images`` for which each channel's eval-mode gate is on."""
    return {name: record["gates"].float().mean(0)
            for name, record in collect_gates(model, images, device=device).items()}
