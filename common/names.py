"""Names: how a run, a model family and a layer are called in tables, figures and prose.

One function per kind of name, so every table, figure and sentence calls a thing the same.
"""

from __future__ import annotations

from typing import Optional

FAMILIES = {"resnet20": "ResNet-20", "dy_resnet20": "DY-ResNet-20",
            "gated_resnet20": "gated ResNet-20"}


def run_label(model: str, model_kwargs: Optional[dict] = None) -> str:
    """The label a run goes by in tables and figures: "ResNet-20", "DY K=4", "gated L0=0.5";
    settings beyond the family's knob are appended (e.g. "ResNet-20 width=0.69")."""
    kwargs = dict(model_kwargs or {})
    knob = {"dy_resnet20": ("num_kernels", "DY K="), "gated_resnet20": ("l0_weight", "gated L0=")}
    if model in knob and knob[model][0] in kwargs:
        name, prefix = knob[model]
        label = f"{prefix}{kwargs.pop(name)}"
    else:
        label = FAMILIES.get(model, model)
    return " ".join([label, *(f"{k}={v}" for k, v in sorted(kwargs.items()))])


def run_family(model: str, model_kwargs: Optional[dict] = None) -> str:
    """The line a run belongs to in accuracy-vs-MACs figures: its family, plus any recipe setting
    beyond the family's own knob (K, L0 weight, or width: thin ResNet-20s are the static
    frontier, so they share ResNet-20's line), e.g. "gated ResNet-20 (bs_until=None, l0_cost=macs)"."""
    knobs = {"resnet20": "width", "dy_resnet20": "num_kernels", "gated_resnet20": "l0_weight"}
    extra = {k: v for k, v in (model_kwargs or {}).items() if k != knobs.get(model)}
    family = FAMILIES.get(model, model)
    return f"{family} ({', '.join(f'{k}={v}' for k, v in sorted(extra.items()))})" if extra else family


def short_layer_name(name: str) -> str:
    """``stages.1.0`` -> ``s1.b0`` (compact axis labels)."""
    parts = name.replace("stages.", "").split(".")
    return f"s{parts[0]}.b{parts[1]}" if len(parts) >= 2 else name
