"""Parameter and MAC counts, measured with thop plus the project's own counting rules.

Counting convention (the one the papers use): multiply-accumulates of convolutions and fully
connected layers. BatchNorm folds into the preceding convolution at inference, and ReLU,
pooling, padding shortcuts, residual additions and input normalisation are not counted, so
ResNet-20 comes to 40,551,040 MACs per 32x32 image. Later model families add their rules
with ``register_mac_rule``.

A MAC is one multiply and one add, so FLOPs ≈ 2 × MACs; every table and figure counts MACs
(figures say so on their axis, ``common.plots.MACS_NOTE``).
"""

from __future__ import annotations

import copy
from typing import Callable

import thop
import torch
import torch.nn as nn
from thop.profile import register_hooks as _THOP_RULES

from .models.dynamic_conv import DynamicConv2d
from .evaluation import collect_gates
from .models.gating import ChannelGate, block_channel_costs, gate_budget, gate_kinds, gated_blocks
from .models.resnet import Normalize, PadShortcut

RESNET20_MACS = 40_551_040  # ResNet-20 under this convention; the reference of every "% of"

MacRule = Callable[[nn.Module, tuple, torch.Tensor], None]  # thop forward-hook signature


def zero_macs(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
    """A module that costs nothing under our convention (adds 0 to thop's counter)."""
    module.total_ops += 0.0


MAC_RULES: dict[type[nn.Module], MacRule] = {
    nn.BatchNorm2d: zero_macs,  # folded into the conv before it
    nn.AdaptiveAvgPool2d: zero_macs,
    nn.Identity: zero_macs,
    nn.Flatten: zero_macs,
    Normalize: zero_macs,  # folds into the first conv
    PadShortcut: zero_macs,
}


def register_mac_rule(module_type: type[nn.Module]) -> Callable[[MacRule], MacRule]:
    """Decorator: count ``module_type`` with the decorated thop hook ``(module, inputs, output)``."""
    def wrap(rule: MacRule) -> MacRule:
        MAC_RULES[module_type] = rule
        return rule
    return wrap


@register_mac_rule(DynamicConv2d)
def dynamic_conv_macs(module: DynamicConv2d, inputs: tuple, output: torch.Tensor) -> None:
    """Attention branch + kernel aggregation + the convolution (strategy "aggregate").

    thop does not descend into a module that has its own rule, so the attention's pooling and
    FCs are counted here: pooling as one add per input element, the FCs as in*out MACs.
    """
    x = inputs[0]
    n, c, h, w = x.shape
    fcs = [m for m in module.attention.modules() if isinstance(m, nn.Linear)]
    attention = c * h * w + sum(fc.in_features * fc.out_features for fc in fcs)
    kernel = module.out_ch * module.in_ch * module.kernel_size ** 2
    aggregation = module.num_kernels * kernel
    convolution = output.shape[2] * output.shape[3] * kernel
    module.total_ops += n * (attention + aggregation + convolution)


@register_mac_rule(ChannelGate)
def channel_gate_macs(module: ChannelGate, inputs: tuple, output: torch.Tensor) -> None:
    """The gate's own cost: pooling (one add per input element) and its two FCs (BN folds)."""
    n, c, h, w = inputs[0].shape
    hidden = module.fc1.out_features
    module.total_ops += n * (c * h * w + c * hidden + hidden * module.out_ch)


def missing_mac_rules(model: nn.Module) -> list[str]:
    """Names of the module types that ``count_macs`` would count wrong: a leaf that neither thop
    nor our rules know (it would count 0), or a module with parameters of its own and no rule
    (thop would count only its children). Rules match the exact type, as thop looks them up, so
    a subclass of a counted module needs a rule of its own."""
    known = set(MAC_RULES) | set(_THOP_RULES)
    return sorted({type(m).__name__ for m in model.modules()
                   if type(m) not in known and (not list(m.children()) or list(m.parameters(recurse=False)))})


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_macs(model: nn.Module, input_size: tuple[int, ...] = (1, 3, 32, 32)) -> float:
    """Multiply-accumulates per image for one forward pass in eval mode (see module docstring);
    a ``ValueError`` names the module types it has no rule for (``missing_mac_rules``)."""
    missing = missing_mac_rules(model)
    if missing:
        raise ValueError(f"no MAC rule for {', '.join(missing)}: add one with common.flops.register_mac_rule")
    model = copy.deepcopy(model).eval()  # thop adds buffers and hooks; keep the caller's clean
    device = next(model.parameters()).device
    # thop adds a root module's own count to its children's; wrapping the model keeps a layer
    # with its own rule (which already covers its children) from being counted twice. Zeros,
    # not random images: counts depend on shapes only, and the trainer's per-epoch gating
    # statistics must not advance the global RNG that draws the gates' training noise.
    macs, _ = thop.profile(nn.Sequential(model), inputs=(torch.zeros(*input_size, device=device),),
                           custom_ops=MAC_RULES, verbose=False)
    return float(macs) / input_size[0]


def executed_macs(model: nn.Module, images: torch.Tensor, batch_size: int = 500,
                  device: torch.device | str = "cpu", gates: dict | None = None) -> torch.Tensor:
    """MACs actually executed for each image (uint8, or float in [0, 1] such as adversarial
    images) in eval mode, with the hard gates: (N,) float64.

    A gated block skips, for every channel its gate switches off, that output filter of conv1
    and that input channel of conv2 (BN and ReLU on it fold away or cost nothing under our
    convention). So: the all-on count (``count_macs``, gates' own MACs included) minus the cost
    of the off channels. For a model without gates every image costs ``count_macs(model)``.
    ``gates``: the images' ``collect_gates`` record, when the caller has it already.
    """
    full = count_macs(model, (1, *images.shape[1:]))
    per_image = torch.full((len(images),), full, dtype=torch.float64)
    if not gated_blocks(model):
        return per_image
    costs = block_channel_costs(model, images.shape[-1])
    if gates is None:
        gates = collect_gates(model, images, batch_size, device)
    for name, record in gates.items():
        off = record["gates"].shape[1] - record["gates"].double().sum(dim=1)
        per_image -= off * costs[name]
    return per_image


def mac_budget(model: nn.Module, macs: float, image_size: int = 32):
    """Context manager: within it no image executes more than ``macs`` MACs (``executed_macs``
    <= ``macs`` for every input, adversarial ones included), by construction.

    What the gates cannot switch off (stem, shortcuts, classifier, the gates themselves: the
    all-off count) is fixed, so the gated channels get the rest, ``gate_budget``'s greedy rule.
    """
    blocks = gated_blocks(model)
    gated = sum(cost * blocks[name].gate.out_ch  # exact integers: float32 sums would round
                for name, cost in block_channel_costs(model, image_size).items())
    fixed = count_macs(model, (1, 3, image_size, image_size)) - gated
    if macs < fixed:
        raise ValueError(f"a budget of {macs:,.0f} MACs is below the {fixed:,.0f} MACs this model "
                         f"executes with every gate off")
    return gate_budget(model, macs - fixed, image_size)


def gating_statistics(model: nn.Module, images: torch.Tensor, device: torch.device | str = "cpu",
                      gates: dict | None = None) -> dict[str, float]:
    """How conditional a gated model's eval-mode gates are on ``images`` ({} without gates).

    Shares of all gates that are always on, conditional or always off (``gate_kinds``), the
    conditional share of the live gates (those not always off), and the mean and spread
    (std / mean) of the MACs executed per image. Recorded per epoch by the trainer.
    ``gates``: the images' ``collect_gates`` record, when the caller has it already.
    """
    if not gated_blocks(model):
        return {}
    if gates is None:
        gates = collect_gates(model, images, device=device)
    on_rate = torch.cat([record["gates"].float().mean(0) for record in gates.values()])
    kinds = {kind: mask.float().mean().item() for kind, mask in gate_kinds(on_rate).items()}
    live = kinds["always on"] + kinds["conditional"]
    macs = executed_macs(model, images, gates=gates)
    return {"gates_always_on": kinds["always on"], "gates_conditional": kinds["conditional"],
            "gates_always_off": kinds["always off"],
            "live_conditional": kinds["conditional"] / live if live else 0.0,
            "macs_mean": macs.mean().item(), "macs_cv": (macs.std() / macs.mean()).item()}
