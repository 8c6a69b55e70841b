"""Model registry: ``build_model(name, **kwargs)`` is the one way to make a model.

Every model takes images in [0, 1] (it normalises inside) and returns class logits. The
registry knows nothing about disk: a trained run's weights load with ``common.runs.load_model``.

A new family, from training to the report:

1. here, a ``@register_model`` function (its settings' defaults are the family's own settings);
2. ``common.flops``, a MAC rule for each new layer type (``count_macs`` refuses a model it cannot
   count; rules match exact types, so a subclass needs its own);
3. ``common.names``, its entry in ``NAMING`` (its name, knob and label rule);
4. ``common.manifest``, its short name in ``_PATTERNS`` (and in ``parse_run``'s error message) and
   its runs in ``QUEUES`` (``make train-all``, ``make sweep``); among ``STUDY_LABELS`` if its
   comparison waits for every seed; a parameter of ``common.study.study_specs`` for the notebooks
   that train or load it by label;
5. ``common.verdicts.QUESTION_COLUMNS`` if the study's question compares it (``common.lengths.comparisons``
   to compare it at both training lengths); its finding in a module of ``common.findings``, imported
   by ``findings/__init__.py``, listed by ``findings.findings`` (the README) and shown in its
   notebook 05 section with ``findings.about``; the subjects of its per-image analyses in
   ``findings.ANALYSIS_TOPICS``;
6. ``tests/test_layers.py``, every new module of ``common`` in its layer of ``LAYERS``.
"""

from __future__ import annotations

import inspect
from functools import partial
from typing import Callable, Optional

import torch.nn as nn

from .dynamic_conv import DynamicConv2d
from .gating import ChannelGate, GatedResNet
from .resnet import BasicBlock, CifarResNet, conv3x3

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Decorator: make ``fn`` buildable as ``build_model(fn.__name__, **kwargs)``."""
    if fn.__name__ in _REGISTRY:
        raise ValueError(f"model {fn.__name__!r} is registered twice")
    _REGISTRY[fn.__name__] = fn
    return fn


def list_models() -> list[str]:
    return sorted(_REGISTRY)


def model_settings(name: str, **kwargs) -> dict:
    """Every setting ``build_model(name, **kwargs)`` uses, defaults included (what a run's
    ``config.json`` records beside the kwargs that name it). An unknown model is a ValueError, a
    setting the model does not have (e.g. a misspelt one) a TypeError naming the model's settings."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(list_models())}")
    signature = inspect.signature(_REGISTRY[name])
    unknown = sorted(set(kwargs) - set(signature.parameters))
    if unknown:
        raise TypeError(f"model {name!r} has no setting {', '.join(map(repr, unknown))}; its "
                        f"settings: {', '.join(signature.parameters)}")
    bound = signature.bind(**kwargs)
    bound.apply_defaults()
    return {k: list(v) if isinstance(v, tuple) else v for k, v in bound.arguments.items()}


def build_model(name: str, **kwargs) -> nn.Module:
    """Build a registered model by name, e.g. ``build_model("resnet20")``."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(list_models())}")
    return _REGISTRY[name](**kwargs)


@register_model
def resnet20(width: float = 1.0, num_classes: int = 10) -> nn.Module:
    """He et al. 2016 CIFAR ResNet-20: 269,722 parameters, 40.55M MACs per 32x32 image.

    ``width`` scales every stage's channels (16, 32, 64 at 1.0; rounded, doubling kept): the
    static networks of equal MACs that the gated models are compared with (MACs ~ width^2).
    """
    if width <= 0:
        raise ValueError(f"width must be > 0, got {width}")
    base = max(1, round(16 * width))
    return CifarResNet(depth=20, num_classes=num_classes, widths=(base, 2 * base, 4 * base))


@register_model
def dy_resnet20(num_kernels: int = 4, reduction: int = 4, temperature: float = 30.0,
                anneal_epochs: float = 10.0, mode: str = "auto", num_classes: int = 10) -> nn.Module:
    """DY-ResNet-20: the 18 block convolutions are DynamicConv2d with ``num_kernels`` kernels.

    Stem, shortcuts and classifier stay static; everything else is the baseline's block.
    """
    conv = partial(DynamicConv2d, num_kernels=num_kernels, reduction=reduction,
                   temperature=temperature, anneal_epochs=anneal_epochs, mode=mode)
    return CifarResNet(depth=20, num_classes=num_classes, conv_layer=conv)


@register_model
def gated_resnet20(l0_weight: float = 2.0, bs_weight: float = 0.75, prior=(0.6, 0.4),
                   bs_until: Optional[float] = 0.2, l0_start: float = 0.2, l0_full: float = 0.6,
                   l0_cost: str = "uniform", gate_init_bias: float = 3.0,
                   num_classes: int = 10) -> nn.Module:
    """ResNet-20 with a batch-shaped channel gate in each basic block (Bejnordi et al. 2020).

    ``l0_weight`` is the knob that trades accuracy for executed MACs; see common.models.gating.
    Its scale was calibrated on a training-set hold-out: see results/README.md, "The L0 weights of the uniform gated models".
    ``bs_until``: batch-shaping decays to 0 by this fraction of training (None: held throughout);
    L0 rises from 0 at ``l0_start`` to ``l0_weight`` at ``l0_full`` (fractions of training);
    ``l0_cost="macs"`` charges each channel its MACs in the L0 term instead of counting gates.
    """
    return GatedResNet(depth=20, num_classes=num_classes, l0_weight=l0_weight,
                       bs_weight=bs_weight, prior=tuple(prior), bs_until=bs_until,
                       l0_start=l0_start, l0_full=l0_full, l0_cost=l0_cost,
                       gate_init_bias=gate_init_bias)


__all__ = ["BasicBlock", "ChannelGate", "CifarResNet", "DynamicConv2d", "GatedResNet", "conv3x3",
           "build_model", "list_models", "model_settings", "register_model"]
