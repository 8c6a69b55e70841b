"""Figures of the per-image analyses (``common.analysis``): attention and gate patterns by layer
and class, t-SNE maps, similarity dendrograms, compute per image. Each function draws from
tables or arrays it is given and computes nothing a table would need.
"""

from __future__ import annotations

import math
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch

from .analysis import concat_features
from .data import CLASSES
from .names import short_layer_name


def plot_similarity_dendrogram(similarity: pd.DataFrame, title: str) -> sns.matrix.ClusterGrid:
    """Clustered heatmap of a class x class similarity with its dendrogram (average linkage)."""
    grid = sns.clustermap(similarity, method="average", metric="correlation", cmap="vlag",
                          vmin=-1, vmax=1, annot=True, fmt=".2f", figsize=(8, 8),
                          dendrogram_ratio=0.15, cbar_pos=(0.02, 0.85, 0.03, 0.12))
    grid.ax_heatmap.set(xlabel="", ylabel="")
    grid.figure.suptitle(title, y=1.02, fontweight="bold")
    return grid


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


ENERGY_STYLES = {"noise": ("tab:gray", "o", ":"), "energy": ("tab:red", "o", "-"),
                 "stealthy": ("tab:purple", "s", "--")}


def plot_energy_sweep(overview: pd.DataFrame, references: dict[str, float], title: str,
                      columns: int = 4) -> plt.Figure:
    """Mean executed MACs per image against eps, one panel per model of ``overview``
    (``common.study.energy_overview``): noise, energy and stealthy images, each line starting
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
    """Mean gate on-rate per gated block (rows of ``shift``, ``common.study.gate_shift``) for
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


def plot_budget_curve(summary: pd.DataFrame, frontier: pd.DataFrame, uncapped_acc: float,
                      uncapped_macs: float, title: str, tolerance: float = 0.5,
                      goal: float = 1.25) -> plt.Figure:
    """A MAC cap's price and guarantee, from ``common.study.budget_summary`` (mean ± std over
    seeds). Left: clean accuracy against the cap, with the static ``frontier`` (columns
    ``macs``, ``acc``, ``label``: the network whose every image costs the cap) and the uncapped
    accuracy less ``tolerance``. Right: executed MACs on clean and attacked images against the
    cap, under the line MACs = cap that the cap guarantees, and ``goal`` x the uncapped mean."""
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
    left.set(xscale="log", xlabel="cap = worst-case MMACs per image", ylabel="test accuracy (%)",
             title="what the cap costs in accuracy")
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
    right.set(xscale="log", yscale="log", xlabel="cap (MMACs per image)",
              ylabel="executed MMACs per image", title="what the cap guarantees")
    right.legend(fontsize=8, loc="upper left")
    fig.suptitle(title, fontweight="bold")
    fig.tight_layout()
    return fig
