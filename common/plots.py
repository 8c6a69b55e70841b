"""Figures shared by the notebooks: one look, saved as PNG and SVG."""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import matplotlib

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from .data import CLASSES
from .tables import counted

# How a point says how many seeds it stands for: filled with ±std error bars for a mean over
# seeds, hollow (no error bar) for a single run, so one run never passes for a mean with a
# small spread.
SEED_MARKS = {"mean": "filled: mean ± std over seeds", "one": "hollow: one seed"}
MARKER_SIZE = 7  # points
# Said wherever a figure counts MACs (multiply-accumulates, common.flops).
MACS_NOTE = "1 MAC ≈ 2 FLOPs"


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
    y range, so seed spreads show): every run a small dot, the mean per ``x`` a line, filled with
    ±std error bars where it is a mean over seeds and hollow where it is one run (``SEED_MARKS``),
    the reference model's mean a dashed line with a ±std band.
    The legends sit below the panels. ``runs`` and ``reference`` have one row per run with ``train_acc`` and ``test_acc``
    (percent); the x ticks say how many seeds each value has."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharex=True)
    palette = sns.color_palette("colorblind")
    counts = runs.groupby(x).size()
    means = {}
    for ax, split, colour in zip(axes, ("train", "test"), palette):
        column = f"{split}_acc"
        stats = runs.groupby(x)[column].agg(["mean", "std", "size"])
        means[ax] = stats["mean"]
        ax.scatter(runs[x], runs[column], s=16, color=colour, alpha=0.5, linewidths=0, zorder=3,
                   label="each run")
        ax.plot(stats.index, stats["mean"], "-", color=colour, zorder=2)
        _seed_markers(ax, stats.index, stats["mean"], stats["std"], stats["size"], colour, "o")
        ref = reference[column]
        spread = ref.std() if len(ref) > 1 else np.nan
        ref_text = f"{ref.mean():.2f}" + (f" ± {spread:.2f}" if spread == spread else "")
        ax.axhline(ref.mean(), color="0.3", ls="--", lw=1,
                   label=f"ResNet-20 ({ref_text}, {counted(len(ref), 'seed')})")
        if spread == spread:
            ax.axhspan(ref.mean() - spread, ref.mean() + spread, color="0.3", alpha=0.1, lw=0)
        ax.set_xticks(list(counts.index), [f"{k}\n({counted(n, 'seed')})" for k, n in counts.items()])
        ax.set(xlabel=xlabel, ylabel=f"{split} accuracy (%)", title=split)
        ax.margins(x=0.12, y=0.15)
        handles, _ = ax.get_legend_handles_labels()
        # below the panel: inside, it can cover the very points it explains
        ax.legend(handles=handles + _seed_legend(stats["size"]), fontsize=7, loc="upper center",
                  bbox_to_anchor=(0.5, -0.3), ncol=2, frameon=False)
    fig.suptitle(title)
    fig.tight_layout()
    for (ax, mean), colour in zip(means.items(), palette):  # once the layout is final
        label_points(ax, mean.index, mean.values, [f"{v:.2f}" for v in mean], [colour] * len(mean), 8)
    return fig


def _seed_markers(ax: plt.Axes, xs, ys, std, seeds, colour, marker: str) -> None:
    """Markers of ``SEED_MARKS`` at (xs, ys): filled with ``std`` error bars where ``seeds`` > 1,
    hollow where it is 1."""
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    std, several = np.asarray(std, float), np.asarray(seeds) > 1
    if several.any():
        ax.errorbar(xs[several], ys[several], yerr=std[several], fmt=marker, ms=MARKER_SIZE,
                    color=colour, capsize=3, zorder=4)
    if (~several).any():
        ax.plot(xs[~several], ys[~several], marker, ms=MARKER_SIZE, mfc="white", mec=colour,
                mew=1.6, ls="none", zorder=4)


def _seed_legend(seeds) -> list:
    """Grey legend entries for the kinds of ``SEED_MARKS`` that occur in ``seeds``."""
    seeds = np.asarray(seeds)
    entries = []
    if (seeds > 1).any():
        entries.append(Line2D([], [], marker="o", ms=MARKER_SIZE, color="0.4", ls="none",
                              label=SEED_MARKS["mean"]))
    if (seeds <= 1).any():
        entries.append(Line2D([], [], marker="o", ms=MARKER_SIZE, mfc="white", mec="0.4", mew=1.6,
                              ls="none", label=SEED_MARKS["one"]))
    return entries


def plot_test_curves(histories: dict[str, pd.DataFrame], title: str) -> plt.Figure:
    """Test accuracy per epoch of several runs on one axis (label -> history)."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for label, history in histories.items():
        ax.plot(history["epoch"], history["test_acc"], label=label)
    ax.set(xlabel="epoch", ylabel="test accuracy (%)", title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_accuracy_vs_macs(points: pd.DataFrame, title: str, frontier: str | None = None) -> plt.Figure:
    """Test accuracy against (average executed) MACs, one colour and marker per model family and
    a line through each family's models (ResNet-20's, through its thin versions, is the static
    frontier: the legend says so for the family named ``frontier`` where it has more than one model).

    ``points`` has one row per model with ``label``, ``family``, ``macs`` and ``test_acc``, and
    optionally ``n`` (seeds) and ``test_acc_std`` (over seeds). A mean over seeds is a filled
    marker with ±std error bars, a single run (``n`` 1 or absent) a hollow one (``SEED_MARKS``).
    Every model is labelled beside its marker (``label_points``); where three or more markers
    fall on top of each other (e.g. DY-ResNet-20 with K = 2...5, 2% apart in MACs), they are
    drawn and labelled again in an inset that zooms in on them. The legend is inside the axes.
    """
    points = points.assign(n=points["n"] if "n" in points else 1,
                           test_acc_std=points["test_acc_std"] if "test_acc_std" in points else np.nan,
                           mmacs=points["macs"] / 1e6)
    families = list(points["family"].unique())
    style = {f: (marker, colour) for f, marker, colour in  # cycled: a new family never goes unstyled
             zip(families, itertools.cycle("o^sDv*Xp"), itertools.cycle(sns.color_palette("colorblind")))}
    fig, ax = plt.subplots(figsize=(9.5, 6))
    _draw_models(ax, points, style)
    # log x: the static frontier is interpolated linearly in log MACs, so its segments are the lines
    ax.set_xscale("log")
    ticks = [t for t in (5, 7.5, 10, 15, 20, 30, 40, 60, 80) if
             points["mmacs"].min() / 1.3 <= t <= points["mmacs"].max() * 1.3]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set(xlabel=f"(average executed) million MACs per image, log scale ({MACS_NOTE})",
           ylabel="test accuracy (%)", title=title)
    ax.margins(x=0.15, y=0.12)  # room for the labels
    handles = [Line2D([], [], color=style[f][1], marker=style[f][0], ms=MARKER_SIZE,
                      label=f"{f} and its thinner widths (static frontier)"
                      if f == frontier and (points["family"] == f).sum() > 1 else f)
               for f in families]
    ax.legend(handles=handles + _seed_legend(points["n"]), fontsize=8, loc="lower right",
              framealpha=0.95)
    fig.tight_layout()
    ax.autoscale_view()
    order = points.sort_values("test_acc", ascending=False)
    crowded = _crowded(ax, order)
    if len(crowded) >= 3:
        inset = _zoom_inset(ax, order.loc[crowded], points, style)
        if inset is not None:
            order = order.drop(index=[i for i in order.index if _inside(inset, order.loc[i])])
    label_points(ax, order["mmacs"], order["test_acc"], order["label"],
                 [style[f][1] for f in order["family"]])
    return fig


def _draw_models(ax: plt.Axes, points: pd.DataFrame, style: dict) -> None:
    """Each family's line and its markers (``_seed_markers``) of ``plot_accuracy_vs_macs``."""
    for family, rows in points.groupby("family", sort=False):
        rows = rows.sort_values("macs")
        marker, colour = style[family]
        if len(rows) > 1:
            ax.plot(rows["mmacs"], rows["test_acc"], "-", color=colour, lw=1.4, zorder=2)
        _seed_markers(ax, rows["mmacs"], rows["test_acc"], rows["test_acc_std"], rows["n"], colour,
                      marker)


def _crowded(ax: plt.Axes, points: pd.DataFrame) -> list:
    """The index of the largest group of points whose markers overlap (within two marker
    diameters of one of them, on screen)."""
    pixels = ax.transData.transform(points[["mmacs", "test_acc"]].to_numpy(float))
    radius = 2 * MARKER_SIZE * ax.figure.dpi / 72
    groups = [np.flatnonzero(np.hypot(*(pixels - p).T) <= radius) for p in pixels]
    return list(points.index[max(groups, key=len)]) if groups else []


def _inside(ax: plt.Axes, row) -> bool:
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    return x0 <= row["mmacs"] <= x1 and y0 <= row["test_acc"] <= y1


def _zoom_inset(ax: plt.Axes, crowded: pd.DataFrame, points: pd.DataFrame, style: dict):
    """An inset in a free corner of ``ax`` showing the ``crowded`` points (and any other model
    in that window) on linear axes, labelled, with the zoomed window marked in ``ax``; None when
    no corner is free."""
    renderer = ax.figure.canvas.get_renderer()
    low = crowded["test_acc"] - crowded["test_acc_std"].fillna(0)
    high = crowded["test_acc"] + crowded["test_acc_std"].fillna(0)
    x_pad = 0.25 * max(np.ptp(crowded["mmacs"]), 0.02 * crowded["mmacs"].mean())
    y_pad = 0.25 * max(high.max() - low.min(), 0.1)
    window = (crowded["mmacs"].min() - x_pad, crowded["mmacs"].max() + x_pad,
              low.min() - y_pad, high.max() + y_pad)
    taken = _drawn_points(ax)
    taken = np.vstack([taken, ax.transData.transform(points[["mmacs", "test_acc"]].to_numpy(float))])
    legend = ax.get_legend().get_window_extent(renderer)
    for bounds in [(0.06, 0.55, 0.34, 0.4), (0.06, 0.06, 0.34, 0.4), (0.6, 0.55, 0.34, 0.4)]:
        inset = ax.inset_axes(bounds)
        box = inset.get_tightbbox(renderer)
        if not _covers(box, taken, 4.0) and not box.overlaps(legend):
            break
        inset.remove()
    else:
        return None
    _draw_models(inset, points, style)
    inset.set_xlim(window[0], window[1])
    inset.set_ylim(window[2], window[3])
    inset.tick_params(labelsize=7)
    inset.set_title("zoomed in (linear axes)", fontsize=8)
    ax.indicate_inset_zoom(inset, edgecolor="0.4")
    shown = points[[_inside(inset, row) for _, row in points.iterrows()]].sort_values(
        "test_acc", ascending=False)
    label_points(inset, shown["mmacs"], shown["test_acc"], shown["label"],
                 [style[f][1] for f in shown["family"]])
    return inset


def _drawn_points(ax: plt.Axes, step: float = 2.0) -> np.ndarray:
    """Display coordinates of what is drawn along the axes' lines and error bars, sampled every
    ``step`` pixels: the places a label must not cover."""
    segments = []
    for line in ax.lines:
        if line.get_visible() and line.get_linestyle() not in ("None", "none", "", " "):
            segments.append(line.get_transform().transform(line.get_xydata()))
    for collection in ax.collections:
        if isinstance(collection, LineCollection):
            segments += [collection.get_transform().transform(s) for s in collection.get_segments()]
    samples = [np.empty((0, 2))]
    for path in segments:
        path = path[np.isfinite(path).all(1)]
        for a, b in zip(path[:-1], path[1:]):
            count = max(2, int(np.hypot(*(b - a)) / step) + 1)
            samples.append(a + np.linspace(0, 1, count)[:, None] * (b - a))
    return np.vstack(samples)


def label_points(ax: plt.Axes, xs, ys, texts, colors, fontsize: float = 7) -> list:
    """Label each point beside it, on the nearest free place: right, left, then further out in
    16 directions with a thin leader line back to the point. A place is free when the label
    stays inside the axes and covers no other label, no marker (of any point), no line or error
    bar, neither the legend nor an inset (nor the window it zooms in on). Models of similar cost
    and accuracy sit on top of each other, and all this is checked on the rendered boxes, so call
    it once the axes' limits and layout are final. Points are labelled in the order given: put
    the most important first."""
    renderer = ax.figure.canvas.get_renderer()
    ax.autoscale_view()
    pixels = ax.transData.transform(np.column_stack([np.asarray(xs, float), np.asarray(ys, float)]))
    points_per_pixel = 72 / ax.figure.dpi
    marker_pad = (MARKER_SIZE / 2 + 1.5) / points_per_pixel  # a marker's radius and a gap, in pixels
    drawn = _drawn_points(ax)
    legend = ax.get_legend()
    blocked = [legend.get_window_extent(renderer)] if legend else []
    for inset in ax.child_axes:  # the inset, and the window it zooms in on
        window = ax.transData.transform(np.column_stack([inset.get_xlim(), inset.get_ylim()]))
        blocked += [inset.get_tightbbox(renderer), Bbox(np.sort(window, axis=0))]
    frame = ax.get_window_extent(renderer)
    angles = np.deg2rad([0, 180, 30, 150, -30, -150, 90, -90, 60, 120, -60, -120, 15, 165, -15, -165])
    beside = MARKER_SIZE / 2 + 2.5  # points from the centre: just clear of the marker
    candidates = [(beside, 0.0), (-beside, 0.0)] + [(r * np.cos(a), r * np.sin(a))
                                                    for r in (10, 18, 28, 40, 55, 75) for a in angles]
    notes = []
    for i, (x, y, text, color) in enumerate(zip(xs, ys, texts, colors)):
        others = np.delete(pixels, i, axis=0)
        probe = ax.annotate(text, (x, y), xytext=(0, 0), textcoords="offset points", fontsize=fontsize)
        place = candidates[0]  # if nothing is free: beside the point, overlapping
        for dx, dy in candidates:
            probe.set_position((dx, dy))
            probe.set_horizontalalignment(_side(dx, "left", "right", "center"))
            probe.set_verticalalignment(_side(dy, "bottom", "top", "center"))
            box = probe.get_window_extent(renderer)
            inside = (frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0
                      and box.y1 <= frame.y1)
            if inside and not any(box.overlaps(b) for b in blocked) \
                    and not _covers(box, others, marker_pad) and not _covers(box, drawn, 1.0):
                place = (dx, dy)
                break
        probe.remove()
        # a label moved away from its point gets a leader line, so it is clear whose it is
        leader = (dict(arrowstyle="-", color=color, lw=0.6, shrinkA=1, shrinkB=MARKER_SIZE / 2)
                  if np.hypot(*place) > beside else None)
        note = ax.annotate(text, (x, y), xytext=place, textcoords="offset points", fontsize=fontsize,
                           color=color, ha=_side(place[0], "left", "right", "center"),
                           va=_side(place[1], "bottom", "top", "center"), arrowprops=leader)
        notes.append(note)
        note.update_positions(renderer)
        blocked.append(Text.get_window_extent(note, renderer))  # the text, not its leader line
    return notes


def _side(offset: float, positive: str, negative: str, zero: str) -> str:
    return positive if offset > 1 else negative if offset < -1 else zero


def _covers(box, points: np.ndarray, pad: float) -> bool:
    """Whether ``box`` (display coordinates), grown by ``pad`` pixels, holds any of ``points``."""
    return bool(((points[:, 0] > box.x0 - pad) & (points[:, 0] < box.x1 + pad)
                 & (points[:, 1] > box.y0 - pad) & (points[:, 1] < box.y1 + pad)).any())


def plot_robustness_curves(sweep: pd.DataFrame, title: str, images: int | None = None,
                           reference: str = "ResNet-20") -> plt.Figure:
    """Robust accuracy against eps: one row of panels per attack, one column per model family
    (the labels' first word: "DY", "gated"; ``common.names``), the ``reference`` model in black
    in every panel.

    The reference at other seeds ("ResNet-20 (seed 1)") is drawn thin and grey in every panel.

    ``sweep`` is ``common.attacks.robustness_sweep``'s table. Error bars are the binomial standard
    error of an accuracy on the attacked images, sqrt(p (1 - p) / n): n is the sweep's ``images``
    column, else ``images``; without either the figure says it has no error bars. Straight-through
    (adaptive) attacks on gated models share the panel of their naive version, drawn dashed; each
    family's legend sits under its column.
    """
    count = sweep["images"] if "images" in sweep else images
    if count is None:
        warnings.warn("plot_robustness_curves: no number of attacked images (an `images` column or "
                      "argument), so no error bars", stacklevel=2)
        title += " (no error bars: number of attacked images not given)"
    else:
        title += f"; error bars: ±1 binomial standard error on {int(np.max(count))} images"
    p = sweep["robust_acc"] / 100
    sweep = sweep.assign(base=sweep["attack"].str.replace(" (straight-through)", "", regex=False),
                         adaptive=sweep["attack"].str.contains("straight-through", regex=False),
                         family=sweep["model"].str.split().str[0],
                         stderr=100 * np.sqrt(p * (1 - p) / count) if count is not None else np.nan)
    attacks = list(dict.fromkeys(sweep["base"]))
    reference_family = sweep.loc[sweep["model"] == reference, "family"].iloc[0] \
        if (sweep["model"] == reference).any() else None
    families = [f for f in dict.fromkeys(sweep["family"]) if f != reference_family] or [reference_family]
    # One legend per family, in a row of its own under the panels: in a panel it hides the curves.
    entries = {family: len(set(sweep.loc[sweep["family"] == family, "model"])) + 2 for family in families}
    legend_height = 0.17 * max(entries.values()) + 0.3
    fig = plt.figure(figsize=(5.2 * len(families), 3.3 * len(attacks) + legend_height))
    grid = fig.add_gridspec(len(attacks) + 1, len(families),
                            height_ratios=[3.3] * len(attacks) + [legend_height])
    first = fig.add_subplot(grid[0, 0])
    axes = [[first if (r, c) == (0, 0) else fig.add_subplot(grid[r, c], sharex=first, sharey=first)
             for c in range(len(families))] for r in range(len(attacks))]
    for col, family in enumerate(families):
        handles = {}
        for row, attack in enumerate(attacks):
            ax = axes[row][col]
            # the reference at other seeds ("ResNet-20 (seed 1)") in grey: the spread a family is read against
            reference_seeds = sweep["model"].str.startswith(f"{reference} (seed")
            rows = sweep[(sweep["base"] == attack) & ((sweep["family"] == family) | (sweep["model"] == reference)
                                                      | reference_seeds)]
            members = [m for m in dict.fromkeys(rows["model"]) if m != reference and not m.startswith(f"{reference} (seed")]
            palette = dict(zip(members, sns.color_palette("colorblind", max(len(members), 1))))  # distinct hues
            palette |= {m: "grey" for m in rows["model"] if m.startswith(f"{reference} (seed")} | {reference: "black"}
            for (model, adaptive), line in rows.groupby(["model", "adaptive"], sort=False):
                drawn = ax.errorbar(line["eps_255"], line["robust_acc"],
                                    yerr=line["stderr"] if count is not None else None,
                                    fmt="--" if adaptive else "-", marker="o", ms=3, capsize=2,
                                    elinewidth=0.8, color=palette[model],
                                    lw=2 if model == reference else 0.8 if palette[model] == "grey" else 1.3)
                if not adaptive:
                    handles.setdefault(f"{reference} (other seeds)" if palette[model] == "grey" else model, drawn)
                elif "adaptive" not in handles:
                    handles["adaptive"] = Line2D([], [], color="gray", ls="--", marker="o", ms=3)
            ax.set(title=f"{attack}: {family} models", xticks=sorted(sweep["eps_255"].unique()))
            ax.grid(alpha=0.3)
            ax.tick_params(labelbottom=row == len(attacks) - 1, labelleft=col == 0)
            if col == 0:
                ax.set_ylabel("accuracy under attack (%)")
            if row == len(attacks) - 1:
                ax.set_xlabel("ε (/255)")
        if "adaptive" in handles:
            handles["adaptive"] = handles.pop("adaptive")  # last: it explains a line style
        legend = fig.add_subplot(grid[len(attacks), col])
        legend.axis("off")
        labels = ["dashed: the straight-through (adaptive) attack" if key == "adaptive" else key
                  for key in handles]
        legend.legend(list(handles.values()), labels, fontsize=7, frameon=False, loc="upper center")
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
                        title: str, references: dict[str, tuple[float, str]] | None = None
                        ) -> plt.Figure:
    """Test accuracy against the fraction of training for the same models trained with several
    profiles (``histories``: model -> {"<profile> seed s": history}, ``epochs``: profile -> its
    epochs): one panel per model, a line per run, a dashed one for a run still training, and a
    note in the panel for each profile with no run of that model. ``references``: model ->
    (accuracy, label), drawn as a dotted line (e.g. a published result)."""
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
        notes = []
        for profile in epochs:
            mine = {label: h for label, h in runs.items() if label.split()[0] == profile}
            running = [f"{label.split(' ', 1)[1]} at epoch {len(h)} of {epochs[profile]}"
                       for label, h in mine.items() if len(h) < epochs[profile]]
            if not mine:
                notes.append((f"no finished {profile} ({epochs[profile]} epochs) run yet", profile))
            elif running:
                notes.append((f"{profile}, still training,\nnot comparable yet:\n"
                              + "\n".join(running), profile))
        # bottom left, above the x axis: after the first few percent of training every curve is
        # far above there, and the legend takes the bottom right
        y = 0.03
        for note, profile in reversed(notes):
            ax.text(0.1, y, note, transform=ax.transAxes, ha="left", va="bottom", fontsize=6.5,
                    color=colours[profile])
            y += 0.06 * (note.count("\n") + 1)
        if references and model in references:
            value, text = references[model]
            ax.axhline(value, color="gray", ls=":", lw=1, label=text)
        ax.set(title=model, xlabel="fraction of training", xlim=(0, 1))
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles))
        ax.legend(unique.values(), unique.keys(), fontsize=7, loc="lower right")
    axes[0][0].set_ylabel("test accuracy (%)")
    dashed = any(line.get_linestyle() == "--" for ax in axes[0] for line in ax.get_lines())
    fig.suptitle(title + (" (dashed: still training)" if dashed else ""))
    fig.tight_layout()
    return fig
