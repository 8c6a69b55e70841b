"""Channel gating with batch-shaping (Bejnordi, Blankevoort, Welling, ICLR 2020).

Every basic block gets a gate that looks at the block's input and switches the first
convolution's output channels on or off per image:

    logits = FC(ReLU(BN(FC(GAP(x)))))          # (N, C): one logit per channel
    gate   = 1[logits + logistic noise > 0]     # training: hard 0/1, noisy
    gate   = 1[logits > 0]                      # eval: deterministic (sigmoid(logit) > 0.5)

The hard gate is used in the forward pass; in training the backward pass takes the gradient of
sigmoid((logits + noise) / tau) (straight-through Gumbel/Concrete, tau = 2/3). An off channel
removes conv1's output channel and conv2's input channel, which ``common.flops.executed_macs``
counts per image. ``regularizer(progress)`` returns the batch-shaping and L0 losses with their
schedules, and the trainer adds them to the cross-entropy.
"""

from __future__ import annotations

import contextlib
from functools import partial
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..losses import batch_shaping_loss, check_prior, gating_loss_weights, l0_loss
from .resnet import BasicBlock, CifarResNet


class GateBudget:
    """One gate's share of a per-image MAC budget that all gates of a model spend in turn
    during a forward pass (see ``gate_budget``)."""

    def __init__(self, pool: dict, channel_cost: float, first: bool):
        self.pool = pool  # shared by the model's gates: {"macs": budget, "left": (N,) or None}
        self.channel_cost = float(channel_cost)  # MACs one active channel of this gate costs
        self.first = first  # the first gate of a forward pass refills the budget

    def cap(self, hard: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """``hard`` (N, C) 0/1 with, per image, only as many on gates as the MACs left pay
        for: those with the highest logits. Spends what they cost."""
        if self.first or self.pool["left"] is None:
            self.pool["left"] = torch.full((len(hard),), self.pool["macs"], dtype=torch.float64,
                                           device=hard.device)
        left = self.pool["left"]
        affordable = torch.floor(left / self.channel_cost)
        affordable -= (affordable * self.channel_cost > left).double()  # guard rounding up
        # rank of each gate among the image's on gates, highest logit first (off gates last)
        order = logits.masked_fill(hard == 0, -float("inf")).argsort(dim=1, descending=True,
                                                                       stable=True)
        rank = torch.empty_like(order).scatter_(
            1, order, torch.arange(hard.shape[1], device=hard.device).expand_as(order))
        kept = hard * (rank < affordable[:, None]).to(hard.dtype)
        self.pool["left"] = left - kept.double().sum(1) * self.channel_cost
        return kept


class ChannelGate(nn.Module):
    """Per-image, per-channel hard gate computed from the block input: (N, in) -> (N, out, 1, 1)."""

    def __init__(self, in_ch: int, out_ch: int, hidden: int = 16, temperature: float = 2 / 3,
                 init_bias: float = 3.0):
        super().__init__()
        if hidden < 1 or temperature <= 0:
            raise ValueError(f"bad ChannelGate: hidden must be >= 1 (got {hidden}) and "
                             f"temperature > 0 (got {temperature})")
        self.in_ch, self.out_ch, self.temperature = in_ch, out_ch, temperature
        self.fc1 = nn.Linear(in_ch, hidden, bias=False)
        self.bn = nn.BatchNorm1d(hidden)
        self.fc2 = nn.Linear(hidden, out_ch)
        # Start with every channel (almost surely) on, i.e. from the plain ResNet.
        nn.init.constant_(self.fc2.bias, init_bias)
        # set by force_gates() (one value for every gate) or frozen_gates() (one per channel)
        self.forced: Optional[float | torch.Tensor] = None
        self.straight_through = False  # set by straight_through_gates(): eval-mode ST gradient
        self.budget: Optional[GateBudget] = None  # set by gate_budget(): caps the MACs per image
        self.last_logits: Optional[torch.Tensor] = None  # raw logits (no noise), (N, C), with grad
        self.last_probs: Optional[torch.Tensor] = None  # sigmoid(logits), (N, C), with grad
        self.last_gates: Optional[torch.Tensor] = None  # the hard 0/1 gates used, (N, C)

    def __getstate__(self):
        # The last batch's records may be part of an autograd graph, which cannot be copied or
        # pickled; a copy of the module (deepcopy, torch.save) starts without them.
        return {**super().__getstate__(), "last_logits": None, "last_probs": None,
                "last_gates": None}

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.relu(self.bn(self.fc1(x.float().mean(dim=(2, 3))))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.forced is not None:  # a float for every gate, or one value per channel
            gates = torch.as_tensor(self.forced, device=x.device).float().expand(len(x), self.out_ch)
            self.last_logits, self.last_probs, self.last_gates = None, gates, gates
            return gates[:, :, None, None].to(x.dtype)
        logits = self.logits(x)
        self.last_logits, self.last_probs = logits, torch.sigmoid(logits)
        if self.training:
            u = torch.rand_like(logits).clamp_(1e-6, 1 - 1e-6)
            logits = logits + torch.log(u) - torch.log1p(-u)  # logistic noise
        hard = (logits > 0).to(logits.dtype)
        if self.budget is not None:
            hard = self.budget.cap(hard, logits.detach())
        if self.training or self.straight_through:
            soft = torch.sigmoid(logits / self.temperature)
            gates = hard + (soft - soft.detach())  # forward: exactly hard; backward: d soft
        else:
            gates = hard
        self.last_gates = hard.detach()
        return gates[:, :, None, None].to(x.dtype)

    def extra_repr(self) -> str:
        return f"{self.in_ch} -> {self.out_ch} gates, temperature={self.temperature:.3g}"


class GatedResNet(CifarResNet):
    """A CIFAR ResNet whose basic blocks carry a ChannelGate; owns its gating losses."""

    L0_COSTS = ("uniform", "macs")

    def __init__(self, depth: int = 20, num_classes: int = 10, l0_weight: float = 2.0,
                 bs_weight: float = 0.75, prior=(0.6, 0.4), gate_hidden: int = 16,
                 gate_temperature: float = 2 / 3, bs_until: Optional[float] = 0.2,
                 l0_start: float = 0.2, l0_full: float = 0.6, l0_cost: str = "uniform",
                 gate_init_bias: float = 3.0, image_size: int = 32):
        a, b = prior
        check_prior(a, b)
        # validates the weights and the schedule
        gating_loss_weights(0.0, bs_weight, l0_weight, bs_until, l0_start, l0_full)
        if l0_cost not in self.L0_COSTS:
            raise ValueError(f"l0_cost must be one of {self.L0_COSTS}, got {l0_cost!r}")
        gate = partial(ChannelGate, hidden=gate_hidden, temperature=gate_temperature,
                       init_bias=gate_init_bias)
        super().__init__(depth=depth, num_classes=num_classes, gate_layer=gate)
        self.l0_weight, self.bs_weight, self.prior = l0_weight, bs_weight, (a, b)
        self.bs_until, self.l0_start, self.l0_full = bs_until, l0_start, l0_full
        self.l0_cost = l0_cost
        # Not persistent: derived from the architecture, so state dicts stay as they were.
        self.register_buffer("gate_costs", channel_costs(self, image_size), persistent=False)

    def regularizer(self, progress: float) -> dict[str, torch.Tensor]:
        """Weighted gating losses of the last forward pass at ``progress`` (0..1 of training)."""
        probs = torch.cat([g.last_probs for g in channel_gates(self)], dim=1)  # (N, all gates)
        bs_w, l0_w = gating_loss_weights(progress, self.bs_weight, self.l0_weight, self.bs_until,
                                         self.l0_start, self.l0_full)
        costs = self.gate_costs if self.l0_cost == "macs" else None
        # Sigmoids and MAC counts are in range by construction: no value checks, which would make
        # every training step wait for the device.
        losses = {"l0": l0_w * l0_loss(probs, costs, validate=False)}
        if bs_w > 0:  # the loss sorts every gate's column: skip it once its weight is 0
            losses["batch_shaping"] = bs_w * batch_shaping_loss(probs, *self.prior, validate=False)
        else:
            losses["batch_shaping"] = probs.new_zeros(())
        return losses


# A gate on for fewer than 10% of the images is "always off", for more than 90% "always on";
# in between it is conditional: the share that says whether gating depends on the input.
CONDITIONAL_RANGE = (0.1, 0.9)


def gate_kinds(on_rate: torch.Tensor) -> dict[str, torch.Tensor]:
    """Boolean masks over gates from their on-rates over images: "always on", "conditional",
    "always off" (see ``CONDITIONAL_RANGE``)."""
    low, high = CONDITIONAL_RANGE
    return {"always on": on_rate > high, "conditional": (on_rate >= low) & (on_rate <= high),
            "always off": on_rate < low}


def block_channel_costs(model: CifarResNet, image_size: int = 32) -> dict[str, int]:
    """MACs one active channel costs, per gated block (by name, in forward order): its conv1
    filter and conv2's matching input slice, both over conv1's output map. Worked out from the
    convolutions' shapes and strides, so it needs no forward pass (the model may be on the meta
    device, or still being built)."""
    costs, size = {}, image_size
    for name, block in model.named_modules():
        if not isinstance(block, BasicBlock):
            continue
        size = (size + 2 * block.conv1.padding[0] - block.conv1.kernel_size[0]) \
            // block.conv1.stride[0] + 1
        if isinstance(block.gate, ChannelGate):
            k1, k2 = block.conv1.kernel_size, block.conv2.kernel_size
            costs[name] = size * size * (block.conv1.in_channels * k1[0] * k1[1]
                                         + block.conv2.out_channels * k2[0] * k2[1])
    return costs


def channel_costs(model: CifarResNet, image_size: int = 32) -> torch.Tensor:
    """``block_channel_costs`` for every gate, in forward order: one value per channel."""
    blocks = gated_blocks(model)
    costs = [torch.full((blocks[name].gate.out_ch,), float(cost))
             for name, cost in block_channel_costs(model, image_size).items()]
    return torch.cat(costs) if costs else torch.zeros(0)


def gated_blocks(model: nn.Module) -> dict[str, BasicBlock]:
    """The model's basic blocks that carry a gate, by name, in forward order."""
    return {name: m for name, m in model.named_modules()
            if isinstance(m, BasicBlock) and isinstance(m.gate, ChannelGate)}


def channel_gates(model: nn.Module) -> list[ChannelGate]:
    """Every ChannelGate of ``model``, in forward order."""
    return [m for m in model.modules() if isinstance(m, ChannelGate)]


@contextlib.contextmanager
def _gates_set(model: nn.Module, attribute: str, value, default):
    """Within the block every gate's ``attribute`` is ``value``; afterwards ``default``."""
    gates = channel_gates(model)
    try:
        for g in gates:
            setattr(g, attribute, value)
        yield model
    finally:
        for g in gates:
            setattr(g, attribute, default)


def force_gates(model: nn.Module, value: float = 1.0):
    """Within the block every gate outputs ``value`` (1: the plain ResNet; 0: blocks skipped)."""
    return _gates_set(model, "forced", float(value), None)


@contextlib.contextmanager
def frozen_gates(model: nn.Module, on_rates: dict[str, torch.Tensor]):
    """Within the block every gate outputs its majority decision, the same for every image:
    channel c of block ``name`` is on iff ``on_rates[name][c] > 0.5`` (e.g. the on-rates over
    the training images, ``gate_on_rates``). The input-independent network that the gated one
    would be without its input dependence, as notebook 02's mean attention is for DY."""
    blocks = gated_blocks(model)
    if set(on_rates) != set(blocks):
        raise ValueError(f"on_rates must name every gated block {sorted(blocks)}, "
                         f"got {sorted(on_rates)}")
    try:
        for name, block in blocks.items():
            block.gate.forced = (on_rates[name] > 0.5).float()
        yield model
    finally:
        for block in blocks.values():
            block.gate.forced = None


@contextlib.contextmanager
def gate_budget(model: CifarResNet, macs: float, image_size: int = 32):
    """Within the block each image's active gated channels cost at most ``macs`` MACs in all
    (``block_channel_costs``); gates over budget are switched off, lowest logit first.

    Spent greedily in forward order: a block's logits exist only once the blocks before it have
    run, and an image within budget runs exactly as without one. Forced gates are not capped.
    ``common.flops.mac_budget`` states the budget as the whole network's executed MACs.
    """
    if macs < 0:
        raise ValueError(f"the gated channels' MAC budget must be >= 0 (got {macs})")
    blocks = gated_blocks(model)
    costs = block_channel_costs(model, image_size)
    pool = {"macs": float(macs), "left": None}
    try:
        for i, (name, block) in enumerate(blocks.items()):
            block.gate.budget = GateBudget(pool, costs[name], first=i == 0)
        yield model
    finally:
        for block in blocks.values():
            block.gate.budget = None


def straight_through_gates(model: nn.Module):
    """Eval-mode gates stay hard in the forward pass but pass the gradient of
    sigmoid(logits / tau) backwards: the relaxation an adaptive attack needs, since hard gates
    alone have zero gradient (gradient masking)."""
    return _gates_set(model, "straight_through", True, False)


@torch.no_grad()
def forward_active_channels(model: CifarResNet, image: torch.Tensor) -> torch.Tensor:
    """Eval-mode logits for ONE image that compute only the channels its gates switch on.

    The dense forward multiplies off channels by 0 but still computes them; here conv1 runs with
    the active output filters only and conv2 with the matching input channels, which is what
    the executed-MAC count assumes. Used to measure whether gating saves wall-clock time.
    """
    if image.ndim != 4 or len(image) != 1:
        raise ValueError(f"forward_active_channels takes one image of shape (1, 3, H, W), got "
                         f"{tuple(image.shape)}")
    if model.training:
        raise ValueError("forward_active_channels needs the model in eval mode (model.eval())")
    x = model.stem(model.normalize(image))
    for block in (b for stage in model.stages for b in stage):
        if block.gate is None:
            x = block(x)
            continue
        active = (block.gate.logits(x)[0] > 0).nonzero().flatten()
        shortcut = block.shortcut(x)
        if len(active) == 0:  # the whole residual branch is off: only bn2's shift remains
            h = torch.zeros_like(shortcut)
        else:
            bn1 = block.bn1
            h = F.conv2d(x, block.conv1.weight[active], stride=block.conv1.stride,
                         padding=block.conv1.padding)
            h = F.relu(F.batch_norm(h, bn1.running_mean[active], bn1.running_var[active],
                                    bn1.weight[active], bn1.bias[active], False, 0.0, bn1.eps))
            h = F.conv2d(h, block.conv2.weight[:, active], padding=block.conv2.padding)
        x = F.relu(block.bn2(h) + shortcut)
    return model.fc(torch.flatten(model.pool(x), 1))
