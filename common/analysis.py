"""Per-image feature analysis shared by the dynamic-convolution and gating notebooks.

A "feature" here is any per-image vector describing what the dynamic parts of a network did:
the concatenated attention of all dynamic-convolution layers, or the on/off pattern of all
channel gates. The same tools answer the same questions for both: do classes separate
(t-SNE), and do similar classes (cat/dog, automobile/truck) behave alike (class x class
similarity with a dendrogram)?
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch

from .data import CLASSES
from .models.gating import gate_kinds


def concat_features(per_layer: dict[str, torch.Tensor]) -> np.ndarray:
    """(N, sum of layer widths) array from a ``{layer: (N, width)}`` dict, in layer order."""
    return torch.cat(list(per_layer.values()), dim=1).numpy()


def normalized_entropy(per_layer: dict[str, torch.Tensor]) -> pd.DataFrame:
    """Per layer: mean entropy of the per-image distributions, divided by log(width).

    1 means uniform (input-independent mixing), 0 means one kernel per image.
    """
    rows = []
    for i, (name, probs) in enumerate(per_layer.items()):
        width = probs.shape[1]
        entropy = -(probs * probs.clamp_min(1e-12).log()).sum(1)
        rows.append({"layer": name, "index": i, "normalized_entropy":
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


def plot_similarity_dendrogram(similarity: pd.DataFrame, title: str) -> sns.matrix.ClusterGrid:
    """Clustered heatmap of a class x class similarity with its dendrogram (average linkage)."""
    grid = sns.clustermap(similarity, method="average", metric="correlation", cmap="vlag",
                          vmin=-1, vmax=1, annot=True, fmt=".2f", figsize=(8, 8),
                          dendrogram_ratio=0.15, cbar_pos=(0.02, 0.85, 0.03, 0.12))
    grid.ax_heatmap.set(xlabel="", ylabel="")
    grid.figure.suptitle(title, y=1.02, fontweight="bold")
    return grid


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


def plot_embedding_by_class(embedding: np.ndarray, labels: np.ndarray, title: str,
                            classes=CLASSES) -> plt.Figure:
    """Scatter of a 2-D embedding, one colour per class, class names at the class medians."""
    fig, ax = plt.subplots(figsize=(8, 7))
    palette = sns.color_palette("tab10", len(classes))
    present, medians = [], []
    for c in range(len(classes)):
        points = embedding[labels == c]
        if len(points):
            ax.scatter(points[:, 0], points[:, 1], s=4, alpha=0.5, color=palette[c], label=classes[c])
            present.append(c)
            medians.append(np.median(points, axis=0))
    span = np.ptp(embedding, axis=0) if len(embedding) else np.ones(2)
    medians = np.array(medians).reshape(-1, 2)
    for c, position in zip(present, separate_labels(medians, 0.14 * span[0], 0.045 * span[1])):
        ax.annotate(classes[c], position, ha="center", fontsize=10, fontweight="bold", color=palette[c],
                    bbox=dict(boxstyle="round,pad=0.2", fc="white", alpha=0.7, lw=0))
    ax.set(xticks=[], yticks=[], title=title)
    ax.legend(markerscale=4, loc="center left", bbox_to_anchor=(1, 0.5), frameon=False)
    fig.tight_layout()
    return fig


def separate_labels(positions: np.ndarray, min_dx: float, min_dy: float) -> np.ndarray:
    """Label positions nudged downwards, in order, until no two are closer than (min_dx, min_dy):
    classes whose medians nearly coincide (e.g. airplane and ship) get readable labels."""
    placed: list[tuple[float, float]] = []
    for x, y in positions:
        while any(abs(x - px) < min_dx and abs(y - py) < min_dy for px, py in placed):
            y -= min_dy
        placed.append((x, y))
    return np.array(placed).reshape(-1, 2)


def attention_layer_statistics(attention: dict[str, torch.Tensor], kernel_diversity: dict[str, float]
                               ) -> pd.DataFrame:
    """Per dynamic layer, the three numbers that tell whether it is really dynamic.

    ``normalized_entropy`` (1: every image mixes its kernels uniformly), ``spread_over_images``
    (std of pi over images, averaged over the kernels; 0: the same pi for every image, i.e. a
    static layer however peaked pi is) and ``kernel_diversity`` (0: all K kernels identical, so
    pi has no effect; see ``dynamic_conv.kernel_diversity``).
    """
    stats = normalized_entropy(attention)
    stats["spread_over_images"] = [probs.std(0).mean().item() for probs in attention.values()]
    stats["kernel_diversity"] = [kernel_diversity[name] for name in attention]
    return stats


def plot_attention_per_layer(stats: pd.DataFrame, title: str) -> plt.Figure:
    """Bar charts, one panel per column of ``attention_layer_statistics``, layers on the x axis."""
    panels = [("normalized_entropy", "entropy / log K", (0, 1.05)),
              ("spread_over_images", "std of π over images", None),
              ("kernel_diversity", "kernel diversity", None)]
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 7), sharex=True)
    for ax, (column, label, ylim), color in zip(axes, panels, sns.color_palette()):
        ax.bar(stats["index"], stats[column], color=color)
        ax.set(ylabel=label)
        if ylim:
            ax.set_ylim(*ylim)
    short = [name.replace("stages.", "stage ").replace(".conv", " conv") for name in stats["layer"]]
    axes[-1].set_xticks(list(stats["index"]))
    axes[-1].set_xticklabels(short, rotation=90, fontsize=8)
    axes[0].set_title(title)
    fig.tight_layout()
    return fig


def short_layer_name(name: str) -> str:
    """``stages.1.0`` -> ``s1.b0`` (compact axis labels)."""
    parts = name.replace("stages.", "").split(".")
    return f"s{parts[0]}.b{parts[1]}" if len(parts) >= 2 else name


def similarity_agreement(a: pd.DataFrame, b: pd.DataFrame) -> float:
    """Pearson correlation of the off-diagonal entries of two class x class similarities:
    1 when two mechanisms (e.g. attention and gating) group the classes the same way."""
    mask = ~np.eye(len(a), dtype=bool)
    return float(np.corrcoef(a.to_numpy()[mask], b.loc[a.index, a.columns].to_numpy()[mask])[0, 1])


# CIFAR-10's two super-classes: the coarsest "similar classes" a grouping could find.
VEHICLES = ("airplane", "automobile", "ship", "truck")


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


@torch.no_grad()
def pooled_inputs(model: torch.nn.Module, layer_names, images: torch.Tensor,
                  batch_size: int = 500, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """Global-average-pooled input of each named layer for every image, eval mode: the features
    a layer sees, {name: (N, channels)}. With the names of DY's dynamic convolutions it gives a
    static network's counterpart of their attention input."""
    from .data import eval_batches

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
    from .data import to_float
    from .models import build_model

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


def similarity_controls(features: dict[str, np.ndarray], labels: np.ndarray, reference: str,
                        control: str, pairs=(("cat", "dog"), ("automobile", "truck"),
                                             ("airplane", "ship"), ("deer", "frog"))
                        ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The class-similarity analysis applied alike to several per-image features (e.g. trained
    DY attention, a trained ResNet-20's pooled features at the same layers, an untrained DY's
    attention), so a claim about one is read against the others.

    Per feature: the similarity of each pair of classes, its agreement (``similarity_agreement``)
    with ``reference``'s similarity and with the vehicle/animal split, and the partial agreement
    with that split given ``control``'s similarity (what it adds beyond ``control``). Returns the
    table and the similarity matrices by feature name.
    """
    sims = {name: class_similarity(f, labels) for name, f in features.items()}
    split = superclass_similarity()
    rows = []
    for name, sim in sims.items():
        row = {"features": name, **{f"{a}/{b}": sim.loc[a, b] for a, b in pairs},
               f"agreement with {reference}": similarity_agreement(sim, sims[reference]),
               "agreement with vehicles/animals": similarity_agreement(sim, split)}
        row[f"… given {control}"] = (partial_agreement(sim, split, sims[control])
                                     if name != control else float("nan"))
        rows.append(row)
    return pd.DataFrame(rows).set_index("features"), sims


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


def plot_image_attention(attention: dict[str, torch.Tensor], indices: np.ndarray, labels: np.ndarray,
                         title: str, classes=CLASSES) -> plt.Figure:
    """Heatmap of pi for chosen images (rows) beside their classes' mean pi (rows below), every
    layer's K kernels side by side (columns), layers separated by lines: what input dependence
    looks like image by image (a static layer has identical rows)."""
    features = concat_features(attention)
    shown = sorted(set(labels[indices].tolist()), key=labels[indices].tolist().index)
    rows = np.vstack([features[indices]] + [features[labels == c].mean(0, keepdims=True) for c in shown])
    names = ([f"#{i} {classes[labels[i]]}" for i in indices]
             + [f"mean {classes[c]}" for c in shown])
    k = next(iter(attention.values())).shape[1]
    fig, ax = plt.subplots(figsize=(13, 0.32 * len(rows) + 1.8))
    sns.heatmap(rows, ax=ax, cmap="mako", vmin=0, vmax=1, yticklabels=names, xticklabels=False,
                cbar_kws={"label": "π", "shrink": 0.8})
    for j in range(1, len(attention)):
        ax.axvline(j * k, color="white", lw=0.6)
    ax.axhline(len(indices), color="orange", lw=2)
    ax.set_xticks([(j + 0.5) * k for j in range(len(attention))],
                  [f"{short_layer_name(n)}.{n.rsplit('.', 1)[-1]}" for n in attention], rotation=90, fontsize=7)
    ax.set(title=title, xlabel=f"layer (each {k} kernels)")
    fig.tight_layout()
    return fig


def gate_usage(gates: dict[str, torch.Tensor]) -> pd.DataFrame:
    """Per gated layer: the share of its channels that are always on, conditional or always
    off over the given images (``common.models.gating.gate_kinds``: on for 10-90% of them)."""
    rows = []
    for name, g in gates.items():
        on_rate = g.float().mean(0)
        kinds = {kind: mask.float().mean().item() for kind, mask in gate_kinds(on_rate).items()}
        rows.append({"layer": name, "channels": g.shape[1], **kinds,
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
    from .data import eval_batches
    from .flops import executed_macs, gating_statistics
    from .models.gating import frozen_gates, gate_on_rates, gated_eval

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


def plot_gate_usage(usage: pd.DataFrame, title: str) -> plt.Figure:
    """Stacked bars per layer: always on / conditional / always off (from ``gate_usage``)."""
    fig, ax = plt.subplots(figsize=(9, 3.8))
    colours = {"always on": "#4c72b0", "conditional": "#dd8452", "always off": "#c7c7c7"}
    bottom = np.zeros(len(usage))
    for column, colour in colours.items():
        ax.bar(range(len(usage)), 100 * usage[column], bottom=bottom, color=colour, label=column)
        bottom += 100 * usage[column].to_numpy()
    ax.set_xticks(range(len(usage)), [short_layer_name(n) for n in usage["layer"]], fontsize=8)
    ax.set(ylabel="% of the layer's channels", ylim=(0, 100), title=title)
    ax.legend(loc="center left", bbox_to_anchor=(1, 0.5), frameon=False)
    fig.tight_layout()
    return fig


LAYER_GRID_COLUMNS = 3


def _layer_grid(panels: int, width: float, row_height: float, **subplots_kw):
    """A figure with one panel per layer, ``LAYER_GRID_COLUMNS`` per row, spare panels hidden."""
    rows = math.ceil(panels / LAYER_GRID_COLUMNS)
    fig, axes = plt.subplots(rows, LAYER_GRID_COLUMNS, figsize=(width, row_height * rows),
                             squeeze=False, **subplots_kw)
    for ax in list(axes.flat)[panels:]:
        ax.axis("off")
    return fig, axes


def plot_probability_histograms(probs: dict[str, torch.Tensor], title: str) -> plt.Figure:
    """One histogram per layer of all gate probabilities sigmoid(logit) over the images."""
    fig, axes = _layer_grid(len(probs), 10, 2.2, sharex=True)
    for ax, (name, p) in zip(axes.flat, probs.items()):
        ax.hist(p.flatten().numpy(), bins=40, range=(0, 1), color=sns.color_palette()[0])
        ax.set_title(short_layer_name(name), fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
    for ax in axes[:, 0]:
        ax.set_ylabel("gates × images", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("P(gate on)")
    fig.suptitle(title, fontweight="bold")
    fig.tight_layout()
    return fig


def channel_usage_per_class(gates: dict[str, torch.Tensor], labels: np.ndarray,
                            num_classes: int = len(CLASSES)) -> dict[str, np.ndarray]:
    """Per gated layer, a (classes, channels) array: how often each channel is on per class."""
    return {name: class_means(g.float().numpy(), labels, num_classes) for name, g in gates.items()}


def usage_to_frame(usage: dict[str, np.ndarray], classes=CLASSES) -> pd.DataFrame:
    """Long table (layer, class, channel, on_rate) of ``channel_usage_per_class``'s result."""
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


def plot_channel_usage(usage: dict[str, np.ndarray], title: str, classes=CLASSES) -> plt.Figure:
    """One heatmap per gated layer: how often each channel is on for each class."""
    fig, axes = _layer_grid(len(usage), 13, 2.6)
    for i, (ax, (name, rates)) in enumerate(zip(axes.flat, usage.items())):
        first_column = i % LAYER_GRID_COLUMNS == 0
        sns.heatmap(rates, vmin=0, vmax=1, cmap="rocket", ax=ax, cbar=i == len(usage) - 1,
                    yticklabels=list(classes) if first_column else False, xticklabels=False)
        ax.set_title(f"{short_layer_name(name)} ({rates.shape[1]} channels)", fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
    fig.suptitle(title, fontweight="bold")
    fig.tight_layout()
    return fig


def data_limits(values, pad: float = 0.05, q=(0, 100)) -> tuple[float, float]:
    """Axis limits that show the data (its ``q`` percentiles, padded), not a far-away reference
    line: executed MACs of one model spread over a few percent, ResNet-20's sit far above."""
    low, high = np.percentile(np.asarray(values, dtype=float), q)
    margin = max(pad * (high - low), 1e-3 * max(abs(high), 1.0))
    return float(low - margin), float(high + margin)


def plot_macs_vs_difficulty(macs: np.ndarray, correct: np.ndarray, confidence: np.ndarray,
                            reference_macs: float, title: str, bins: int = 10) -> plt.Figure:
    """Do harder images get more compute? Executed MACs of correctly vs wrongly classified
    images, and mean MACs per decile of the model's confidence (max softmax)."""
    fig, (ax_ok, ax_conf) = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [1, 2]})
    mm = macs / 1e6
    ax_ok.boxplot([mm[correct], mm[~correct]], showfliers=False)
    ax_ok.set_xticks([1, 2], [f"correct\n({correct.sum():,})", f"wrong\n({(~correct).sum():,})"])
    ax_ok.set(ylabel="executed MACs (M)")
    edges = np.quantile(confidence, np.linspace(0, 1, bins + 1))
    which = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, bins - 1)
    filled = [b for b in range(bins) if (which == b).any()]  # tied confidences leave bins empty
    means = [mm[which == b].mean() for b in filled]
    centres = [confidence[which == b].mean() for b in filled]
    ax_conf.plot(centres, means, "o-")
    ax_conf.set(xlabel="confidence (max softmax), decile means", ylabel="mean executed MACs (M)")
    ax_ok.set_ylim(*data_limits(mm, q=(1, 99)))  # boxes without fliers
    ax_conf.set_ylim(*data_limits(means))
    fig.suptitle(f"{title} (ResNet-20: {reference_macs / 1e6:.2f}M)", fontweight="bold")
    fig.tight_layout()
    return fig


def plot_macs_per_class(macs: np.ndarray, labels: np.ndarray, reference_macs: float, title: str,
                        classes=CLASSES) -> plt.Figure:
    """Distribution of executed MACs per image, overall and per class, against a reference."""
    fig, (ax_all, ax_cls) = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [1, 2]})
    millions = np.asarray(macs) / 1e6
    ax_all.hist(millions, bins=40, color=sns.color_palette()[0])
    ax_all.axvline(millions.mean(), color="black", lw=1, label=f"mean {millions.mean():.2f}M")
    ax_all.axvline(reference_macs / 1e6, color="red", ls="--", lw=1,
                   label=f"ResNet-20 {reference_macs / 1e6:.2f}M")
    ax_all.set(xlabel="executed MMACs per image", ylabel="images", title="all test images",
               xlim=data_limits(millions))  # the ResNet-20 line is named in the legend
    ax_all.legend(fontsize=8)
    frame = pd.DataFrame({"class": np.asarray(classes)[labels], "MMACs": millions})
    order = frame.groupby("class")["MMACs"].mean().sort_values().index
    sns.boxplot(frame, x="class", y="MMACs", order=order, ax=ax_cls, fliersize=1,
                color=sns.color_palette()[0])
    ax_cls.set(xlabel="", ylabel="executed MMACs per image", ylim=data_limits(millions, q=(0.5, 99.5)),
               title=f"per class (sorted by mean; ResNet-20: {reference_macs / 1e6:.2f}M)")
    ax_cls.tick_params(axis="x", rotation=30)
    fig.suptitle(title, fontweight="bold")
    fig.tight_layout()
    return fig


def attention_shift(clean: dict[str, torch.Tensor], adversarial: dict[str, torch.Tensor]
                    ) -> pd.DataFrame:
    """Per dynamic layer: attention entropy on clean and adversarial images, and the mean
    total-variation distance between an image's clean and adversarial attention (0..1)."""
    entropy_clean, entropy_adv = normalized_entropy(clean), normalized_entropy(adversarial)
    return pd.DataFrame({
        "layer": list(clean),
        "entropy clean": entropy_clean["normalized_entropy"].to_numpy(),
        "entropy adversarial": entropy_adv["normalized_entropy"].to_numpy(),
        "mean TV distance": [0.5 * (clean[n] - adversarial[n]).abs().sum(1).mean().item()
                             for n in clean]})


def plot_attention_shift(shift: pd.DataFrame, title: str) -> plt.Figure:
    """Entropy clean vs adversarial (bars) and the clean-to-adversarial TV distance (line)."""
    fig, ax = plt.subplots(figsize=(10, 4))
    index = np.arange(len(shift))
    ax.bar(index - 0.2, shift["entropy clean"], 0.4, label="entropy, clean")
    ax.bar(index + 0.2, shift["entropy adversarial"], 0.4, label="entropy, adversarial")
    ax.plot(index, shift["mean TV distance"], "k.-", label="TV distance clean → adversarial")
    short = [name.replace("stages.", "s").replace(".conv", " c") for name in shift["layer"]]
    ax.set_xticks(index, short, rotation=90, fontsize=8)
    ax.set(ylim=(0, 1.05), ylabel="entropy / log K  ·  TV distance", title=title)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1, 0.5), frameon=False)
    fig.tight_layout()
    return fig


def plot_macs_shift(macs: dict[str, np.ndarray], reference_macs: float, title: str) -> plt.Figure:
    """Overlaid histograms of executed MACs per image for several image sets (clean, attacked)."""
    fig, ax = plt.subplots(figsize=(8, 4))
    for label, values in macs.items():
        values = np.asarray(values) / 1e6
        ax.hist(values, bins=40, alpha=0.5, label=f"{label} (mean {values.mean():.2f}M)")
    ax.axvline(reference_macs / 1e6, color="red", ls="--", lw=1,
               label=f"ResNet-20 {reference_macs / 1e6:.2f}M")
    everything = np.concatenate([np.asarray(v) for v in macs.values()]) / 1e6
    ax.set(xlabel="executed MMACs per image", ylabel="images", title=title,
           xlim=data_limits(everything))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
