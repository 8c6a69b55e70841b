import pytest

from common import attack_results, names, study
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


def test_a_seed_label_reads_back():
    assert names.split_seed(names.seed_label("DY K=4", 1)) == ("DY K=4", 1)
    assert names.split_seed("gated conditional (MAC-weighted L0=1.0)") == ("gated conditional (MAC-weighted L0=1.0)", None)


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
    assert study.handoff_name("mac_cap", profile="paper") == "04_mac_cap_paper"
    with pytest.raises(KeyError, match="hand-off"):
        study.handoff_path(tmp_path, "nothing", profile="full")


def test_each_shared_table_has_one_writer_and_no_second_spelling():
    """Every table in ``study.HANDOFF`` is written by the notebook its name numbers, through
    ``study.handoff_name`` / ``handoff_path``; no other module spells a shared table's file name."""
    import json
    import re
    from pathlib import Path

    from common.report import numbered_notebooks

    sources = {nb.stem[:2]: "\n".join("".join(cell["source"]) for cell in json.loads(nb.read_text())["cells"]
                                      if cell["cell_type"] == "code") for nb in numbered_notebooks()}
    for key, name in study.HANDOFF.items():
        writer = sources[name[:2]]
        assert re.search(rf'study\.handoff_(name|path)\((tables_dir, )?"{key}"', writer), (key, name[:2])
        # a second spelling: the name as a string or f-string, its fields any placeholders
        spelled = re.compile(re.sub(r"\\\{[^}]*\\\}", r"\\{[^}]*\\}", re.escape(name)) + r'(\.csv)?"')
        for module in Path(study.__file__).parent.glob("*.py"):
            if module.name != "study.py":
                assert not spelled.search(module.read_text()), (module.name, name)
        for number, source in sources.items():
            assert not spelled.search(source), (number, name)


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
    info = attack_results.run_info(found["ResNet-20"])
    assert {k: info[k] for k in ("family", "model", "seed")} == {"family": "ResNet-20", "model": "ResNet-20", "seed": 0}
    assert len(info["train_loss"]) == 1 and attack_results.shared_epochs(info, attack_results.run_info(found["ResNet-20"])) == 1


def test_every_registered_model_is_named_and_its_knob_is_one_of_its_settings():
    from common.models import list_models, model_settings
    assert sorted(names.NAMING) == list_models()
    for model, family in names.NAMING.items():
        assert family.knob in model_settings(model)
        assert names.run_family(model, {family.knob: 2}) == family.name  # the knob never splits a family's line
