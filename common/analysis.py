"""Per-image feature analysis shared by the dynamic-convolution and gating notebooks.

A "feature" here is any per-image vector describing what the dynamic parts of a network did:
the concatenated attention of all dynamic-convolution layers, or the on/off pattern of all
channel gates. The same tools answer the same questions for both: do classes separate
(t-SNE), and do similar classes (cat/dog, automobile/truck) behave alike (class x class
similarity with a dendrogram)?

Per-layer results are dicts keyed by module path (``stages.0.1.conv1``: what ``named_modules``
calls a layer, so code can find it); tables for readers name layers by ``common.names.layer_name``
(``s1.b2.conv1``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch
from scipy import stats

from .data import CLASSES, to_float
from .evaluation import collect_attention, eval_batches, gate_on_rates, gated_eval
from .flops import executed_macs, gating_statistics
from .models import build_model
from .models.dynamic_conv import DynamicConv2d, kernel_diversity, kernel_sizes
from .models.gating import frozen_gates, gate_kinds, gated_blocks
from .names import layer_name


def concat_features(per_layer: dict[str, torch.Tensor]) -> np.ndarray:
    """(N, sum of layer widths) array from a ``{layer: (N, width)}`` dict, in layer order."""
    return torch.cat(list(per_layer.values()), dim=1).numpy()


def normalized_entropy(per_layer: dict[str, torch.Tensor]) -> pd.DataFrame:
    """Per layer (``layer_name``): mean entropy of the per-image distributions, divided by
    log(width). 1 means uniform (input-independent mixing), 0 means one kernel per image.
    """
    rows = []
    for i, (name, probs) in enumerate(per_layer.items()):
        width = probs.shape[1]
        entropy = -(probs * probs.clamp_min(1e-12).log()).sum(1)
        rows.append({"layer": layer_name(name), "index": i, "normalized_entropy":
                     (entropy / math.log(width)).mean().item() if width > 1 else 1.0})
    return pd.DataFrame(rows)


def class_means(features: np.ndarray, labels: np.ndarray, num_classes: int = len(CLASSES)
                ) -> np.ndarray:
    """(num_classes, D): the mean feature vector of each class."""
    return np.stack([features[labels == c].mean(0) for c in range(num_classes)])


def class_similarity(features: np.ndarray, labels: np.ndarray, classes=CLASSES) -> pd.DataFrame:
    """Class x class Pearson correlation of the class-mean features, centred over classes.

    Centring removes what every class shares (e.g. layers that always pick the same kernel),
    so the matrix shows how classes differ from the average, not that they all look alike.
    """
    means = class_means(features, labels, len(classes))
    centred = means - means.mean(0, keepdims=True)
    return pd.DataFrame(np.corrcoef(centred), index=list(classes), columns=list(classes))


def nearest_classes(similarity: pd.DataFrame) -> pd.Series:
    """For each class, the other class it is most similar to."""
    masked = similarity.where(~np.eye(len(similarity), dtype=bool))
    return masked.idxmax(axis=1)


def tsne_embedding(features: np.ndarray, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """2-D t-SNE of the rows of ``features`` (PCA initialisation, seeded)."""
    from sklearn.manifold import TSNE

    perplexity = min(perplexity, max(2.0, (len(features) - 1) / 3))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed,
                learning_rate="auto").fit_transform(features.astype(np.float32))


def attention_layer_statistics(attention: dict[str, torch.Tensor], layers: dict[str, DynamicConv2d]
                               ) -> pd.DataFrame:
    """Per dynamic layer (``layers``, by the names of ``attention``), the three numbers that tell
    whether it is really dynamic, and the two sizes the third is made of.

    ``normalized_entropy`` (1: every image mixes its kernels uniformly), ``spread_over_images``
    (std of pi over images, averaged over the kernels; 0: the same pi for every image, i.e. a
    static layer however peaked pi is) and ``kernel_diversity`` (0: all K kernels identical, so
    pi has no effect; see ``dynamic_conv.kernel_diversity``), the ratio of ``kernel_spread`` (a
    kernel's RMS distance from the mean kernel) to ``mean_kernel_rms``: a large ratio may be a
    wide spread or a small mean kernel, which the two sizes tell apart.
    """
    stats = normalized_entropy(attention)
    stats["spread_over_images"] = [probs.std(0).mean().item() for probs in attention.values()]
    sizes = [kernel_sizes(layers[name]) for name in attention]
    stats["kernel_diversity"] = [kernel_diversity(layers[name]) for name in attention]
    stats["kernel_spread"] = [spread for spread, _ in sizes]
    stats["mean_kernel_rms"] = [mean for _, mean in sizes]
    return stats


def similarity_agreement(a: pd.DataFrame, b: pd.DataFrame) -> float:
    """Pearson correlation of the off-diagonal entries of two class x class similarities:
    1 when two mechanisms (e.g. attention and gating) group the classes the same way."""
    mask = ~np.eye(len(a), dtype=bool)
    return float(np.corrcoef(a.to_numpy()[mask], b.loc[a.index, a.columns].to_numpy()[mask])[0, 1])


VEHICLES = ("airplane", "automobile", "ship", "truck")


def class_order(classes=CLASSES) -> list[int]:
    """Indices of ``classes`` in the order figures show them: the vehicles first, then the
    animals, each group in CIFAR-10's order (airplane, automobile, ship, truck, bird, cat, deer,
    dog, frog, horse), so classes that look alike sit together."""
    return sorted(range(len(classes)), key=lambda c: (classes[c] not in VEHICLES, c))


def superclass_similarity(classes=CLASSES) -> pd.DataFrame:
    """Class x class: 1 for two vehicles or two animals, -1 for a vehicle and an animal."""
    vehicle = np.array([c in VEHICLES for c in classes])
    same = np.where(vehicle[:, None] == vehicle[None, :], 1.0, -1.0)
    return pd.DataFrame(same, index=list(classes), columns=list(classes))


def _off_diagonal(similarity: pd.DataFrame, order) -> np.ndarray:
    values = similarity.loc[order, order].to_numpy()
    return values[~np.eye(len(order), dtype=bool)]


def partial_agreement(a: pd.DataFrame, b: pd.DataFrame, control: pd.DataFrame) -> float:
    """Correlation of the off-diagonal entries of ``a`` and ``b`` once both are regressed on
    ``control``'s: how much ``a`` tells about ``b`` beyond what ``control`` already does (e.g.
    attention vs the super-classes, given the network's plain features)."""
    order = list(a.index)
    x, y, z = (_off_diagonal(m, order) for m in (a, b, control))
    design = np.column_stack([np.ones_like(z), z])
    residual = [v - design @ np.linalg.lstsq(design, v, rcond=None)[0] for v in (x, y)]
    return float(np.corrcoef(*residual)[0, 1])


def split_threshold(classes=CLASSES, confidence: float = 0.95) -> float:
    """The partial agreement with the vehicle/animal split (``partial_agreement``, one control)
    from which the report says a feature *follows* the split beyond the control: the two-sided
    critical value of a partial correlation over the class pairs (45 for CIFAR-10; n - 3 degrees
    of freedom). The pairs are not independent (each class is in nine of them), so this is a
    reading rule fixed in advance, not a significance test."""
    n = len(classes) * (len(classes) - 1) // 2
    t = stats.t.ppf(0.5 + confidence / 2, n - 3)
    return float(t / math.sqrt(n - 3 + t * t))


def follows_split(partial: float) -> bool:
    """Whether a partial agreement with the vehicle/animal split reaches ``split_threshold``."""
    return partial >= split_threshold()


@torch.no_grad()
def pooled_inputs(model: torch.nn.Module, layer_names, images: torch.Tensor,
                  batch_size: int = 500, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """Global-average-pooled input of each named layer for every image, eval mode: the features
    a layer sees, {name: (N, channels)}. With the names of DY's dynamic convolutions it gives a
    static network's counterpart of their attention input."""
    modules = dict(model.named_modules())
    missing = [n for n in layer_names if n not in modules]
    if missing:
        raise KeyError(f"{type(model).__name__} has no layers {missing}")
    parts: dict[str, list] = {name: [] for name in layer_names}
    hooks = [modules[name].register_forward_pre_hook(
        lambda module, inputs, name=name: parts[name].append(inputs[0].float().mean((2, 3)).cpu()))
        for name in layer_names]
    try:
        for _ in eval_batches(model, images, batch_size, device):
            pass
    finally:
        for hook in hooks:
            hook.remove()
    return {name: torch.cat(p) for name, p in parts.items()}


@torch.no_grad()
def untrained_model(name: str, images: torch.Tensor, seed: int = 0, **kwargs) -> torch.nn.Module:
    """A registered model at its initial weights, in eval mode, whose BatchNorm statistics are
    those of ``images`` (one pass, cumulative averages): the "no training" control, so that its
    features are not just what exploding un-normalised activations make of an image."""
    torch.manual_seed(seed)
    model = build_model(name, **kwargs)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None
    model.train()
    for start in range(0, len(images), 500):
        model(to_float(images[start:start + 500]))
    return model.eval()


RATE_MATCHED = "at the trained on-rates"  # the row of ``match_gate_rates``' control in the similarity tables


@torch.no_grad()
def match_gate_rates(model: torch.nn.Module, rates: dict[str, torch.Tensor], images: torch.Tensor,
                     batch_size: int = 500) -> torch.nn.Module:
    """``model`` (a gated model, e.g. an ``untrained_model``) with each gate's output bias set, in
    place, so that on ``images`` channel c of block b is on for the share ``rates[b][c]`` of
    them (e.g. a trained model's ``gate_on_rates``): an untrained control at the trained model's
    sparsity, whose decisions come from random weights. Blocks are set in forward order, each on
    the inputs the blocks before it (already set) give it."""
    for name, block in gated_blocks(model).items():
        gate = block.gate
        gate.fc2.bias.zero_()
        raw = torch.cat([gate.last_logits.float().cpu() for _ in eval_batches(model, images, batch_size)])
        # on when raw + bias > 0: the bias is minus the (1 - rate) quantile of the raw logits
        order = ((1 - rates[name].float().clamp(0, 1)) * (len(raw) - 1)).round().long()
        threshold = raw.sort(0).values[order, torch.arange(raw.shape[1])]
        gate.fc2.bias.copy_(-threshold.to(gate.fc2.bias.dtype))
    return model.eval()


VEHICLE_ANIMAL = "vehicle/animal pairs (mean)"  # similarity_controls' baseline column


def similarity_controls(features: dict[str, np.ndarray], labels: np.ndarray, reference: str,
                        control: str, pairs=(("cat", "dog"), ("automobile", "truck"),
                                             ("airplane", "ship"), ("deer", "frog"))
                        ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The class-similarity analysis applied alike to several per-image features (e.g. trained
    DY attention, a trained ResNet-20's pooled features at the same layers, an untrained DY's
    attention), so a claim about one is read against the others.

    Per feature: the similarity of each pair of classes and, as their baseline, the mean over
    every (vehicle, animal) pair (``VEHICLE_ANIMAL``), its agreement (``similarity_agreement``)
    with ``reference``'s similarity and with the vehicle/animal split, and the partial agreement
    with that split given ``control``'s similarity (what it adds beyond ``control``). Returns the
    table and the similarity matrices by feature name.
    """
    sims = {name: class_similarity(f, labels) for name, f in features.items()}
    split = superclass_similarity()
    vehicles = [c for c in CLASSES if c in VEHICLES]
    animals = [c for c in CLASSES if c not in VEHICLES]
    rows = []
    for name, sim in sims.items():
        row = {"features": name, **{f"{a}/{b}": sim.loc[a, b] for a, b in pairs},
               VEHICLE_ANIMAL: sim.loc[vehicles, animals].to_numpy().mean(),
               f"agreement with {reference}": similarity_agreement(sim, sims[reference]),
               "agreement with vehicles/animals": similarity_agreement(sim, split)}
        row[f"… given {control}"] = (partial_agreement(sim, split, sims[control])
                                     if name != control else float("nan"))
        rows.append(row)
    return pd.DataFrame(rows).set_index("features"), sims


def _with_static_controls(features: dict[str, np.ndarray], resnet: torch.nn.Module, layer_names,
                          images: torch.Tensor, calibration: torch.Tensor, seed: int, static_name: str
                          ) -> dict[str, np.ndarray]:
    """``features`` (the model's own first, its untrained twins after) with the static side of a
    similarity-controls table put in the rows' usual order: the trained ``resnet``'s pooled
    inputs of ``layer_names`` (``static_name``) second, an untrained ResNet-20's after the first
    twin."""
    own, first, *rest = features.items()
    untrained = untrained_model("resnet20", calibration, seed)
    return dict([own, (static_name, concat_features(pooled_inputs(resnet, layer_names, images))), first,
                 (f"untrained {static_name}", concat_features(pooled_inputs(untrained, layer_names, images))),
                 *rest])


def attention_controls(attention: dict[str, torch.Tensor], num_kernels: int, resnet: torch.nn.Module,
                       images: torch.Tensor, labels: np.ndarray, calibration: torch.Tensor, seed: int,
                       attention_name: str, static_name: str) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """``similarity_controls`` for one trained DY-ResNet-20, from its ``attention`` on ``images``
    (``collect_attention``): the attention (``attention_name``) against the trained ``resnet``'s
    pooled features at the inputs of the same layers (``static_name``), an untrained
    ResNet-20's, and the attention of an untrained DY-ResNet-20 of ``num_kernels`` (BatchNorm on
    ``calibration``, initial weights of ``seed``). Returns the table and the features by row."""
    untrained = untrained_model("dy_resnet20", calibration, seed, num_kernels=num_kernels)
    features = _with_static_controls(
        {attention_name: concat_features(attention),
         f"untrained {attention_name}": concat_features(collect_attention(untrained, images))},
        resnet, list(attention), images, calibration, seed, static_name)
    return similarity_controls(features, labels, reference=attention_name, control=static_name)[0], features


def gating_controls(model: str, model_kwargs: dict, gates: dict[str, torch.Tensor],
                    resnet: torch.nn.Module, images: torch.Tensor, labels: np.ndarray,
                    calibration: torch.Tensor, seed: int, usage_name: str, static_name: str
                    ) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """``similarity_controls`` for one trained gated model, from its 0/1 ``gates`` on ``images``
    (``gated_eval``): its channel usage (``usage_name``) against the trained ``resnet``'s pooled
    features at the gated blocks' inputs (``static_name``), an untrained ResNet-20's, and the
    same gated model untrained (``untrained_model`` of ``model``, BatchNorm on ``calibration``,
    initial weights of ``seed``), as initialised and with its gates set to the trained on-rates
    (``match_gate_rates``). Returns the table and the features by row."""
    untrained_usage = f"untrained {usage_name}"
    untrained = untrained_model(model, calibration, seed, **model_kwargs)
    untrained_gates = {name: r["gates"].float() for name, r in gated_eval(untrained, images)[1].items()}
    match_gate_rates(untrained, {name: g.float().mean(0) for name, g in gates.items()}, calibration)
    matched_gates = {name: r["gates"].float() for name, r in gated_eval(untrained, images)[1].items()}
    features = _with_static_controls({usage_name: concat_features({name: g.float() for name, g in gates.items()}),
                                      untrained_usage: concat_features(untrained_gates),
                                      f"{untrained_usage} {RATE_MATCHED}": concat_features(matched_gates)},
                                     resnet, [f"{name}.conv1" for name in gates], images, calibration, seed,
                                     static_name)
    return similarity_controls(features, labels, reference=usage_name, control=static_name)[0], features


# The columns of ``control_partials`` and ``controls_by_seed``: whose partial agreement with the
# vehicle/animal split (given the static features) each holds. The rate-matched twin's is RATE_MATCHED.
TRAINED, UNTRAINED, UNTRAINED_STATIC = "trained", "untrained", "untrained ResNet-20 features"
TWINS = (UNTRAINED, RATE_MATCHED)  # the trained model's untrained twins, as initialised and rate-matched


def partial_column(table: pd.DataFrame) -> str:
    """The column of a similarity-controls table with the partial agreement given the control."""
    return next(c for c in table.columns if c.startswith("…"))


def control_partials(table: pd.DataFrame) -> dict[str, float]:
    """The partial agreements with the vehicle/animal split of an ``attention_controls`` or
    ``gating_controls`` table (own row first, static features second), by whose they are:
    ``TRAINED``, ``UNTRAINED``, ``RATE_MATCHED`` (gated models only) and ``UNTRAINED_STATIC``,
    for the rows the table has."""
    own, static = table.index[:2]
    rows = {TRAINED: own, UNTRAINED: f"untrained {own}", RATE_MATCHED: f"untrained {own} {RATE_MATCHED}",
            UNTRAINED_STATIC: f"untrained {static}"}
    column = partial_column(table)
    return {key: float(table.loc[row, column]) for key, row in rows.items() if row in table.index}


def controls_by_seed(tables: dict[int, pd.DataFrame]) -> pd.DataFrame:
    """One model's ``control_partials`` on each seed, from {seed: that seed's controls table}: a
    row per seed (column ``seed``), so how far the untrained rows move between seeds shows how
    much of the measure is chance."""
    rows = [{"seed": seed, **control_partials(table)} for seed, table in tables.items()]
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=["seed", TRAINED, UNTRAINED, UNTRAINED_STATIC])


def compute_and_difficulty(macs: np.ndarray, correct: np.ndarray, confidence: np.ndarray,
                           labels: np.ndarray) -> dict[str, float]:
    """Whether a gated model spends more on harder images, over all test images and within a class
    (so that classes that are both costly and hard do not make the whole effect): mean MACs of
    correctly and wrongly classified images, Spearman correlation of MACs with confidence (max
    softmax), and both within each class, averaged over the classes (the MACs of wrong over correct
    images over the classes that have both, with how many of them have the wrong ones costlier)."""
    macs, correct, confidence, labels = map(np.asarray, (macs, correct, confidence, labels))
    correct = correct.astype(bool)
    within_rank, within_gap = [], []
    for c in np.unique(labels):
        mine = labels == c
        within_rank.append(stats.spearmanr(macs[mine], confidence[mine])[0])
        if correct[mine].any() and (~correct[mine]).any():
            within_gap.append(macs[mine & ~correct].mean() / macs[mine & correct].mean() - 1)
    nan = float("nan")
    return {"macs correct": float(macs[correct].mean()) if correct.any() else nan,
            "macs wrong": float(macs[~correct].mean()) if (~correct).any() else nan,
            "spearman": float(stats.spearmanr(macs, confidence)[0]),
            "spearman within class": float(np.nanmean(within_rank)),
            "wrong over correct within class": float(np.mean(within_gap)) if within_gap else nan,
            "classes wrong costlier": int(sum(g > 0 for g in within_gap)), "classes compared": len(within_gap)}


def first_correct(labels: np.ndarray, predictions: np.ndarray, classes, per_class: int = 2,
                  all_classes=CLASSES) -> np.ndarray:
    """Indices of the first ``per_class`` images (in test-set order) of each of ``classes``
    that the model classifies correctly: a selection rule fixed in advance, not picked by eye.
    A class with fewer correct images (a barely trained smoke run) is filled up with its first
    other images, in order."""
    picks = []
    for name in classes:
        c = list(all_classes).index(name)
        members = np.flatnonzero(labels == c)
        if len(members) < per_class:
            raise ValueError(f"only {len(members)} {name} images, {per_class} asked for")
        hits = members[predictions[members] == c]
        rest = members[predictions[members] != c]
        picks.extend(np.sort(np.concatenate([hits, rest])[:per_class]).tolist())
    return np.array(picks)


def gate_usage(gates: dict[str, torch.Tensor]) -> pd.DataFrame:
    """Per gated layer (``layer_name``): the share of its channels that are always on, conditional
    or always off over the given images (``common.models.gating.gate_kinds``: on for 10-90% of them)."""
    rows = []
    for name, g in gates.items():
        on_rate = g.float().mean(0)
        kinds = {kind: mask.float().mean().item() for kind, mask in gate_kinds(on_rate).items()}
        rows.append({"layer": layer_name(name), "channels": g.shape[1], **kinds,
                     "mean on": on_rate.mean().item()})
    return pd.DataFrame(rows, columns=["layer", "channels", "always on", "conditional",
                                       "always off", "mean on"])


@torch.no_grad()
def gating_dependence(model: torch.nn.Module, freeze_images: torch.Tensor, images: torch.Tensor,
                      labels: torch.Tensor, device: torch.device | str = "cpu",
                      evaluated: tuple | None = None) -> dict[str, float]:
    """How much a gated model's accuracy and compute depend on its input, on ``images``: test
    accuracy and mean executed MACs with its own gates and with ``frozen_gates`` (each channel's
    majority decision over ``freeze_images``), plus ``common.flops.gating_statistics``'
    statistics. Three eval passes: the images with free gates (skipped when ``evaluated``, the
    model's ``gated_eval`` of ``images``, is given), the freeze images, the images frozen (a
    frozen pattern is the same for every image, so its MACs need no pass)."""
    logits, gates = evaluated if evaluated is not None else gated_eval(model, images, device=device)
    labels = labels.cpu()
    acc = 100 * (logits.argmax(1) == labels).float().mean().item()
    stats = gating_statistics(model, images, gates=gates)
    rates = gate_on_rates(model, freeze_images, device)
    with frozen_gates(model, rates):
        frozen = [out.float().cpu() for out in eval_batches(model, images, 500, device)]
    pattern = {name: {"gates": (rate > 0.5).float()[None].expand(len(images), -1)}
               for name, rate in rates.items()}
    return {"acc": acc, "frozen_acc": 100 * (torch.cat(frozen).argmax(1) == labels).float().mean().item(),
            "macs": stats["macs_mean"],
            "frozen_macs": executed_macs(model, images, gates=pattern).mean().item(),
            "live_conditional": stats["live_conditional"], "macs_cv": stats["macs_cv"]}


def channel_usage_per_class(gates: dict[str, torch.Tensor], labels: np.ndarray,
                            num_classes: int = len(CLASSES)) -> dict[str, np.ndarray]:
    """Per gated layer, a (classes, channels) array: how often each channel is on per class."""
    return {name: class_means(g.float().numpy(), labels, num_classes) for name, g in gates.items()}


def usage_to_frame(usage: dict[str, np.ndarray], classes=CLASSES) -> pd.DataFrame:
    """Long table (layer, class, channel, on_rate) of ``channel_usage_per_class``'s result: data
    handed to a later notebook, so layers keep their module paths and ``usage_from_frame`` gives
    the same dict back."""
    return pd.DataFrame([{"layer": name, "class": classes[c], "channel": ch, "on_rate": rates[c, ch]}
                         for name, rates in usage.items()
                         for c in range(rates.shape[0]) for ch in range(rates.shape[1])])


def usage_from_frame(frame: pd.DataFrame, classes=CLASSES) -> dict[str, np.ndarray]:
    """Inverse of ``usage_to_frame`` (layers in their order of appearance)."""
    usage = {}
    for name in dict.fromkeys(frame["layer"]):
        rows = frame[frame["layer"] == name]
        table = rows.pivot(index="class", columns="channel", values="on_rate")
        usage[name] = table.loc[list(classes)].to_numpy()
    return usage


def attention_shift(clean: dict[str, torch.Tensor], adversarial: dict[str, torch.Tensor]
                    ) -> pd.DataFrame:
    """Per dynamic layer (``layer_name``): attention entropy on clean and adversarial images,
    and the mean total-variation distance between an image's clean and adversarial attention
    (0..1)."""
    entropy_clean, entropy_adv = normalized_entropy(clean), normalized_entropy(adversarial)
    return pd.DataFrame({
        "layer": [layer_name(name) for name in clean],
        "entropy clean": entropy_clean["normalized_entropy"].to_numpy(),
        "entropy adversarial": entropy_adv["normalized_entropy"].to_numpy(),
        "mean TV distance": [0.5 * (clean[n] - adversarial[n]).abs().sum(1).mean().item()
                             for n in clean]})
