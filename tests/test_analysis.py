"""The per-image feature analysis of notebooks 02-04 on small hand-made inputs."""

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch

from common import analysis, analysis_plots

matplotlib.use("Agg")
CLASSES3 = ("cat", "dog", "truck")


def test_normalized_entropy_is_one_for_uniform_and_zero_for_one_hot():
    stats = analysis.normalized_entropy({"uniform": torch.full((5, 4), 0.25),
                                         "one_hot": torch.eye(4)[[0, 1, 2, 3, 0]],
                                         "half": torch.tensor([[0.5, 0.5, 0.0, 0.0]])})
    assert stats["normalized_entropy"].tolist() == pytest.approx([1.0, 0.0, math.log(2) / math.log(4)])
    assert stats["index"].tolist() == [0, 1, 2]


def test_class_similarity_groups_classes_with_alike_features():
    # cat and dog share a pattern, truck has the opposite one; every class also shares a large
    # common vector, which centring over classes must remove (else all correlations would be ~1).
    rng = np.random.default_rng(0)
    pattern, common = np.array([1.0, -1.0, 0.5, 0.0]), np.array([0.0, 10.0, -20.0, 10.0])
    means = {0: pattern, 1: pattern + 0.1, 2: -pattern}
    labels = np.repeat([0, 1, 2], 50)
    features = np.stack([common + means[c] + 0.01 * rng.standard_normal(4) for c in labels])
    similarity = analysis.class_similarity(features, labels, CLASSES3)
    assert list(similarity.index) == list(CLASSES3)
    assert np.allclose(np.diag(similarity), 1)
    assert similarity.loc["cat", "dog"] > 0.9 and similarity.loc["cat", "truck"] < -0.9
    nearest = analysis.nearest_classes(similarity)
    assert (nearest["cat"], nearest["dog"]) == ("dog", "cat")


def test_similarity_agreement():
    a = pd.DataFrame([[1, 0.8, -0.5], [0.8, 1, -0.4], [-0.5, -0.4, 1]], index=CLASSES3, columns=CLASSES3)
    assert analysis.similarity_agreement(a, a) == pytest.approx(1)
    flipped = pd.DataFrame(np.where(np.eye(3, dtype=bool), a, -a), index=CLASSES3, columns=CLASSES3)
    assert analysis.similarity_agreement(a, flipped) == pytest.approx(-1)
    shuffled = a.loc[["truck", "cat", "dog"], ["truck", "cat", "dog"]]  # same matrix, other order
    assert analysis.similarity_agreement(a, shuffled) == pytest.approx(1)


def test_gate_usage_splits_channels_into_always_on_conditional_always_off():
    gates = {"block": torch.tensor([[1, 1, 0, 0],
                                    [1, 0, 0, 1],
                                    [1, 1, 0, 0]])}
    row = analysis.gate_usage(gates).iloc[0]
    assert (row["channels"], row["always on"], row["conditional"], row["always off"]) == (4, 0.25, 0.5, 0.25)
    assert row["mean on"] == pytest.approx(6 / 12)


def test_channel_usage_per_class_and_its_table_round_trip():
    gates = {"a": torch.tensor([[1, 0], [1, 1], [0, 0], [0, 1]]), "b": torch.tensor([[1], [0], [1], [1]])}
    labels = np.array([0, 0, 2, 1])
    usage = analysis.channel_usage_per_class(gates, labels, num_classes=3)
    assert usage["a"].tolist() == [[1.0, 0.5], [0.0, 1.0], [0.0, 0.0]]
    assert usage["b"].tolist() == [[0.5], [1.0], [1.0]]
    back = analysis.usage_from_frame(analysis.usage_to_frame(usage, CLASSES3), CLASSES3)
    assert list(back) == ["a", "b"] and all(np.array_equal(back[k], usage[k]) for k in usage)


def test_attention_shift_measures_total_variation():
    clean = {"layer": torch.tensor([[1.0, 0.0], [0.5, 0.5]])}
    adversarial = {"layer": torch.tensor([[0.0, 1.0], [0.5, 0.5]])}
    shift = analysis.attention_shift(clean, adversarial).iloc[0]
    assert shift["mean TV distance"] == pytest.approx(0.5)  # 1 for the first image, 0 for the second
    assert shift["entropy clean"] == pytest.approx(shift["entropy adversarial"])


def test_separate_labels_moves_only_overlapping_labels():
    positions = np.array([[0.0, 0.0], [0.05, 0.01], [5.0, 0.0]])
    placed = analysis_plots.separate_labels(positions, min_dx=1.0, min_dy=0.5)
    assert placed[0].tolist() == [0.0, 0.0] and placed[2].tolist() == [5.0, 0.0]
    assert placed[1, 0] == 0.05 and abs(placed[1, 1] - placed[0, 1]) >= 0.5


def test_embedding_plot_labels_every_present_class():
    embedding = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [5.0, 5.0]])
    fig = analysis_plots.plot_embedding_by_class(embedding, np.array([0, 2, 0, 2]), "t", classes=CLASSES3)
    ax = fig.axes[0]
    assert sorted(t.get_text() for t in ax.texts) == ["cat", "truck"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["cat", "truck"]


def test_accuracy_vs_macs_labels_of_nearby_models_do_not_overprint():
    from matplotlib.transforms import Bbox

    from common.plots import plot_accuracy_vs_macs

    points = pd.DataFrame({"label": ["DY K=4", "DY K=5", "ResNet-20", "gated L0=2.0"],
                           "family": ["DY", "DY", "ResNet-20", "gated"],
                           "macs": [41.81e6, 42.08e6, 40.55e6, 9.58e6], "test_acc": [87.73, 87.72, 86.86, 82.98]})
    fig = plot_accuracy_vs_macs(points, "t")
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in fig.axes[0].texts]
    assert sorted(t.get_text() for t in fig.axes[0].texts) == sorted(points["label"])
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    # no label covers another model's marker (K=4's label over K=5's point read as K=5's)
    ax = fig.axes[0]
    for text in ax.texts:
        box = text.get_window_extent(renderer)
        others = points[points["label"] != text.get_text()]
        r = 3 * fig.dpi / 72  # a marker's radius
        for px, py in ax.transData.transform(np.column_stack([others["macs"] / 1e6, others["test_acc"]])):
            assert not box.overlaps(Bbox.from_extents(px - r, py - r, px + r, py + r)), text.get_text()


def test_accuracy_vs_macs_keeps_every_label_inside_the_axes():
    from common.plots import plot_accuracy_vs_macs

    # the committed full-profile point set: width 0.58's label once sat over the y-axis label
    rows = [("ResNet-20", "R", 40.55, 87.09), ("ResNet-20 width=0.58", "R", 12.94, 84.17),
            ("ResNet-20 width=0.5", "R", 10.25, 83.35), ("DY K=2", "DY", 41.28, 87.33),
            ("DY K=3", "DY", 41.54, 87.53), ("DY K=4", "DY", 41.81, 87.52), ("DY K=5", "DY", 42.08, 87.72),
            ("gated L0=2.0", "g", 9.58, 82.98), ("gated L0=1.0", "g", 13.63, 84.39),
            ("gated L0=0.5", "g", 26.72, 85.95), ("gated L0=0.25", "g", 39.24, 86.96),
            ("gated L0=1.0 bs_until=None l0_cost=macs", "h", 10.29, 83.74)]
    points = pd.DataFrame(rows, columns=["label", "family", "macs", "test_acc"]).assign(
        macs=lambda d: d["macs"] * 1e6)
    fig = plot_accuracy_vs_macs(points, "t")
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    frame = ax.get_window_extent(renderer)
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    assert len(boxes) == len(points)
    for text, box in zip(ax.texts, boxes):
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1, \
            text.get_text()
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_transfer_matrix_groups_seeds_and_scales_colour_to_the_transfer_cells():
    from common.plots import plot_transfer_matrix

    names = ["A", "B", "A (seed 1)", "B (seed 1)"]
    values = np.array([[0.0, 10, 20, 30], [11, 0.0, 21, 31], [12, 22, 0.0, 32], [13, 23, 33, 0.0]])
    fig = plot_transfer_matrix(pd.DataFrame(values, index=names, columns=names), "t")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["A", "A (seed 1)", "B", "B (seed 1)"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["A", "A (seed 1)", "B", "B (seed 1)"]
    assert ax.collections[0].get_clim() == (10.0, 33.0)  # the zero diagonal is not on the scale
    cells = [t.get_text() for t in ax.texts]
    assert len(cells) == 12 and "0.0" not in cells
    # row "A (seed 1)" holds A (seed 1)'s own values, reordered with the columns
    assert cells[3:6] == ["12.0", "22.0", "32.0"]


def test_save_figure_writes_png_and_the_same_svg_every_time(tmp_path):
    import matplotlib.pyplot as plt
    from common.plots import save_figure, set_style

    set_style()
    svgs = []
    for run in range(2):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [1, 0])
        paths = save_figure(fig, "line", tmp_path / str(run))
        assert [p.suffix for p in paths] == [".png", ".svg"] and all(p.stat().st_size > 0 for p in paths)
        svgs.append(paths[1].read_text())
        plt.close(fig)
    assert svgs[0] == svgs[1]  # no date, no random ids: a rerun leaves git clean


def test_partial_agreement_removes_what_the_control_explains():
    from common.analysis import partial_agreement, similarity_agreement, superclass_similarity

    split = superclass_similarity()
    assert split.loc["cat", "dog"] == 1 and split.loc["cat", "truck"] == -1
    rng = np.random.default_rng(0)

    def symmetric_noise():
        noise = pd.DataFrame(rng.normal(size=(10, 10)), index=split.index, columns=split.columns)
        return (noise + noise.T) / 2

    features = split + 0.8 * symmetric_noise()
    copy = features + 0.1 * symmetric_noise()  # repeats `features`, knows nothing more
    extra = split + 0.8 * symmetric_noise()  # knows the split on its own
    assert similarity_agreement(copy, split) > 0.5 and similarity_agreement(extra, split) > 0.5
    assert abs(partial_agreement(copy, split, features)) < 0.3
    assert partial_agreement(extra, split, features) > 0.4


def test_pooled_inputs_and_similarity_controls():
    from common.analysis import pooled_inputs, similarity_controls
    from common.models import build_model

    torch.manual_seed(0)
    model = build_model("resnet20").eval()
    images = (torch.rand(40, 3, 32, 32) * 255).to(torch.uint8)
    pooled = pooled_inputs(model, ["stages.0.0.conv1", "stages.2.2.conv2"], images)
    assert pooled["stages.0.0.conv1"].shape == (40, 16) and pooled["stages.2.2.conv2"].shape == (40, 64)
    with pytest.raises(KeyError, match="no layers"):
        pooled_inputs(model, ["nope"], images)
    labels = np.arange(40) % 10
    rng = np.random.default_rng(0)
    features = {"a": rng.normal(size=(40, 5)), "b": rng.normal(size=(40, 7))}
    table, sims = similarity_controls(features, labels, reference="a", control="b")
    assert table.loc["a", "agreement with a"] == pytest.approx(1.0)
    assert np.isnan(table.loc["b", "… given b"]) and set(sims) == {"a", "b"}


def test_first_correct_picks_by_rule_and_image_attention_plots():
    from common.analysis import first_correct
    from common.analysis_plots import plot_image_attention

    labels = np.array([3, 5, 3, 3, 5, 5, 1])
    predictions = np.array([3, 5, 0, 3, 5, 2, 1])
    assert first_correct(labels, predictions, ["cat", "dog"]).tolist() == [0, 3, 1, 4]
    assert first_correct(labels, np.zeros(7, int), ["cat"]).tolist() == [0, 2]  # none correct
    with pytest.raises(ValueError, match="automobile"):
        first_correct(labels, predictions, ["automobile"])
    attention = {f"stages.0.{i}.conv1": torch.softmax(torch.randn(7, 4), 1) for i in range(3)}
    fig = plot_image_attention(attention, np.array([0, 3, 1, 4]), labels, "t")
    assert len(fig.axes[0].get_yticklabels()) == 6  # 4 images + 2 class means


def test_macs_vs_difficulty_tolerates_tied_confidences():
    from common.analysis_plots import plot_macs_vs_difficulty

    macs = np.linspace(9e6, 11e6, 50)
    confidence = np.r_[np.full(30, 0.5), np.linspace(0.6, 1, 20)]  # many ties: empty deciles
    fig = plot_macs_vs_difficulty(macs, np.arange(50) % 3 > 0, confidence, 40e6, "t")
    low, high = fig.axes[0].get_ylim()
    assert 8e6 / 1e6 < low < 9 and 11 < high < 12  # the data's range, not up to ResNet-20's 40M
