"""Parameter and MAC counts, measured with thop plus the project's own counting rules.

Counting convention (the one the papers use): multiply-accumulates of convolutions and fully
connected layers. BatchNorm folds into the preceding convolution at inference, and ReLU,
pooling, padding shortcuts, residual additions and input normalisation are not counted, so
ResNet-20 comes to 40,551,040 MACs per 32x32 image. Later model families add their rules
with ``register_mac_rule``.
"""

from __future__ import annotations

import copy
from typing import Callable

import thop
import torch
import torch.nn as nn
from thop.profile import register_hooks as _THOP_RULES

from .models.resnet import Normalize, PadShortcut

MacRule = Callable[[nn.Module, tuple, torch.Tensor], None]  # thop forward-hook signature


def zero_macs(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
    """A module that costs nothing under our convention (adds 0 to thop's counter)."""
    module.total_ops += 0.0


MAC_RULES: dict[type[nn.Module], MacRule] = {
    nn.BatchNorm2d: zero_macs,  # folded into the conv before it
    nn.AdaptiveAvgPool2d: zero_macs,
    nn.Identity: zero_macs,
    Normalize: zero_macs,  # folds into the first conv
    PadShortcut: zero_macs,
}


def register_mac_rule(module_type: type[nn.Module]) -> Callable[[MacRule], MacRule]:
    """Decorator: count ``module_type`` with the decorated thop hook ``(module, inputs, output)``."""
    def wrap(rule: MacRule) -> MacRule:
        MAC_RULES[module_type] = rule
        return rule
    return wrap


def missing_mac_rules(model: nn.Module) -> list[str]:
    """Names of leaf module types that neither thop nor our rules know (they would count 0)."""
    known = set(MAC_RULES) | set(_THOP_RULES)
    return sorted({type(m).__name__ for m in model.modules()
                   if not list(m.children()) and type(m) not in known})


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_macs(model: nn.Module, input_size: tuple[int, ...] = (1, 3, 32, 32)) -> float:
    """Multiply-accumulates per image for one forward pass in eval mode (see module docstring)."""
    model = copy.deepcopy(model).eval()  # thop adds buffers and hooks; keep the caller's clean
    device = next(model.parameters()).device
    macs, _ = thop.profile(model, inputs=(torch.rand(*input_size, device=device),),
                           custom_ops=MAC_RULES, verbose=False)
    return float(macs) / input_size[0]
