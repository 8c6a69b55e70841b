"""The study in one place: which runs it trains, under which short names and at which seeds
(``queue``: a profile's runs in the order they train; ``swept``: the values its notebooks sweep).
The notebooks, the Makefile (``python -m common.manifest``) and ``common.sweep`` read it; nothing
else lists runs.

A run's short name (``resnet20``, ``dy4``, ``gated0.5``, ``width0.5``, ``headline``) stands for a
model and its keyword arguments; ``model:{json kwargs}`` names any other run.

    python -m common.manifest queue full     # the runs and seeds of a profile's queue, in order
"""

from __future__ import annotations

import argparse
import json
import re

from .names import run_label

# Dynamic convolution: the numbers of kernels trained, and the one whose attention is analysed.
KERNELS = (2, 3, 4, 5)
ANALYSIS_K = 4
# Channel gating: one model per L0 weight (uniform cost per gate), and the headline gated model,
# chosen on a training hold-out by the rule of ``common.selection`` before its runs trained:
# batch-shaping held throughout, each channel charged its MACs in the L0 term.
L0_WEIGHTS = (0.25, 0.5, 1.0, 2.0)
# Added once the test accuracies of weights 1 and 2 were known (results/README.md): the findings say so.
L0_CHOSEN_AFTER_TEST = 0.25
HEADLINE = ("gated_resnet20", {"l0_weight": 1.0, "bs_until": None, "l0_cost": "macs"})
# The static controls: thin ResNet-20s, the static frontier a gated model is compared with.
WIDTHS = (0.45, 0.5, 0.58, 0.81)
# The headline's static control of equal MACs.
HEADLINE_CONTROL = "width0.5"
SEEDS = (0, 1, 2)

_PATTERNS = [(r"resnet20", "resnet20", None), (r"dy(\d+)", "dy_resnet20", ("num_kernels", int)),
             (r"gated([\d.]+)", "gated_resnet20", ("l0_weight", float)),
             (r"width([\d.]+)", "resnet20", ("width", float))]

# Other training histories of the same models: seeds 1 and 2 of these (notebook 04 transfers
# attacks between them).
REPLICATED = ["resnet20", "dy4", "headline"]

# Training queues per profile: (short name, seed), in priority order (``make train-all``).
QUEUES = {
    # The committed 30-epoch study: seed 0 of every run, then the seeds that the paired
    # comparisons need.
    "full": [(run, 0) for run in ("resnet20", "dy4", "gated2.0", "gated1.0", "gated0.5",
                                  "gated0.25", "dy2", "dy3", "dy5", "headline",
                                  *(f"width{w}" for w in WIDTHS))]
            + [(run, seed) for seed in (1, 2)
               for run in ("resnet20", "dy4", "headline", "width0.5", "width0.58", "width0.45")]
            + [("dy5", 1), ("dy2", 1)],
    # The standard 200-epoch regime for the decisive comparisons: seed 0 of all four first,
    # then ResNet-20 and the headline before DY and the static control. Last, the 30-epoch
    # frontier's width below the control: trained longer, the gated model may switch more
    # channels off than its control's MACs, and a frontier that brackets it still prices it.
    "paper": [(run, 0) for run in ("resnet20", "headline", "dy4", HEADLINE_CONTROL)]
             + [(run, seed) for seed in (1, 2) for run in ("resnet20", "headline")]
             + [(run, seed) for seed in (1, 2) for run in ("dy4", HEADLINE_CONTROL)]
             + [("width0.45", seed) for seed in (0, 1, 2)],
}


def parse_run(name: str) -> tuple[str, dict]:
    """A run's short name -> (model, kwargs): ``"dy4"`` -> ``("dy_resnet20", {"num_kernels":
    4})``, ``"headline"`` -> ``HEADLINE``; ``"model:{json kwargs}"`` passes through."""
    if name == "headline":
        return HEADLINE[0], dict(HEADLINE[1])
    if ":" in name:
        model, kwargs = name.split(":", 1)
        return model, json.loads(kwargs)
    for pattern, model, knob in _PATTERNS:
        if found := re.fullmatch(pattern, name):
            return model, ({knob[0]: knob[1](found.group(1))} if knob else {})
    raise ValueError(f"unknown run {name!r}: use resnet20, dyK, gatedW, widthW, headline or "
                     f"model:{{json kwargs}}")


# The models the decisive comparisons are about, by the names readers see (``names.run_label``).
DY_LABEL = run_label("dy_resnet20", {"num_kernels": ANALYSIS_K})
HEADLINE_LABEL = run_label(*HEADLINE)
CONTROL_LABEL = run_label(*parse_run(HEADLINE_CONTROL))
# Their comparisons wait for every seed in SEEDS before a verdict; the sweeps' models do not.
STUDY_LABELS = (DY_LABEL, HEADLINE_LABEL, CONTROL_LABEL)
# The sweeps' models: DY at each K, and the gated models with a uniform L0 penalty at each weight.
KERNEL_SWEEP_LABELS = tuple(run_label("dy_resnet20", {"num_kernels": k}) for k in KERNELS)
L0_SWEEP_LABELS = tuple(run_label("gated_resnet20", {"l0_weight": w}) for w in L0_WEIGHTS)


def swept(profile: str) -> dict[str, tuple]:
    """The sweeps a profile's notebooks train and analyse: ``{"kernels": K values, "l0_weights":
    uniform-L0 weights}``. A profile with a training queue sweeps the values its queue trains
    (``paper``: K = 4 and no uniform-L0 model, the decisive comparisons only); one without
    (``smoke``) sweeps the study's."""
    if profile not in QUEUES:
        return {"kernels": KERNELS, "l0_weights": L0_WEIGHTS}
    models = [parse_run(run) for run, _ in QUEUES[profile]]
    return {"kernels": tuple(sorted({kw["num_kernels"] for m, kw in models if m == "dy_resnet20"})),
            "l0_weights": tuple(sorted({kw["l0_weight"] for m, kw in models
                                        if m == "gated_resnet20" and set(kw) == {"l0_weight"}}))}


def queue(profile: str) -> list[tuple[str, int]]:
    """The (short name, seed) pairs a profile trains, in priority order."""
    if profile not in QUEUES:
        raise ValueError(f"no training queue for profile {profile!r}; queues: {list(QUEUES)}")
    return list(QUEUES[profile])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Print the study's run lists.")
    parser.add_argument("what", choices=["queue"])
    parser.add_argument("profile")
    args = parser.parse_args(argv)
    print(" ".join(f"{run}@{seed}" for run, seed in queue(args.profile)))


if __name__ == "__main__":
    main()
