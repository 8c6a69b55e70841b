"""Names: how a run, a model family and a layer are called in tables, figures and prose.

One function per kind of name, so every table, figure and sentence calls a thing the same.

Runs (``run_label``): the family's short name, then its knob, then what else sets it apart::

    ResNet-20                                   the baseline
    ResNet-20 ×0.5 width                        a thin static ResNet-20 (every stage's channels ×0.5)
    DY K=4                                      DY-ResNet-20, 4 kernels per dynamic convolution
    gated L0=0.5                                gated ResNet-20, L0 weight 0.5 (uniform cost per gate)
    gated conditional (MAC-weighted L0=1.0)     batch-shaping held throughout training, so the gates
                                                stay conditional, and each gate charged its channel's MACs

Every label starts with its family's short name ("ResNet-20", "DY", "gated") and a space, so a
label's first word tells its family (``common.plots.plot_robustness_curves`` relies on it), and no
label has a comma outside parentheses, so labels listed with commas in prose stay apart.

Layers (``layer_name``): ``s<stage>.b<block>`` counted from 1 as the prose counts them, with the
convolution when there is one: module ``stages.0.1.conv1`` is ``s1.b2.conv1``; ResNet-20 has 3 stages
of 3 blocks.

Cost is counted in MACs (multiply-accumulates, ``common.flops``); 1 MAC is about 2 FLOPs.

Words the code, notebooks and README share:

- **headline gated model** (code: ``manifest.HEADLINE``, short name ``headline``): the gated model
  the selection rule chose on a training hold-out; its label is the last one in the list above.
- **static control** (``manifest.HEADLINE_CONTROL``, ``width0.5``): the thin ResNet-20 that costs about
  the headline's average MACs on every image; in tables over seeds, each dynamic model's **nearest static**
  model (nearest in log MACs, ``seeds.overview``).
- **static frontier**: test accuracy of the thin and full ResNet-20s, linear in log MACs; a
  dynamic model's **margin** is its accuracy minus the frontier's at its own MACs. On the
  hold-out, where the rule chose the headline, it is the **proxy frontier**
  (``selection.proxy_frontier``).
- **executed MACs**: for a gated model, the average over test images of the MACs its active
  channels execute (``metrics.json``: ``avg_executed_macs``; tables over seeds: ``macs``); for a
  static or DY model, its constant cost.
"""

from __future__ import annotations

import re
from typing import Callable, NamedTuple, Optional


def _gated_recipe(kwargs: dict) -> list[str]:
    """A gated run's recipe settings in words, removed from ``kwargs``: batch-shaping held throughout
    (``bs_until=None``) is "conditional", ``l0_cost="macs"`` is "MAC-weighted" L0."""
    qualifiers = []
    if "bs_until" in kwargs and kwargs["bs_until"] is None:
        kwargs.pop("bs_until")
        qualifiers.append("conditional")
    if kwargs.get("l0_cost") == "macs":
        kwargs.pop("l0_cost")
        qualifiers.append("MAC-weighted L0")
    return qualifiers


def _resnet_label(kwargs: dict) -> str:
    """"ResNet-20", "ResNet-20 ×0.5 width"."""
    width = kwargs.pop("width", None)
    return "ResNet-20" + (f" ×{width:g} width" if width not in (None, 1, 1.0) else "")


def _dy_label(kwargs: dict) -> str:
    """"DY K=4"."""
    return "DY" + (f" K={kwargs.pop('num_kernels')}" if "num_kernels" in kwargs else "")


def _gated_label(kwargs: dict) -> str:
    """"gated L0=0.5", "gated conditional (MAC-weighted L0=1.0)": the L0 weight is the knob, and
    a MAC-weighted L0 names it."""
    qualifiers = _gated_recipe(kwargs)
    prefix = "MAC-weighted L0" if "MAC-weighted L0" in qualifiers else "L0"
    qualifiers = [q for q in qualifiers if q != prefix]  # the prefix names the knob instead
    knob = f"{prefix}={kwargs.pop('l0_weight')}" if "l0_weight" in kwargs else prefix
    knob = "" if knob == "L0" else knob  # no weight given and nothing to say about L0
    if qualifiers:  # "gated conditional (MAC-weighted L0=1.0)"
        return f"gated {' '.join(qualifiers)}" + (f" ({knob})" if knob else "")
    return f"gated {knob}".strip()  # "gated L0=0.5"


class Family(NamedTuple):
    """How a model family of ``common.models`` is named."""
    name: str                               # in tables and figures: "DY-ResNet-20"
    knob: str                               # the setting its runs are compared along (a line in figures)
    label_of: Callable[[dict], str]         # a run's label from its settings, taking out those it names
    recipe: Callable[[dict], list[str]] = lambda kwargs: []  # settings that set a line apart, taken out


# How each family is named, by its model in ``common.models``: a new family's entry goes here.
NAMING = {"resnet20": Family("ResNet-20", "width", _resnet_label),
          "dy_resnet20": Family("DY-ResNet-20", "num_kernels", _dy_label),
          "gated_resnet20": Family("gated ResNet-20", "l0_weight", _gated_label, _gated_recipe)}
FAMILIES = {model: family.name for model, family in NAMING.items()}  # each family's name in tables


def _rest(kwargs: dict) -> list[str]:
    """Settings no rule names, as ``k=v`` (kept so two different runs never share a label)."""
    return [f"{k}={v}" for k, v in sorted(kwargs.items())]


def run_label(model: str, model_kwargs: Optional[dict] = None) -> str:
    """The label a run goes by in tables, figures and prose (the scheme is the module docstring's):
    "ResNet-20", "ResNet-20 ×0.5 width", "DY K=4", "gated L0=0.5",
    "gated conditional (MAC-weighted L0=1.0)"."""
    kwargs = dict(model_kwargs or {})
    label = NAMING[model].label_of(kwargs) if model in NAMING else model
    return " ".join([label, *_rest(kwargs)])


def run_family(model: str, model_kwargs: Optional[dict] = None) -> str:
    """The line a run belongs to in accuracy-vs-MACs figures: its family, plus any recipe setting
    beyond the family's own knob (K, L0 weight, or width: thin ResNet-20s are the static
    frontier, so they share ResNet-20's line), e.g. "gated ResNet-20 (conditional, MAC-weighted L0)"."""
    family = NAMING.get(model)
    if family is None:
        return f"{model} ({', '.join(_rest(dict(model_kwargs or {})))})" if model_kwargs else model
    kwargs = {k: v for k, v in (model_kwargs or {}).items() if k != family.knob}
    extra = [*family.recipe(kwargs), *_rest(kwargs)]
    return f"{family.name} ({', '.join(extra)})" if extra else family.name


SEED_LABEL = re.compile(r"^(.*) \(seed (\d+)\)$")


def seed_label(label: str, seed: int) -> str:
    """A run at another seed than the notebook's: "DY K=4 (seed 1)"."""
    return f"{label} (seed {seed})"


def split_seed(label: str) -> tuple[str, Optional[int]]:
    """``seed_label`` read back: ("DY K=4", 1) for "DY K=4 (seed 1)", (label, None) for a run at
    the notebook's seed."""
    found = SEED_LABEL.fullmatch(label)
    return (found[1], int(found[2])) if found else (label, None)


LAYER_PATH = re.compile(r"stages\.(\d+)\.(\d+)(?:\.(.+))?")


def layer_name(module: str) -> str:
    """A layer's name in figures, tables and prose, from its module path: ``stages.0.1`` ->
    ``s1.b2``, ``stages.2.2.conv1`` -> ``s3.b3.conv1`` (stages and blocks counted from 1); any
    other module (the stem, the classifier) keeps its path."""
    found = LAYER_PATH.fullmatch(module)
    if not found:
        return module
    stage, block, rest = found.groups()
    return f"s{int(stage) + 1}.b{int(block) + 1}" + (f".{rest}" if rest else "")


DY_COMPUTATIONS = {"aggregate": "kernels mixed per image", "dense": "K convolutions, outputs mixed"}


def throughput_label(label: str) -> str:
    """A throughput benchmark row's label (``common.bench``: "resnet20", "dy_resnet20 K=4
    aggregate") as the report names it: "ResNet-20", "DY K=4, kernels mixed per image"; any
    other label unchanged."""
    name, *rest = label.split()
    if name == "resnet20" and not rest:
        return run_label("resnet20")
    if name == "dy_resnet20" and len(rest) == 2 and rest[1] in DY_COMPUTATIONS:
        return f"DY {rest[0]}, {DY_COMPUTATIONS[rest[1]]}"
    return label
