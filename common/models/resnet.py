"""The CIFAR ResNet of He et al. (2016), option-A shortcuts, as in akamaster/pytorch_resnet_cifar10.

The basic block takes its convolution as a factory (``conv_layer``) and an optional per-channel
gate (``gate_layer``), so dynamic convolution and channel gating reuse this block instead of
copying it.
"""

from __future__ import annotations

import re
from typing import Callable, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data import CIFAR10_MEAN, CIFAR10_STD

ConvFactory = Callable[..., nn.Module]  # (in_ch, out_ch, kernel_size, stride, padding) -> conv


def conv3x3(in_ch: int, out_ch: int, kernel_size: int = 3, stride: int = 1,
            padding: int = 1) -> nn.Module:
    """The static convolution of the baseline (no bias: BatchNorm follows)."""
    return nn.Conv2d(in_ch, out_ch, kernel_size, stride=stride, padding=padding, bias=False)


class Normalize(nn.Module):
    """Maps images in [0, 1] to zero mean, unit variance, so the model's input is pixel space."""

    def __init__(self, mean=CIFAR10_MEAN, std=CIFAR10_STD):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class PadShortcut(nn.Module):
    """Option-A shortcut: subsample spatially, zero-pad the new channels (no parameters)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int):
        super().__init__()
        self.stride, self.extra = stride, out_ch - in_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, ::self.stride, ::self.stride]
        return F.pad(x, (0, 0, 0, 0, self.extra // 2, self.extra - self.extra // 2))


class BasicBlock(nn.Module):
    """conv-BN-ReLU-[gate]-conv-BN, plus the shortcut, then ReLU.

    ``gate_layer(in_ch, out_ch)``, if given, builds a module that maps the block's input to a
    per-sample, per-channel multiplier of shape (N, out_ch, 1, 1) applied to the first conv's
    activated output (channel gating).
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1,
                 conv_layer: ConvFactory = conv3x3,
                 gate_layer: Optional[Callable[[int, int], nn.Module]] = None):
        super().__init__()
        self.conv1 = conv_layer(in_ch, out_ch, 3, stride, 1)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = conv_layer(out_ch, out_ch, 3, 1, 1)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.gate = gate_layer(in_ch, out_ch) if gate_layer is not None else None
        self.shortcut = (PadShortcut(in_ch, out_ch, stride)
                         if stride != 1 or in_ch != out_ch else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn1(self.conv1(x)))
        if self.gate is not None:
            h = h * self.gate(x)
        h = self.bn2(self.conv2(h))
        return F.relu(h + self.shortcut(x))


class CifarResNet(nn.Module):
    """ResNet-(6n+2) for 32x32 images: stem, three stages of n blocks, global pool, linear."""

    def __init__(self, depth: int = 20, num_classes: int = 10, widths=(16, 32, 64),
                 block: type[nn.Module] = BasicBlock, **block_kwargs):
        super().__init__()
        if (depth - 2) % 6 != 0 or depth < 8:
            raise ValueError(f"CIFAR ResNet depth must be 6n+2 with n >= 1 (20, 32, 44, ...); "
                             f"got {depth}")
        n = (depth - 2) // 6
        self.normalize = Normalize()
        self.stem = nn.Sequential(conv3x3(3, widths[0]), nn.BatchNorm2d(widths[0]),
                                  nn.ReLU(inplace=True))
        stages, in_ch = [], widths[0]
        for i, width in enumerate(widths):
            blocks = []
            for j in range(n):
                blocks.append(block(in_ch, width, 2 if (i > 0 and j == 0) else 1, **block_kwargs))
                in_ch = width
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_ch, num_classes)
        self._init_weights()

    def _init_weights(self):
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)  # He init, as in the reference implementation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(self.normalize(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


# akamaster/pytorch_resnet_cifar10 normalises its inputs with ImageNet's statistics.
AKAMASTER_MEAN, AKAMASTER_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def akamaster_key(name: str) -> str:
    """A parameter's name in akamaster/pytorch_resnet_cifar10's checkpoints
    (``module.layer2.0.conv1.weight``) as ``CifarResNet`` names it (``stages.1.0.conv1.weight``)."""
    name = name.removeprefix("module.")  # saved from nn.DataParallel
    name = re.sub(r"^conv1\.", "stem.0.", name)
    name = re.sub(r"^bn1\.", "stem.1.", name)
    name = re.sub(r"^layer(\d+)\.", lambda m: f"stages.{int(m.group(1)) - 1}.", name)
    return re.sub(r"^linear\.", "fc.", name)


def from_akamaster(state_dict: dict[str, torch.Tensor], depth: int = 20) -> CifarResNet:
    """akamaster/pytorch_resnet_cifar10's trained network (its checkpoint's ``state_dict``) as a
    ``CifarResNet``: the same layers under other names, with the input normalisation it was
    trained with. Every weight and BatchNorm statistic of the network must be in ``state_dict``
    (only the BatchNorm step counters, which its checkpoints lack, may be missing)."""
    model = CifarResNet(depth)
    model.normalize = Normalize(AKAMASTER_MEAN, AKAMASTER_STD)
    renamed = {akamaster_key(k): v for k, v in state_dict.items()}
    own = model.state_dict()
    unknown = sorted(set(renamed) - set(own))
    missing = sorted(k for k in set(own) - set(renamed)
                     if not k.startswith("normalize.") and not k.endswith("num_batches_tracked"))
    if unknown or missing:
        raise ValueError(f"not a ResNet-{depth} checkpoint of akamaster/pytorch_resnet_cifar10: "
                         f"unknown {unknown[:3]}, missing {missing[:3]}")
    model.load_state_dict(own | renamed)
    return model
