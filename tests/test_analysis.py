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


# The committed full-profile models over seeds (label, family, MMACs, test acc, std, seeds): the
# DY models sit 2% apart in MACs, width 0.81 and L0 0.5 almost on one point.
COMMITTED = [("ResNet-20", "R", 40.55, 87.09, 0.31, 3), ("ResNet-20 ×0.81 width", "R", 26.84, 86.03, None, 1),
             ("ResNet-20 ×0.58 width", "R", 12.94, 84.24, 0.13, 3), ("ResNet-20 ×0.5 width", "R", 10.25, 83.30, 0.27, 3),
             ("ResNet-20 ×0.45 width", "R", 7.87, 82.55, 0.30, 3), ("DY K=2", "DY", 41.28, 87.33, None, 1),
             ("DY K=3", "DY", 41.54, 87.53, None, 1), ("DY K=4", "DY", 41.81, 87.52, 0.21, 3),
             ("DY K=5", "DY", 42.08, 87.55, 0.24, 2), ("gated L0=2.0", "g", 9.58, 82.98, None, 1),
             ("gated L0=1.0", "g", 13.63, 84.39, None, 1), ("gated L0=0.5", "g", 26.72, 85.95, None, 1),
             ("gated L0=0.25", "g", 39.24, 86.96, None, 1),
             ("gated conditional (MAC-weighted L0=1.0)", "h", 10.19, 83.83, 0.17, 3)]


def _committed_points() -> pd.DataFrame:
    points = pd.DataFrame(COMMITTED, columns=["label", "family", "macs", "test_acc", "test_acc_std", "n"])
    return points.assign(macs=points["macs"] * 1e6, test_acc_std=points["test_acc_std"].astype(float))


def _check_labels(fig, points: pd.DataFrame) -> set:
    """Every axes' labels (the figure's texts that name a model): inside their axes, clear of
    each other, of every other model's marker and of the lines and error bars; the labels seen."""
    from matplotlib.transforms import Bbox

    from common.plots import MARKER_SIZE, _drawn_points

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    seen = set()
    for ax in [a for top in fig.axes for a in (top, *top.child_axes)]:  # insets too
        notes = [t for t in ax.texts if t.get_text() in set(points["label"])]
        boxes = [matplotlib.text.Text.get_window_extent(t, renderer) for t in notes]
        frame = ax.get_window_extent(renderer)
        drawn = _drawn_points(ax)
        r = MARKER_SIZE / 2 * fig.dpi / 72  # a marker's radius
        for note, box in zip(notes, boxes):
            name = note.get_text()
            seen.add(name)
            assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1, name
            others = points[points["label"] != name]
            for px, py in ax.transData.transform(np.column_stack([others["macs"] / 1e6, others["test_acc"]])):
                if frame.contains(px, py):
                    assert not box.overlaps(Bbox.from_extents(px - r, py - r, px + r, py + r)), name
            inside = ((drawn[:, 0] > box.x0) & (drawn[:, 0] < box.x1) & (drawn[:, 1] > box.y0)
                      & (drawn[:, 1] < box.y1))
            assert not inside.any(), f"{name} covers a line or an error bar"
        assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
        legend = ax.get_legend()
        if legend is not None:  # inside the axes, and no label on it
            box = legend.get_window_extent(renderer)
            assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
            assert not any(box.overlaps(b) for b in boxes)
    return seen


def test_accuracy_vs_macs_labels_of_nearby_models_do_not_overprint():
    from common.plots import plot_accuracy_vs_macs

    points = pd.DataFrame({"label": ["DY K=4", "DY K=5", "ResNet-20", "gated L0=2.0"],
                           "family": ["DY", "DY", "ResNet-20", "gated"],
                           "macs": [41.81e6, 42.08e6, 40.55e6, 9.58e6], "test_acc": [87.73, 87.72, 86.86, 82.98]})
    fig = plot_accuracy_vs_macs(points, "t", frontier="ResNet-20")
    assert _check_labels(fig, points) == set(points["label"])
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend[:3] == ["DY", "ResNet-20", "gated"]  # one ResNet-20: no line, so no frontier to name


def test_accuracy_vs_macs_labels_every_committed_model_clear_of_the_others():
    """The committed full-profile points: the DY labels once piled up and width 0.81's label sat on
    L0 0.5's marker. Crowded markers are labelled again in a zoomed inset."""
    from common.plots import plot_accuracy_vs_macs

    points = _committed_points()
    fig = plot_accuracy_vs_macs(points, "t", frontier="R")  # the legend at its longest, clear of every label
    assert _check_labels(fig, points) == set(points["label"])
    assert len(fig.axes[0].child_axes) == 1  # the DY cluster, zoomed in
    assert "R and its thinner widths (static frontier)" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def test_accuracy_vs_macs_draws_one_seed_hollow_and_means_filled_with_error_bars():
    from matplotlib.container import ErrorbarContainer

    from common.plots import SEED_MARKS, plot_accuracy_vs_macs

    points = pd.DataFrame({"label": ["A", "B", "C"], "family": ["f", "f", "f"], "macs": [10e6, 20e6, 40e6],
                           "test_acc": [80.0, 84.0, 86.0], "test_acc_std": [0.5, np.nan, 0.3], "n": [3, 1, 2]})
    ax = plot_accuracy_vs_macs(points, "t").axes[0]
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 1 and bars[0].lines[0].get_xydata().tolist() == [[10.0, 80.0], [40.0, 86.0]]
    hollow = [line for line in ax.lines if line.get_markerfacecolor() == "white"]
    assert len(hollow) == 1 and hollow[0].get_xydata().tolist() == [[20.0, 84.0]]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert SEED_MARKS["mean"] in legend and SEED_MARKS["one"] in legend
    # without seed counts every point is one run
    ax = plot_accuracy_vs_macs(points.drop(columns=["n", "test_acc_std"]), "t").axes[0]
    assert not [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert SEED_MARKS["mean"] not in [t.get_text() for t in ax.get_legend().get_texts()]


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
    from common.analysis import VEHICLE_ANIMAL, VEHICLES, pooled_inputs, similarity_controls
    from common.data import CLASSES
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
    vehicles = [c for c in CLASSES if c in VEHICLES]
    apart = sims["a"].loc[vehicles, [c for c in CLASSES if c not in vehicles]].to_numpy()
    assert table.loc["a", VEHICLE_ANIMAL] == pytest.approx(apart.mean()) and apart.shape == (4, 6)


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


def test_classes_are_grouped_vehicles_then_animals():
    from common.data import CLASSES

    assert [CLASSES[c] for c in analysis.class_order()] == [
        "airplane", "automobile", "ship", "truck", "bird", "cat", "deer", "dog", "frog", "horse"]
    assert analysis.class_order(CLASSES3) == [2, 0, 1]  # truck, cat, dog


def test_channel_usage_heatmaps_group_classes_and_label_colour_bar_and_axes():
    from common.data import CLASSES

    rng = np.random.default_rng(0)
    usage = {"stages.0.0": rng.random((10, 16)), "stages.2.1": rng.random((10, 4))}
    usage["stages.0.0"][CLASSES.index("ship")] = 1.0  # ship's row is all on
    fig = analysis_plots.plot_channel_usage(usage, "t", channels={"stages.0.0": np.arange(16),
                                                                  "stages.2.1": np.array([3, 9, 17, 40])})
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in panels] == ["s1.b1 (16 channels)", "s3.b2 (4 channels)"]
    rows = [t.get_text() for t in panels[0].get_yticklabels()]
    assert rows == ["airplane", "automobile", "ship", "truck", "bird", "cat", "deer", "dog", "frog", "horse"]
    assert (panels[0].images[0].get_array()[rows.index("ship")] == 1.0).all()  # rows moved with their names
    assert all(ax.get_xlabel() == "channel" for ax in panels)
    assert [t.get_text() for t in panels[1].get_xticklabels()] == ["3", "9", "17", "40"]  # the channels' own numbers
    assert all(ax.images[0].get_clim() == (0, 1) for ax in panels)  # one scale: one colour bar for all
    bar = panels[-1].images[0].colorbar
    assert bar is not None and "channel on" in bar.ax.get_ylabel()


def test_macs_per_class_never_clips_an_image_and_names_only_drawn_lines():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 50)
    macs = rng.normal(10.5e6, 0.8e6, 500)
    macs[7] = 16.26e6  # one expensive image, far beyond the others
    fig = analysis_plots.plot_macs_per_class(macs, labels, 40.55e6, "t")
    ax_all, ax_cls = fig.axes
    low, high = ax_cls.get_ylim()
    assert low <= macs.min() / 1e6 and high >= macs.max() / 1e6
    low, high = ax_all.get_xlim()
    assert low <= macs.min() / 1e6 and high >= macs.max() / 1e6
    # ResNet-20's 40.55M lies far right of the axis: named in a note at the edge, not in the legend
    assert not any("ResNet-20" in t.get_text() for t in ax_all.get_legend().get_texts())
    assert any("ResNet-20 40.55M" in t.get_text() for t in ax_all.texts)
    fig = analysis_plots.plot_macs_shift({"clean": macs, "attacked": macs * 1.01}, 40.55e6, "t")
    ax = fig.axes[0]
    assert not any("ResNet-20" in t.get_text() for t in ax.get_legend().get_texts())
    # a reference inside the axis is a line, in the legend
    fig = analysis_plots.plot_macs_shift({"clean": macs}, 12e6, "t")
    assert any("ResNet-20" in t.get_text() for t in fig.axes[0].get_legend().get_texts())


def test_robustness_curves_have_binomial_error_bars():
    from matplotlib.container import ErrorbarContainer

    from common.plots import plot_robustness_curves

    sweep = pd.DataFrame([{"model": m, "attack": a, "eps_255": e, "robust_acc": acc}
                          for m, accs in {"ResNet-20": (90.0, 50.0), "DY K=4": (91.0, 40.0),
                                          "gated conditional (MAC-weighted L0=1.0)": (85.0, 0.0)}.items()
                          for a in ("FGSM", "PGD-10") for e, acc in zip((0, 4), accs)])
    fig = plot_robustness_curves(sweep, "t", images=100)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["FGSM: DY models", "FGSM: gated models", "PGD-10: DY models", "PGD-10: gated models",
                      "", ""]  # the last row holds each family's legend, under the panels
    assert all(ax.get_legend() is None for ax in fig.axes[:4])
    assert [t.get_text() for t in fig.axes[4].get_legend().get_texts()] == ["ResNet-20", "DY K=4"]
    bars = [c for c in fig.axes[0].containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 2  # ResNet-20 and DY K=4
    spans = [np.ptp(seg[:, 1]) / 2 for seg in bars[0].lines[2][0].get_segments()]
    assert spans == pytest.approx([100 * (0.9 * 0.1 / 100) ** 0.5, 100 * (0.5 * 0.5 / 100) ** 0.5])
    assert "100 images" in fig._suptitle.get_text()
    other_seeds = pd.concat([sweep[sweep["model"] == "ResNet-20"].assign(model=f"ResNet-20 (seed {s})") for s in (1, 2)])
    fig = plot_robustness_curves(pd.concat([sweep, other_seeds]), "t", images=100)
    assert len(fig.axes) == 6  # ResNet-20's other seeds are no family of their own
    grey = [line for line in fig.axes[0].get_lines() if line.get_color() == "grey" and line.get_linestyle() == "-"]
    assert len(grey) == 2  # drawn in every panel, thin and grey
    assert [t.get_text() for t in fig.axes[4].get_legend().get_texts()] == ["ResNet-20", "DY K=4", "ResNet-20 (other seeds)"]
    with_column = plot_robustness_curves(sweep.assign(images=100), "t")  # the sweep's own count
    assert "100 images" in with_column._suptitle.get_text()
    with pytest.warns(UserWarning, match="no error bars"):
        fig = plot_robustness_curves(sweep, "t")
    assert "no error bars" in fig._suptitle.get_text()


def test_embeddings_side_by_side_share_one_legend():
    rng = np.random.default_rng(0)
    labels = np.array([0, 1, 2] * 10)
    fig = analysis_plots.plot_embeddings_by_class({"attention": rng.normal(size=(30, 2)),
                                                   "static features": rng.normal(size=(30, 2))}, labels, "t",
                                                  classes=CLASSES3)
    assert [ax.get_title() for ax in fig.axes] == ["attention", "static features"]
    assert all(sorted(t.get_text() for t in ax.texts) == list(CLASSES3) for ax in fig.axes)
    assert fig.axes[0].get_legend() is None and fig.axes[1].get_legend() is not None


def test_similarity_controls_bars_show_every_agreement():
    controls = pd.DataFrame({"cat/dog": [0.5, 0.4], "agreement with a": [1.0, 0.8],
                             "agreement with vehicles/animals": [0.6, 0.7], "… given b": [0.2, np.nan]},
                            index=pd.Index(["a", "b"], name="features"))
    fig = analysis_plots.plot_similarity_controls(controls, "t")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert len(ax.patches) == 6  # 2 features x 3 agreements ("–" where there is none)
    assert sorted(t.get_text() for t in fig.legends[0].get_texts()) == sorted(controls.columns[1:])


def test_macs_vs_difficulty_shows_every_whisker():
    from common.analysis_plots import plot_macs_vs_difficulty

    rng = np.random.default_rng(1)
    macs = rng.normal(10e6, 1e6, 2000)
    fig = plot_macs_vs_difficulty(macs, rng.random(2000) > 0.2, rng.random(2000), 40e6, "t")
    ax = fig.axes[0]
    ends = np.concatenate([line.get_ydata() for line in ax.lines])  # boxes, medians, whiskers, caps
    low, high = ax.get_ylim()
    assert low <= ends.min() and ends.max() <= high


def test_robustness_legend_names_the_dashed_adaptive_attack_once():
    from common.plots import plot_robustness_curves

    sweep = pd.DataFrame([{"model": m, "attack": a, "eps_255": e, "robust_acc": 50.0, "images": 100}
                          for m in ("ResNet-20", "gated L0=0.5", "gated L0=1.0")
                          for a in ("PGD-10", "PGD-10 (straight-through)") for e in (0, 4)
                          if m != "ResNet-20" or "straight" not in a])
    fig = plot_robustness_curves(sweep, "t")
    texts = [t.get_text() for t in fig.axes[-1].get_legend().get_texts()]
    assert texts == ["ResNet-20", "gated L0=0.5", "gated L0=1.0", "dashed: the straight-through (adaptive) attack"]


def test_an_untrained_gated_model_can_be_set_to_a_trained_models_on_rates():
    import torch

    from common.analysis import match_gate_rates, untrained_model
    from common.evaluation import gate_on_rates

    images = torch.randint(0, 256, (200, 3, 32, 32), dtype=torch.uint8)
    model = untrained_model("gated_resnet20", images, seed=0)
    before = gate_on_rates(model, images)
    assert min(rate.mean() for rate in before.values()) > 0.9  # untrained gates start (almost) all on
    generator = torch.Generator().manual_seed(0)
    rates = {name: torch.rand(len(rate), generator=generator) for name, rate in before.items()}
    rates[next(iter(rates))][:3] = torch.tensor([0.0, 1.0, 0.5])
    after = gate_on_rates(match_gate_rates(model, rates, images), images)
    for name, rate in rates.items():
        assert (after[name] - rate).abs().max() <= 1.5 / 200, name  # one image, up to rounding


def test_gating_controls_read_one_gated_model_against_its_twins_and_resnet20():
    import numpy as np
    import torch

    from common.analysis import RATE_MATCHED, gating_controls, untrained_model
    from common.evaluation import gated_eval

    generator = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (200, 3, 32, 32), dtype=torch.uint8, generator=generator)
    labels = np.arange(200) % 10
    trained = untrained_model("gated_resnet20", images, seed=3)  # stands in for a trained model
    gates = {name: r["gates"] for name, r in gated_eval(trained, images)[1].items()}
    gates = {name: g * (torch.rand(g.shape, generator=generator) < 0.5) for name, g in gates.items()}  # ~half on
    table, features = gating_controls("gated_resnet20", {}, gates, untrained_model("resnet20", images, seed=3),
                                      images, labels, images, seed=3, usage_name="usage", static_name="static")
    matched = f"untrained usage {RATE_MATCHED}"
    assert list(table.index) == list(features) == ["usage", "static", "untrained usage", "untrained static", matched]
    assert table.loc["usage", "agreement with usage"] == pytest.approx(1.0)
    assert np.isnan(table.loc["static", "… given static"])  # the control is not read against itself
    assert features["untrained usage"].mean() > 0.9  # untrained gates: (almost) all on
    assert abs(features[matched].mean() - features["usage"].mean()) < 0.02  # matched per channel, on these images


def test_attention_controls_read_dy_attention_against_an_untrained_dy_and_resnet20():
    import numpy as np
    import torch

    from common.analysis import attention_controls, untrained_model
    from common.evaluation import collect_attention

    images = torch.randint(0, 256, (100, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(2))
    dy = untrained_model("dy_resnet20", images, seed=5, num_kernels=2)
    table, features = attention_controls(collect_attention(dy, images), 2, untrained_model("resnet20", images, seed=5),
                                         images, np.arange(100) % 10, images, seed=5, attention_name="attention",
                                         static_name="static")
    assert list(table.index) == list(features) == ["attention", "static", "untrained attention", "untrained static"]
    # the twin is the same architecture at the same seed's initial weights: here, the "trained" model itself
    np.testing.assert_allclose(features["untrained attention"], features["attention"], atol=1e-5)
    # the pooled inputs of the 18 block convolutions: a stage's first conv sees the previous stage's width
    assert features["static"].shape == (100, 6 * 16 + (16 + 5 * 32) + (32 + 5 * 64))


def test_controls_by_seed_reads_each_seeds_partials_by_whose_they_are():
    import numpy as np

    from common.analysis import (RATE_MATCHED, TRAINED, UNTRAINED, UNTRAINED_STATIC, control_partials,
                                 controls_by_seed)

    def controls(own, partials, matched=None):  # a controls table as gating_controls / attention_controls order it
        rows = [own, "static", f"untrained {own}", "untrained static"] + (
            [f"untrained {own} {RATE_MATCHED}"] if matched is not None else [])
        values = [partials[0], np.nan, partials[1], partials[2]] + ([matched] if matched is not None else [])
        return pd.DataFrame({"agreement with vehicles/animals": 0.5, "… given static": values},
                            index=pd.Index(rows, name="features"))

    gated = {0: controls("usage", [0.9, -0.7, 0.8], matched=-0.1), 2: controls("usage", [0.6, -0.3, -0.6], matched=0.5)}
    assert control_partials(gated[0]) == {TRAINED: 0.9, UNTRAINED: -0.7, RATE_MATCHED: -0.1, UNTRAINED_STATIC: 0.8}
    table = controls_by_seed(gated)
    assert list(table.columns) == ["seed", TRAINED, UNTRAINED, RATE_MATCHED, UNTRAINED_STATIC]
    assert table.set_index("seed").loc[2].tolist() == [0.6, -0.3, 0.5, -0.6]
    dy = controls_by_seed({1: controls("attention", [-0.2, 0.3, 0.7])})
    assert list(dy.columns) == ["seed", TRAINED, UNTRAINED, UNTRAINED_STATIC]  # no rate-matched twin for DY
    assert list(controls_by_seed({}).columns) == ["seed", TRAINED, UNTRAINED, UNTRAINED_STATIC]


def test_compute_and_difficulty_separates_a_class_effect_from_an_image_effect():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 500)
    # class 1 is both costlier and harder; within a class, MACs are unrelated to difficulty
    macs = np.where(labels == 1, 12e6, 10e6) + rng.normal(0, 1e5, 1000)
    confidence = np.where(labels == 1, 0.6, 0.9) + rng.normal(0, 0.05, 1000)
    correct = rng.random(1000) < np.where(labels == 1, 0.6, 0.95)
    d = analysis.compute_and_difficulty(macs, correct, confidence, labels)
    assert d["macs wrong"] > 1.05 * d["macs correct"] and d["spearman"] < -0.5  # pooled: harder images cost more
    assert abs(d["wrong over correct within class"]) < 0.01 and abs(d["spearman within class"]) < 0.1
    # within each class, wrong images cost 5% more: the within-class numbers must show it
    macs = np.where(correct, 1.0, 1.05) * np.where(labels == 1, 12e6, 10e6)
    d = analysis.compute_and_difficulty(macs, correct, confidence, labels)
    assert d["wrong over correct within class"] == pytest.approx(0.05)
    assert d["classes wrong costlier"] == d["classes compared"] == 2
