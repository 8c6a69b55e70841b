"""Figures of the per-image analyses (``common.analysis``): attention and gate patterns by layer
and class, t-SNE maps, similarity dendrograms, compute per image. Each function draws from
tables or arrays it is given and computes nothing a table would need.
"""

from __future__ import annotations

import math
import textwrap

import matplotlib.pyplot as plt
from matplotlib.ticker import NullLocator
import numpy as np
import pandas as pd
import seaborn as sns
import torch

from .analysis import VEHICLES, class_order, concat_features
from .data import CLASSES
from .names import layer_name
from .plots import MACS_NOTE
from .verdicts import CAP_TOLERANCE, CAP_WORST_CASE


def plot_similarity_dendrogram(similarity: pd.DataFrame, title: str) -> sns.matrix.ClusterGrid:
    """Clustered heatmap of a class x class similarity with its dendrogram (average linkage)."""
    grid = sns.clustermap(similarity, method="average", metric="correlation", cmap="vlag",
                          vmin=-1, vmax=1, annot=True, fmt=".2f", figsize=(8, 8),
                          dendrogram_ratio=0.15, cbar_pos=(0.02, 0.85, 0.03, 0.12))
    grid.ax_heatmap.set(xlabel="", ylabel="")
    grid.ax_cbar.set_title("correlation", fontsize=8)
    grid.figure.suptitle(title, y=1.02, fontweight="bold")
    return grid


def plot_embedding_by_class(embedding: np.ndarray, labels: np.ndarray, title: str,
                            classes=CLASSES) -> plt.Figure:
    """Scatter of a 2-D embedding, one colour per class, class names at the class medians."""
    return plot_embeddings_by_class({"": embedding}, labels, title, classes)


def plot_embeddings_by_class(panels: dict[str, np.ndarray], labels: np.ndarray, title: str,
                             classes=CLASSES) -> plt.Figure:
    """2-D embeddings of the same images side by side (panel title -> (N, 2) array), e.g. a
    feature and its control: one colour per class, class names at the class medians, one legend."""
    fig, axes = plt.subplots(1, len(panels), figsize=(1 + 7 * len(panels), 7 if len(panels) == 1 else 6.3),
                             squeeze=False)
    palette = sns.color_palette("tab10", len(classes))
    for ax, (name, embedding) in zip(axes[0], panels.items()):
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
        ax.set(xticks=[], yticks=[], title=name if len(panels) > 1 else title)
    axes[0][-1].legend(markerscale=4, loc="center left", bbox_to_anchor=(1, 0.5), frameon=False)
    if len(panels) > 1:
        fig.suptitle(title, fontweight="bold")
    fig.tight_layout()
    return fig


def plot_similarity_controls(controls: pd.DataFrame, title: str) -> plt.Figure:
    """``analysis.similarity_controls``' table as bars, one group per kind of features (rows):
    how its class similarity agrees with the reference feature's, with the vehicle/animal split,
    and with that split beyond the control features (partial agreement; none for the control
    itself). A claim about the reference holds only where its bars stand out from the controls'."""
    columns = [c for c in controls.columns if c.startswith("agreement with") or c.startswith("…")]
    fig, ax = plt.subplots(figsize=(9, 0.75 * len(controls) * len(columns) / 3 + 2.2),
                           layout="constrained")
    height = 0.8 / len(columns)
    rows = np.arange(len(controls))
    for j, (column, colour) in enumerate(zip(columns, sns.color_palette("colorblind"))):
        values = controls[column].to_numpy(dtype=float)
        bars = ax.barh(rows + (j - (len(columns) - 1) / 2) * height, np.nan_to_num(values), height,
                       color=colour, label=textwrap.fill(column, 34, break_on_hyphens=False))
        ax.bar_label(bars, [f"{v:.2f}" if v == v else "–" for v in values], padding=2, fontsize=7)
    ax.set_yticks(rows, [textwrap.fill(name, 26, break_on_hyphens=False) for name in controls.index])
    ax.invert_yaxis()  # the table's order, top to bottom
    ax.axvline(0, color="0.3", lw=0.8)
    low = min(0.0, float(np.nanmin(controls[columns].to_numpy(dtype=float))))
    ax.set(xlim=(low - 0.15 if low < 0 else 0, 1.15), title=title,
           xlabel="correlation of the class × class similarities (off-diagonal entries)")
    fig.legend(fontsize=8, loc="outside lower center", ncol=len(columns), frameon=False)
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


def plot_attention_per_layer(stats: pd.DataFrame, title: str) -> plt.Figure:
    """Bar charts of ``attention_layer_statistics``' three numbers (entropy, spread over images,
    kernel diversity), one panel each, layers on the x axis."""
    panels = [("normalized_entropy", "entropy / log K", (0, 1.05)),
              ("spread_over_images", "std of π over images", None),
              ("kernel_diversity", "kernel diversity", None)]
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 7), sharex=True)
    for ax, (column, label, ylim), color in zip(axes, panels, sns.color_palette()):
        ax.bar(stats["index"], stats[column], color=color)
        ax.set(ylabel=label)
        if ylim:
            ax.set_ylim(*ylim)
    axes[-1].set_xticks(list(stats["index"]))
    axes[-1].set_xticklabels(stats["layer"], rotation=90, fontsize=8)  # layer_name, from the table
    axes[0].set_title(title)
    fig.tight_layout()
    return fig


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
                  [layer_name(n) for n in attention], rotation=90, fontsize=7)
    ax.set(title=title, xlabel=f"layer (each {k} kernels)")
    fig.tight_layout()
    return fig


def plot_gate_usage(usage: pd.DataFrame, title: str) -> plt.Figure:
    """Stacked bars per layer: always on / conditional / always off (from ``gate_usage``)."""
    fig, ax = plt.subplots(figsize=(9, 3.8))
    colours = {"always on": "#4c72b0", "conditional": "#dd8452", "always off": "#c7c7c7"}
    bottom = np.zeros(len(usage))
    for column, colour in colours.items():
        ax.bar(range(len(usage)), 100 * usage[column], bottom=bottom, color=colour, label=column)
        bottom += 100 * usage[column].to_numpy()
    ax.set_xticks(range(len(usage)), usage["layer"], fontsize=8)  # layer_name, from gate_usage
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
        ax.set_title(layer_name(name), fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
    for ax in axes[:, 0]:
        ax.set_ylabel("gates × images", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("P(gate on)")
    fig.suptitle(title, fontweight="bold")
    fig.tight_layout()
    return fig


def plot_channel_usage(usage: dict[str, np.ndarray], title: str, classes=CLASSES,
                       channels: dict[str, np.ndarray] | None = None) -> plt.Figure:
    """One heatmap per gated layer: how often each channel (column) is on for the images of each
    class (row). Rows run vehicles first, then animals (``analysis.class_order``), a line between
    the two groups; one colour bar for all panels. ``usage`` is ``channel_usage_per_class``'s
    (rows in ``classes`` order); ``channels`` gives, per layer, the channel numbers of its columns
    when they are a subset (e.g. the conditional channels only), else 0, 1, ..."""
    order = class_order(classes)
    vehicles = sum(classes[c] in VEHICLES for c in order)
    fig, axes = _layer_grid(len(usage), 13, 2.9)
    for i, (ax, (name, rates)) in enumerate(zip(axes.flat, usage.items())):
        image = ax.imshow(rates[order], vmin=0, vmax=1, cmap="rocket", aspect="auto",
                          interpolation="nearest")
        if 0 < vehicles < len(order):
            ax.axhline(vehicles - 0.5, color="white", lw=1.5)
        numbers = np.arange(rates.shape[1]) if channels is None else np.asarray(channels[name])
        step = 2 ** max(0, math.ceil(math.log2(rates.shape[1] / 5)))  # about 5 ticks: 0, 4, 8, ...
        ticks = np.arange(0, rates.shape[1], step)
        ax.set_xticks(ticks, [str(n) for n in numbers[ticks]], fontsize=7)
        ax.set_xlabel("channel", fontsize=8, labelpad=1)
        first_column = i % LAYER_GRID_COLUMNS == 0
        ax.set_yticks(range(len(order)), [classes[c] for c in order] if first_column else [])
        ax.tick_params(axis="y", labelsize=7, length=0)
        ax.grid(False)
        ax.set_title(f"{layer_name(name)} ({rates.shape[1]} channels)", fontsize=9)
    fig.suptitle(title, fontweight="bold")
    fig.tight_layout(rect=(0, 0, 0.93, 1))
    bar = fig.colorbar(image, cax=fig.add_axes((0.945, 0.2, 0.012, 0.6)))
    bar.set_label("share of the class's images with the channel on", fontsize=9)
    return fig


def data_limits(values, pad: float = 0.05) -> tuple[float, float]:
    """Axis limits that show every value (padded), not a far-away reference line: executed MACs
    of one model spread over a few percent, ResNet-20's sit far above. Never narrower than the
    data: a figure that clips a value hides it."""
    values = np.asarray(values, dtype=float)
    low, high = float(np.min(values)), float(np.max(values))
    margin = max(pad * (high - low), 1e-3 * max(abs(high), 1.0))
    return low - margin, high + margin


def mark_reference(ax: plt.Axes, value: float, label: str) -> None:
    """A reference value on the x axis (e.g. ResNet-20's MACs): a dashed line, named in the
    legend, where it lies within the axis (call after setting the limits); else a note with an
    arrow at the edge it lies beyond, so the legend never names a line that is not drawn."""
    low, high = ax.get_xlim()
    if low <= value <= high:
        ax.axvline(value, color="red", ls="--", lw=1, label=label)
        return
    right = value > high
    ax.annotate(f"{label} →" if right else f"← {label}", (0.985 if right else 0.015, 0.5),
                xycoords="axes fraction", ha="right" if right else "left", va="center", fontsize=8,
                color="red", bbox=dict(boxstyle="round,pad=0.2", fc="white", alpha=0.85, lw=0))


def plot_macs_vs_difficulty(macs: np.ndarray, correct: np.ndarray, confidence: np.ndarray,
                            reference_macs: float, title: str, bins: int = 10) -> plt.Figure:
    """Do harder images get more compute? Executed MACs of correctly vs wrongly classified
    images (boxes, whiskers at 1.5 IQR, no single points), and mean MACs per decile of the
    model's confidence (max softmax)."""
    fig, (ax_ok, ax_conf) = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [1, 2]})
    mm = macs / 1e6
    boxes = ax_ok.boxplot([mm[correct], mm[~correct]], showfliers=False)
    ax_ok.set_xticks([1, 2], [f"correct\n({correct.sum():,})", f"wrong\n({(~correct).sum():,})"])
    ax_ok.set(ylabel="executed MACs (M)")
    edges = np.quantile(confidence, np.linspace(0, 1, bins + 1))
    which = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, bins - 1)
    filled = [b for b in range(bins) if (which == b).any()]  # tied confidences leave bins empty
    means = [mm[which == b].mean() for b in filled]
    centres = [confidence[which == b].mean() for b in filled]
    ax_conf.plot(centres, means, "o-")
    ax_conf.set(xlabel="confidence (max softmax), decile means", ylabel="mean executed MACs (M)")
    drawn = np.concatenate([line.get_ydata() for line in boxes["whiskers"]])  # all a box shows
    ax_ok.set_ylim(*data_limits(drawn))
    ax_conf.set_ylim(*data_limits(means))
    fig.suptitle(f"{title} (ResNet-20: {reference_macs / 1e6:.2f}M)", fontweight="bold")
    fig.tight_layout()
    return fig


def plot_macs_per_class(macs: np.ndarray, labels: np.ndarray, reference_macs: float, title: str,
                        classes=CLASSES) -> plt.Figure:
    """Distribution of executed MACs per image, overall and per class (boxes sorted by their
    mean, every image inside the axes), against a reference (``mark_reference``)."""
    fig, (ax_all, ax_cls) = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [1, 2]})
    millions = np.asarray(macs) / 1e6
    ax_all.hist(millions, bins=40, color=sns.color_palette()[0])
    ax_all.axvline(millions.mean(), color="black", lw=1, label=f"mean {millions.mean():.2f}M")
    ax_all.set(xlabel=f"executed million MACs per image ({MACS_NOTE})", ylabel="images",
               title="all test images", xlim=data_limits(millions))
    mark_reference(ax_all, reference_macs / 1e6, f"ResNet-20 {reference_macs / 1e6:.2f}M")
    ax_all.legend(fontsize=8)
    frame = pd.DataFrame({"class": np.asarray(classes)[labels], "MMACs": millions})
    order = frame.groupby("class")["MMACs"].mean().sort_values().index
    sns.boxplot(frame, x="class", y="MMACs", order=order, ax=ax_cls, fliersize=1,
                color=sns.color_palette()[0])
    ax_cls.set(xlabel="", ylabel="executed million MACs per image", ylim=data_limits(millions),
               title=f"per class (sorted by mean; ResNet-20: {reference_macs / 1e6:.2f}M)")
    ax_cls.tick_params(axis="x", rotation=30)
    fig.suptitle(title, fontweight="bold")
    fig.tight_layout()
    return fig


def plot_attention_shift(shift: pd.DataFrame, title: str) -> plt.Figure:
    """Entropy clean vs adversarial (bars) and the clean-to-adversarial TV distance (line)."""
    fig, ax = plt.subplots(figsize=(10, 4))
    index = np.arange(len(shift))
    ax.bar(index - 0.2, shift["entropy clean"], 0.4, label="entropy, clean")
    ax.bar(index + 0.2, shift["entropy adversarial"], 0.4, label="entropy, adversarial")
    ax.plot(index, shift["mean TV distance"], "k.-", label="TV distance clean → adversarial")
    ax.set_xticks(index, shift["layer"], rotation=90, fontsize=8)  # layer_name, from attention_shift
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
    everything = np.concatenate([np.asarray(v) for v in macs.values()]) / 1e6
    ax.set(xlabel=f"executed million MACs per image ({MACS_NOTE})", ylabel="images", title=title,
           xlim=data_limits(everything))
    mark_reference(ax, reference_macs / 1e6, f"ResNet-20 {reference_macs / 1e6:.2f}M")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


ENERGY_STYLES = {"noise": ("tab:gray", "o", ":"), "energy": ("tab:red", "o", "-"),
                 "stealthy": ("tab:purple", "s", "--")}


def plot_energy_sweep(overview: pd.DataFrame, references: dict[str, float], title: str,
                      columns: int = 4) -> plt.Figure:
    """Mean executed MACs per image against eps, one panel per model of ``overview``
    (``common.attack_results.energy_overview``): noise, energy and stealthy images, each line starting
    at the clean images (eps 0); ``references`` ({name: MACs}) as horizontal lines."""
    models = list(dict.fromkeys(overview["model"]))
    rows_ = math.ceil(len(models) / columns)
    fig, axes = plt.subplots(rows_, columns, figsize=(3.6 * columns, 2.9 * rows_), sharex=True,
                             sharey=True, squeeze=False)
    for ax, model in zip(axes.flat, models):
        table = overview[overview["model"] == model].sort_values("ε (/255)")
        clean = table["mean MACs clean (M)"].iloc[0]
        for name, (color, marker, style) in ENERGY_STYLES.items():
            points = table[["ε (/255)", f"mean MACs {name} (M)"]].dropna()
            ax.plot([0, *points["ε (/255)"]], [clean, *points[f"mean MACs {name} (M)"]],
                    style, marker=marker, ms=3, color=color, label=f"{name} (mean)")
        ax.plot(table["ε (/255)"], table["max MACs energy (M)"], "-", lw=0.8, color="tab:red",
                alpha=0.4, label="energy (max over images)")
        for (name, macs), ls in zip(references.items(), ("-", "-.", "--")):
            ax.axhline(macs / 1e6, color="black", lw=0.9, ls=ls, label=name)
        ax.set_title(textwrap.fill(model, 32), fontsize=9)
        ax.set_xticks([0, *sorted(table["ε (/255)"].unique())])
    for ax in axes.flat[len(models):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("executed MMACs per image")
    for ax in axes[-1]:
        ax.set_xlabel("ε (/255)")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, -0.06))
    fig.suptitle(title, fontweight="bold")
    fig.tight_layout()
    return fig


def plot_gate_shift(shift: pd.DataFrame, title: str) -> plt.Figure:
    """Mean gate on-rate per gated block (rows of ``shift``, ``common.attack_results.gate_shift``) for
    each image set (its columns), as grouped bars."""
    fig, ax = plt.subplots(figsize=(9, 3.6))
    index = np.arange(len(shift))
    width = 0.8 / len(shift.columns)
    colors = {"clean": "tab:blue", "noise": "tab:gray", "energy": "tab:red",
              "energy stealthy": "tab:purple"}
    for i, column in enumerate(shift.columns):
        ax.bar(index + (i - (len(shift.columns) - 1) / 2) * width, shift[column], width,
               label=column, color=colors.get(column))
    ax.set_xticks(index, list(shift.index))
    ax.set(ylim=(0, 1), ylabel="share of channels on", xlabel="gated block", title=title)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
    fig.tight_layout()
    return fig


def _log_ticks(ax: plt.Axes, axis: str, low: float, high: float) -> None:
    """Plain-number ticks (5, 10, 15, 20, 30, ...) on a log ``axis`` over [low, high]: the
    default ``2 x 10^1`` labels are hard to read at a glance."""
    ticks = [t for t in (2.5, 5, 7.5, 10, 12.5, 15, 20, 25, 30, 40, 60, 80)
             if low / 1.15 <= t <= high * 1.15]
    (ax.set_xticks if axis == "x" else ax.set_yticks)(ticks, [f"{t:g}" for t in ticks])
    (ax.xaxis if axis == "x" else ax.yaxis).set_minor_locator(NullLocator())


def plot_budget_curve(summary: pd.DataFrame, frontier: pd.DataFrame, uncapped_acc: float,
                      uncapped_macs: float, title: str, tolerance: float = CAP_TOLERANCE,
                      goal: float = CAP_WORST_CASE, uncapped_attacked: float | None = None) -> plt.Figure:
    """A MAC cap's price and guarantee, from ``common.attack_results.budget_summary`` (mean ± std over
    seeds). Left: clean accuracy against the cap, with the static ``frontier`` (columns
    ``macs``, ``acc``, ``width``: the network whose every image costs the cap) and the uncapped
    accuracy less ``tolerance``. Right: executed MACs on clean and attacked images against the
    cap, under the line MACs = cap that the cap guarantees, ``goal`` x the uncapped mean, and the
    energy attack's mean without a cap (``uncapped_attacked``, if given)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2))
    cap = summary["cap_mean"] / 1e6
    left.errorbar(cap, summary["acc_mean"], summary["acc_std"], marker="o", capsize=3,
                  color="tab:blue", label="gated, capped (clean images)")
    left.plot(frontier["macs"] / 1e6, frontier["acc"], "k.-", lw=1,
              label="static ResNet-20s (width)")
    for r in frontier.itertuples():
        left.annotate(f"{r.width:g}", (r.macs / 1e6, r.acc), textcoords="offset points",
                      xytext=(3, -10), fontsize=7)
    left.axhspan(uncapped_acc - tolerance, uncapped_acc, color="tab:green", alpha=0.15,
                 label=f"within {tolerance:g} points of uncapped")
    left.set(xscale="log", xlabel="cap = worst-case MMACs per image (log scale)",
             ylabel="test accuracy (%)", title="what the cap costs in accuracy")
    _log_ticks(left, "x", min(cap.min(), frontier["macs"].min() / 1e6),
               max(cap.max(), frontier["macs"].max() / 1e6))
    left.legend(fontsize=8, loc="lower right")
    right.errorbar(cap, summary["macs_mean_mean"] / 1e6, summary["macs_mean_std"] / 1e6,
                   marker="o", capsize=3, color="tab:blue", label="clean, mean")
    right.errorbar(cap, summary["attacked_macs_mean_mean"] / 1e6,
                   summary["attacked_macs_mean_std"] / 1e6, marker="o", capsize=3,
                   color="tab:red", label="energy attack on the capped model, mean")
    right.plot(cap, summary["attacked_macs_max_mean"] / 1e6, "v", color="tab:red", alpha=0.6,
               label="energy attack, max over images")
    right.plot(cap, cap, "k-", lw=0.8, label="MACs = cap (guaranteed bound)")
    right.axhline(goal * uncapped_macs / 1e6, color="tab:green", ls="--", lw=1,
                  label=f"{goal:g} × uncapped clean mean")
    if uncapped_attacked is not None:
        right.axhline(uncapped_attacked / 1e6, color="tab:red", ls=":", lw=1,
                      label="energy attack without a cap, mean")
    right.set(xscale="log", yscale="log", xlabel="cap (MMACs per image, log scale)",
              ylabel="executed MMACs per image (log scale)", title="what the cap guarantees")
    _log_ticks(right, "x", cap.min(), cap.max())
    _log_ticks(right, "y", summary["macs_mean_mean"].min() / 1e6, cap.max())
    right.legend(fontsize=8, loc="upper left")
    fig.suptitle(title, fontweight="bold")
    fig.tight_layout()
    return fig
