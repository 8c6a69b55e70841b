"""Figures shared by the notebooks: one look, saved as PNG and SVG."""

from __future__ import annotations

from pathlib import Path

import matplotlib

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .data import CLASSES


def set_style() -> None:
    """The report's plotting style (call once per notebook)."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    matplotlib.rcParams.update({"figure.dpi": 110, "savefig.bbox": "tight",
                                "axes.titleweight": "bold", "svg.fonttype": "none"})


def save_figure(fig: plt.Figure, name: str, figures_dir: str | Path) -> list[Path]:
    """Write ``fig`` as ``<figures_dir>/<name>.png`` and ``.svg``; return the two paths."""
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    paths = [figures_dir / f"{name}.{ext}" for ext in ("png", "svg")]
    for path in paths:
        fig.savefig(path, dpi=150 if path.suffix == ".png" else None)
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


def plot_accuracy_vs(summary: pd.DataFrame, x: str, reference: dict, xlabel: str,
                     title: str) -> plt.Figure:
    """Final train and test accuracy against ``summary[x]``, with the reference model's as lines.

    ``summary`` has one row per run with ``x``, ``train_acc`` and ``test_acc`` (percent);
    ``reference`` is the baseline's metrics.
    """
    fig, ax = plt.subplots(figsize=(7, 4.5))
    palette = sns.color_palette("colorblind")
    for split, colour, offset in (("train", palette[0], 6), ("test", palette[1], -12)):
        ax.plot(summary[x], summary[f"{split}_acc"], "o-", color=colour, label=f"{split}")
        ax.axhline(reference[f"{split}_acc"], color=colour, ls="--", lw=1,
                   label=f"ResNet-20 {split} ({reference[f'{split}_acc']:.2f}%)")
        for xv, yv in zip(summary[x], summary[f"{split}_acc"]):
            ax.annotate(f"{yv:.2f}", (xv, yv), xytext=(0, offset), textcoords="offset points",
                        ha="center", fontsize=8, color=colour)
    ax.set(xlabel=xlabel, ylabel="accuracy (%)", title=title, xticks=list(summary[x]))
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
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
