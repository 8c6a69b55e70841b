"""Figures shared by the notebooks: one look, saved as PNG and SVG."""

from __future__ import annotations

from pathlib import Path

import matplotlib

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch

from .data import CLASSES


def set_style() -> None:
    """The report's plotting style (call once per notebook)."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    matplotlib.rcParams.update({"figure.dpi": 110, "savefig.bbox": "tight",
                                "axes.titleweight": "bold", "svg.fonttype": "none",
                                "svg.hashsalt": "report"})  # fixed SVG ids: reruns diff only where figures change


def save_figure(fig: plt.Figure, name: str, figures_dir: str | Path) -> list[Path]:
    """Write ``fig`` as ``<figures_dir>/<name>.png`` and ``.svg``; return the two paths."""
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    paths = [figures_dir / f"{name}.{ext}" for ext in ("png", "svg")]
    for path in paths:
        if path.suffix == ".png":
            fig.savefig(path, dpi=150)
        else:
            fig.savefig(path, metadata={"Date": None})  # no timestamp, for the same reason
    return paths


def plot_training_curves(history: pd.DataFrame, title: str = "") -> plt.Figure:
    """Loss and accuracy per epoch, train (augmented, running) vs test."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    for split, style in (("train", "-"), ("test", "--"), ("val", ":")):
        if f"{split}_loss" not in history:
            continue
        ax_loss.plot(history["epoch"], history[f"{split}_loss"], style, label=split)
        ax_acc.plot(history["epoch"], history[f"{split}_acc"], style, label=split)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="Loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    best = history["test_acc"].iloc[-1]
    ax_acc.axhline(best, color="grey", lw=0.8)
    ax_acc.annotate(f"final test {best:.2f}%", (history["epoch"].iloc[0], best),
                    xytext=(0, 4), textcoords="offset points", fontsize=9, color="grey")
    for ax in (ax_loss, ax_acc):
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(labels: np.ndarray, predictions: np.ndarray,
                          classes=CLASSES, title: str = "") -> plt.Figure:
    """Row-normalised confusion matrix (percent of each true class), annotated."""
    n = len(classes)
    counts = np.zeros((n, n))
    np.add.at(counts, (np.asarray(labels), np.asarray(predictions)), 1)
    percent = 100 * counts / np.maximum(counts.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    sns.heatmap(percent, annot=True, fmt=".0f", cmap="Blues", vmin=0, vmax=100, square=True,
                xticklabels=classes, yticklabels=classes, cbar_kws={"label": "% of true class"},
                ax=ax)
    ax.set(xlabel="predicted", ylabel="true", title=title or "Confusion matrix (test set)")
    fig.tight_layout()
    return fig


def plot_accuracy_vs(runs: pd.DataFrame, x: str, reference: pd.DataFrame, xlabel: str,
                     title: str) -> plt.Figure:
    """Final train and test accuracy against ``runs[x]`` over seeds, one panel each (their own
    y range, so seed spreads show): every run a small dot, the mean per ``x`` a line with std error
    bars (none for one seed), the reference model's mean a dashed line with a ±std band.
    ``runs`` and ``reference`` have one row per run with ``train_acc`` and ``test_acc``
    (percent); the x ticks say how many seeds each value has."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharex=True)
    palette = sns.color_palette("colorblind")
    counts = runs.groupby(x).size()
    means = {}
    for ax, split, colour in zip(axes, ("train", "test"), palette):
        column = f"{split}_acc"
        stats = runs.groupby(x)[column].agg(["mean", "std"])
        means[ax] = stats["mean"]
        ax.scatter(runs[x], runs[column], s=16, color=colour, alpha=0.5, linewidths=0, zorder=3,
                   label="each run")
        ax.errorbar(stats.index, stats["mean"], yerr=stats["std"].fillna(0), fmt="o-", color=colour,
                    capsize=3, label="mean ± std over seeds")
        ref = reference[column]
        spread = ref.std() if len(ref) > 1 else np.nan
        ref_text = f"{ref.mean():.2f}" + (f" ± {spread:.2f}" if spread == spread else "")
        ax.axhline(ref.mean(), color="0.3", ls="--", lw=1,
                   label=f"ResNet-20 ({ref_text}, {len(ref)} seed{'s' if len(ref) > 1 else ''})")
        if spread == spread:
            ax.axhspan(ref.mean() - spread, ref.mean() + spread, color="0.3", alpha=0.1, lw=0)
        ax.set_xticks(list(counts.index), [f"{k}\n({n} seed{'s' if n > 1 else ''})" for k, n in counts.items()])
        ax.set(xlabel=xlabel, ylabel=f"{split} accuracy (%)", title=split)
        ax.margins(x=0.12, y=0.15)
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    for (ax, mean), colour in zip(means.items(), palette):  # once the layout is final
        label_points(ax, mean.index, mean.values, [f"{v:.2f}" for v in mean], [colour] * len(mean), 8)
    return fig


def plot_test_curves(histories: dict[str, pd.DataFrame], title: str) -> plt.Figure:
    """Test accuracy per epoch of several runs on one axis (label -> history)."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for label, history in histories.items():
        ax.plot(history["epoch"], history["test_acc"], label=label)
    ax.set(xlabel="epoch", ylabel="test accuracy (%)", title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_accuracy_vs_macs(points: pd.DataFrame, title: str) -> plt.Figure:
    """Test accuracy against (average executed) MACs, one marker and line per model family.

    ``points`` has one row per model with ``label``, ``family``, ``macs`` and ``test_acc``, and
    optionally ``test_acc_std`` (over seeds: drawn as error bars; NaN for one seed: none).
    """
    fig, ax = plt.subplots(figsize=(9, 5.6))
    markers = dict(zip(points["family"].unique(), "o^sDv*"))
    palette = dict(zip(points["family"].unique(), sns.color_palette("colorblind")))
    for family, rows in points.groupby("family", sort=False):
        rows = rows.sort_values("macs")
        yerr = rows["test_acc_std"].fillna(0) if "test_acc_std" in rows else None
        ax.errorbar(rows["macs"] / 1e6, rows["test_acc"], yerr=yerr, marker=markers[family],
                    ls="-" if len(rows) > 1 else "none", color=palette[family], label=family,
                    capsize=3)
    # log x: the static frontier is interpolated linearly in log MACs, so its segments are the lines
    ax.set_xscale("log")
    ticks = [t for t in (5, 7.5, 10, 15, 20, 30, 40, 60, 80) if
             points["macs"].min() / 1e6 / 1.3 <= t <= points["macs"].max() / 1e6 * 1.3]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set(xlabel="(average executed) MMACs per image, log scale", ylabel="test accuracy (%)",
           title=title)
    ax.margins(x=0.12, y=0.1)  # room for the labels
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)
    fig.tight_layout()
    labels = points.assign(color=points["family"].map(palette)).sort_values("test_acc", ascending=False)
    label_points(ax, labels["macs"] / 1e6, labels["test_acc"], labels["label"], labels["color"])
    return fig


def label_points(ax: plt.Axes, xs, ys, texts, colors, fontsize: float = 7) -> list:
    """Label each point beside it, on the first free side: right, left, below right, below left,
    then further down, keeping each inside the axes. Models of similar cost and accuracy sit on top
    of each other, and overlap is checked on the rendered label boxes, so call this once the axes'
    limits and layout are final.
    Points are labelled in the order given: put the most important first."""
    from matplotlib.transforms import Bbox

    renderer = ax.figure.canvas.get_renderer()
    ax.autoscale_view()
    candidates = [(4, 3, "left"), (-4, 3, "right"), (4, -9, "left"), (-4, -9, "right")]
    candidates += [(4, -9 - 7 * step, "left") for step in range(1, 6)]
    # Every marker is an obstacle too: a label over a neighbouring point reads as that point's.
    pixels = ax.transData.transform(np.column_stack([np.asarray(xs, float), np.asarray(ys, float)]))
    radius = 4 * ax.figure.dpi / 72
    markers = [Bbox.from_extents(px - radius, py - radius, px + radius, py + radius)
               for px, py in pixels]
    frame = ax.get_window_extent(renderer)
    notes, boxes = [], []
    for i, (x, y, text, color) in enumerate(zip(xs, ys, texts, colors)):
        obstacles = boxes + [m for j, m in enumerate(markers) if j != i]
        for dx, dy, ha in candidates:
            note = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha,
                               fontsize=fontsize, color=color)
            box = note.get_window_extent(renderer)
            inside = (frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0
                      and box.y1 <= frame.y1)
            if (dx, dy, ha) == candidates[-1] or (inside and not any(box.overlaps(o) for o in obstacles)):
                break  # free, or the last candidate: it stays even if it overlaps
            note.remove()
        notes.append(note)
        boxes.append(box)
    return notes


def plot_robustness_curves(sweep: pd.DataFrame, title: str) -> plt.Figure:
    """Robust accuracy against eps: one row of panels per attack, one column per model family
    (DY-ResNet-20, gated ResNet-20), ResNet-20 in black in every panel as the reference.

    ``sweep`` is ``common.attacks.robustness_sweep``'s table. Straight-through (adaptive) attacks
    on gated models share the panel of their naive version, drawn dashed.
    """
    sweep = sweep.assign(base=sweep["attack"].str.replace(" (straight-through)", "", regex=False),
                         adaptive=sweep["attack"].str.contains("straight-through", regex=False),
                         family=sweep["model"].str.split(" ").str[0])
    attacks = list(dict.fromkeys(sweep["base"]))
    families = [f for f in dict.fromkeys(sweep["family"]) if f != "ResNet-20"] or ["ResNet-20"]
    names = {"DY": "DY-ResNet-20", "gated": "gated ResNet-20"}
    fig, axes = plt.subplots(len(attacks), len(families), figsize=(5.2 * len(families), 3.3 * len(attacks)),
                             sharex=True, sharey=True, squeeze=False)
    for row, attack in enumerate(attacks):
        for col, family in enumerate(families):
            ax = axes[row][col]
            rows = sweep[(sweep["base"] == attack) & sweep["family"].isin([family, "ResNet-20"])]
            members = [m for m in dict.fromkeys(rows["model"]) if m != "ResNet-20"]
            palette = dict(zip(members, sns.color_palette("viridis", max(len(members), 1))))
            palette["ResNet-20"] = "black"
            for (model, adaptive), line in rows.groupby(["model", "adaptive"], sort=False):
                ax.plot(line["eps_255"], line["robust_acc"], "--" if adaptive else "-", marker="o",
                        ms=3, color=palette[model], lw=2 if model == "ResNet-20" else 1.3,
                        label=f"{model} (straight-through)" if adaptive else model)
            ax.set(title=f"{attack}: {names.get(family, family)}",
                   xticks=sorted(sweep["eps_255"].unique()))
            ax.grid(alpha=0.3)
            if row == 0:
                ax.legend(fontsize=7, frameon=False)
            if col == 0:
                ax.set_ylabel("accuracy under attack (%)")
            if row == len(attacks) - 1:
                ax.set_xlabel("ε (/255)")
    fig.suptitle(title, fontweight="bold")
    fig.tight_layout()
    return fig


def plot_transfer_matrix(matrix: pd.DataFrame, title: str) -> plt.Figure:
    """Heatmap: accuracy of each target (column) on adversarial images of each source (row).

    Runs that differ only by seed ("X", "X (seed 1)", ...) are drawn next to each other, in the
    order their first seed appears. The diagonal (a white-box attack on its own model) is left
    blank, so the colour scale spans the transfer cells only.
    """
    base = matrix.index.str.replace(r" \(seed \d+\)$", "", regex=True)
    first = {name: i for i, name in reversed(list(enumerate(base)))}
    order = sorted(range(len(matrix)), key=lambda i: (first[base[i]], i))
    square = list(matrix.index) == list(matrix.columns)  # sources are the targets: reorder both
    matrix = matrix.iloc[order, order] if square else matrix
    values = matrix.to_numpy(dtype=float)
    diagonal = np.zeros_like(values, dtype=bool)
    if square:
        np.fill_diagonal(diagonal, True)
    fig, ax = plt.subplots(figsize=(0.75 * len(matrix) + 5, 0.6 * len(matrix) + 3))
    sns.heatmap(matrix, mask=diagonal, annot=True, fmt=".1f", cmap="mako",
                vmin=float(np.nanmin(values[~diagonal])), vmax=float(np.nanmax(values[~diagonal])),
                ax=ax, cbar_kws={"label": "target accuracy (%)"}, annot_kws={"fontsize": 8})
    ax.set(xlabel="evaluated on (target)", ylabel="adversarial images made on (source)",
           title=title + ("; diagonal (white-box) left blank" if diagonal.any() else ""))
    ax.set_xticks(ax.get_xticks(), ax.get_xticklabels(), rotation=40, ha="right",
                  rotation_mode="anchor")
    ax.tick_params(axis="y", rotation=0)
    ax.grid(False)
    fig.tight_layout()
    return fig


def plot_adversarial_examples(clean: torch.Tensor, adversarial: torch.Tensor, labels,
                              clean_pred, adversarial_pred, title: str,
                              classes=CLASSES) -> plt.Figure:
    """Rows of (clean image, adversarial image, perturbation amplified to the full range)."""
    n = len(clean)
    fig, axes = plt.subplots(n, 3, figsize=(6.6, 2.3 * n), squeeze=False)
    delta = adversarial - clean
    scale = delta.abs().flatten(1).max(1).values.clamp_min(1e-12).view(-1, 1, 1, 1)
    amplified = 0.5 + 0.5 * delta / scale
    for i in range(n):
        ok = clean_pred[i] == labels[i]
        fooled = adversarial_pred[i] != labels[i]
        panels = [(clean[i], f"clean: {classes[clean_pred[i]]}", "green" if ok else "red"),
                  (adversarial[i], f"adversarial: {classes[adversarial_pred[i]]}",
                   "red" if fooled else "green"),
                  (amplified[i], f"perturbation ×{0.5 / scale[i].item():.0f}", "black")]
        for ax, (img, text, colour) in zip(axes[i], panels):
            ax.imshow(img.permute(1, 2, 0).clamp(0, 1).numpy(), interpolation="nearest")
            ax.set_title(text, fontsize=9, color=colour)
            ax.set(xticks=[], yticks=[])
        axes[i][0].set_ylabel(f"true: {classes[labels[i]]}", fontsize=9)
    fig.suptitle(title, fontweight="bold")
    fig.tight_layout()
    return fig


def plot_profile_curves(histories: dict[str, dict[str, pd.DataFrame]], epochs: dict[str, int],
                        title: str) -> plt.Figure:
    """Test accuracy against the fraction of training for the same models trained with several
    profiles (``histories``: model -> {"<profile> seed s": history}, ``epochs``: profile -> its
    epochs): one panel per model, a line per run, a dashed one for a run still training."""
    fig, axes = plt.subplots(1, len(histories), figsize=(4.2 * len(histories), 3.8), squeeze=False,
                             sharey=True)
    colours = dict(zip(epochs, sns.color_palette("deep", len(epochs))))
    for ax, (model, runs) in zip(axes[0], histories.items()):
        for label, history in runs.items():
            profile = label.split()[0]
            done = len(history) >= epochs[profile]
            ax.plot(history["epoch"] / epochs[profile], history["test_acc"], color=colours[profile],
                    linestyle="-" if done else "--", linewidth=1.2,
                    label=f"{profile} ({epochs[profile]} epochs)" if done or profile == "paper" else None)
        ax.set(title=model, xlabel="fraction of training", xlim=(0, 1))
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles))
        ax.legend(unique.values(), unique.keys(), fontsize=7, loc="lower right")
    axes[0][0].set_ylabel("test accuracy (%)")
    fig.suptitle(title + " (dashed: still training)")
    fig.tight_layout()
    return fig
