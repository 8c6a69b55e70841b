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
    for c, name in enumerate(classes):
        points = embedding[labels == c]
        ax.scatter(points[:, 0], points[:, 1], s=4, alpha=0.5, color=palette[c], label=name)
        if len(points):
            ax.annotate(name, np.median(points, axis=0), ha="center", fontsize=10,
                        fontweight="bold", color=palette[c],
                        bbox=dict(boxstyle="round,pad=0.2", fc="white", alpha=0.7, lw=0))
    ax.set(xticks=[], yticks=[], title=title)
    ax.legend(markerscale=4, loc="center left", bbox_to_anchor=(1, 0.5), frameon=False)
    fig.tight_layout()
    return fig


def plot_entropy_per_layer(entropy: pd.DataFrame, title: str) -> plt.Figure:
    """Bar chart of ``normalized_entropy`` per layer (from ``normalized_entropy``)."""
    fig, ax = plt.subplots(figsize=(9, 3.8))
    ax.bar(entropy["index"], entropy["normalized_entropy"], color=sns.color_palette()[0])
    short = [name.replace("stages.", "stage ").replace(".conv", " conv") for name in entropy["layer"]]
    ax.set(xticks=list(entropy["index"]), ylabel="entropy / log K", ylim=(0, 1.05), title=title)
    ax.set_xticklabels(short, rotation=90, fontsize=8)
    fig.tight_layout()
    return fig
