import pandas as pd
import pytest

from common import names, study
from common.data import load_cifar10


def test_run_labels_are_readable():
    from common.manifest import HEADLINE

    assert names.run_label("resnet20") == "ResNet-20"
    assert names.run_label("resnet20", {"width": 1.0}) == "ResNet-20"
    assert names.run_label("resnet20", {"width": 0.5}) == "ResNet-20 ×0.5 width"
    assert names.run_label("dy_resnet20", {"num_kernels": 4}) == "DY K=4"
    assert names.run_label("gated_resnet20", {"l0_weight": 0.5}) == "gated L0=0.5"
    assert names.run_label(*HEADLINE) == "gated conditional (MAC-weighted L0=1.0)"
    assert names.run_label("gated_resnet20", {"l0_weight": 1.0, "bs_until": None}) == "gated conditional (L0=1.0)"
    assert names.run_label("gated_resnet20", {"l0_weight": 1.0, "l0_cost": "macs"}) == "gated MAC-weighted L0=1.0"
    # a setting no rule names stays in the label, so two runs never share one
    assert names.run_label("gated_resnet20", {"l0_weight": 1.0, "bs_until": 0.5}) == "gated L0=1.0 bs_until=0.5"
    assert list(study.study_specs([2], [0.5])) == ["ResNet-20", "DY K=2", "gated L0=0.5"]


def test_every_label_starts_with_its_family_word():
    """common.plots.plot_robustness_curves groups models by a label's first word."""
    from common.manifest import HEADLINE, L0_WEIGHTS, WIDTHS

    runs = ([("resnet20", {}), HEADLINE] + [("resnet20", {"width": w}) for w in WIDTHS]
            + [("dy_resnet20", {"num_kernels": k}) for k in (2, 5)]
            + [("gated_resnet20", {"l0_weight": w}) for w in L0_WEIGHTS])
    words = {"resnet20": "ResNet-20", "dy_resnet20": "DY", "gated_resnet20": "gated"}
    labels = [names.run_label(*run) for run in runs]
    assert len(set(labels)) == len(labels)
    for (model, _), label in zip(runs, labels):
        assert label.split()[0] == words[model], label
        assert "," not in label.split("(")[0], label  # lists of labels in prose stay apart


def test_run_families_keep_thin_resnets_on_the_static_line():
    assert names.run_family("resnet20", {"width": 0.58}) == names.run_family("resnet20") == "ResNet-20"
    assert names.run_family("dy_resnet20", {"num_kernels": 4}) == "DY-ResNet-20"
    assert names.run_family("gated_resnet20", {"l0_weight": 0.5}) == "gated ResNet-20"
    assert (names.run_family("gated_resnet20", {"l0_weight": 1.0, "bs_until": None, "l0_cost": "macs"})
            == "gated ResNet-20 (conditional, MAC-weighted L0)")


def test_one_layer_name_from_the_module_path():
    assert names.layer_name("stages.0.0") == "s1.b1"
    assert names.layer_name("stages.2.1.conv1") == "s3.b2.conv1"
    assert names.layer_name("stem") == "stem"  # not a block: its path


def test_tables_and_figures_name_layers_alike():
    import numpy as np
    import torch

    from common import analysis, analysis_plots

    gates = {"stages.0.0": torch.tensor([[1, 0], [1, 1]] * 5), "stages.1.2": torch.tensor([[0, 1], [1, 1]] * 5)}
    assert analysis.gate_usage(gates)["layer"].tolist() == ["s1.b1", "s2.b3"]
    attention = {"stages.0.0.conv1": torch.full((2, 2), 0.5)}
    assert analysis.normalized_entropy(attention)["layer"].tolist() == ["s1.b1.conv1"]
    assert analysis.attention_shift(attention, attention)["layer"].tolist() == ["s1.b1.conv1"]
    usage = analysis.channel_usage_per_class(gates, np.arange(10))  # one image per class
    fig = analysis_plots.plot_channel_usage(usage, "t")
    assert [ax.get_title().split()[0] for ax in fig.axes[:2]] == ["s1.b1", "s2.b3"]
    fig = analysis_plots.plot_gate_usage(analysis.gate_usage(gates), "t")
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["s1.b1", "s2.b3"]


def test_handoff_paths_are_named_once(tmp_path):
    assert study.handoff_path(tmp_path, "attention_tsne", profile="full", k=4).name == \
        "02_attention_tsne_full_k4.csv"
    with pytest.raises(KeyError, match="hand-off"):
        study.handoff_path(tmp_path, "nothing", profile="full")


def test_strongest_pgd_takes_the_lowest_pgd_variant_at_one_eps():
    sweep = pd.DataFrame([
        {"model": "a", "attack": "FGSM", "eps_255": 1, "robust_acc": 10.0},
        {"model": "a", "attack": "PGD-10", "eps_255": 1, "robust_acc": 40.0},
        {"model": "a", "attack": "PGD-20", "eps_255": 1, "robust_acc": 35.0},
        {"model": "a", "attack": "PGD-20", "eps_255": 8, "robust_acc": 0.0},
        {"model": "b", "attack": "PGD-20", "eps_255": 1, "robust_acc": 50.0},
        {"model": "b", "attack": "PGD-20 (straight-through)", "eps_255": 1, "robust_acc": 45.0},
        {"model": "b", "attack": "PGD-20", "eps_255": 0, "robust_acc": 90.0}])
    assert study.smallest_attack_eps(sweep) == 1
    assert study.strongest_pgd(sweep, 1).to_dict() == {"a": 35.0, "b": 45.0}  # FGSM is not PGD


def test_train_runs_then_finished_runs_by_label(tiny_folder, tmp_path, monkeypatch):
    import common.train

    monkeypatch.setitem(common.train.PROFILES, "smoke", dict(epochs=1, train_size=32))
    data = load_cifar10(tiny_folder, cache_dir=tmp_path / "cache")
    specs = study.study_specs(l0_weights=[0.5])
    found, missing = study.finished_runs(specs, data, "smoke", 0, tmp_path)
    assert found == {} and missing == ["ResNet-20", "gated L0=0.5"]
    smoke = {"ResNet-20": ("resnet20", {})}
    trained = study.train_runs(smoke, data, "smoke", 0, tmp_path, device="cpu")
    found, missing = study.finished_runs(specs, data, "smoke", 0, tmp_path)
    assert found == trained and missing == ["gated L0=0.5"]
    info = study.run_info(found["ResNet-20"])
    assert {k: info[k] for k in ("family", "model", "seed")} == {"family": "ResNet-20", "model": "ResNet-20", "seed": 0}
    assert len(info["train_loss"]) == 1 and study.shared_epochs(info, study.run_info(found["ResNet-20"])) == 1


def test_transfer_relations_separate_shared_history_from_family():
    info = {"ResNet-20": {"family": "ResNet-20", "model": "ResNet-20", "seed": 0},
            "ResNet-20 (seed 1)": {"family": "ResNet-20", "model": "ResNet-20", "seed": 1},
            "gated L0=0.5": {"family": "gated ResNet-20", "model": "gated L0=0.5", "seed": 0},
            "gated L0=1.0": {"family": "gated ResNet-20", "model": "gated L0=1.0", "seed": 0},
            "gated L0=2.0": {"family": "gated ResNet-20", "model": "gated L0=2.0", "seed": 0,
                             "train_loss": (1.8, 0.9, 0.7)},
            "gated L0=4.0": {"family": "gated ResNet-20", "model": "gated L0=4.0", "seed": 0,
                             "train_loss": (1.8, 0.9, 0.8)},
            "headline (seed 1)": {"family": "gated ResNet-20", "model": "headline", "seed": 1}}
    labels = list(info)
    matrix = pd.DataFrame([[float(10 * i + j) for j in range(7)] for i in range(7)], index=labels, columns=labels)
    table = study.transfer_relations(matrix, info).set_index(["source", "target"])
    relations = table["relation"]
    assert len(relations) == 42  # every off-diagonal cell
    assert table.loc[("gated L0=0.5", "gated L0=1.0"), "family"] == "gated ResNet-20"
    assert table.loc[("ResNet-20", "gated L0=0.5"), "family"] == "mixed"
    assert relations["ResNet-20", "ResNet-20 (seed 1)"] == "same model, other seed"
    assert relations["gated L0=0.5", "gated L0=1.0"] == "same family, same seed"
    assert relations["gated L0=2.0", "gated L0=4.0"] == "same family, shared epochs"
    assert table.loc[("gated L0=4.0", "gated L0=2.0"), "shared_epochs"] == 2
    assert relations["gated L0=2.0", "gated L0=0.5"] == "same family, same seed"  # no losses
    assert relations["gated L0=1.0", "headline (seed 1)"] == "same family, other seed"
    assert relations["ResNet-20", "gated L0=0.5"] == "other family"
