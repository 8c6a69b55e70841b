"""Notebook 04's attack results as tables (``common.attack_results``): stored per run folder and
labelled on reading, paired by image and by seed, energy and MAC-cap summaries."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from common import attack_results


def test_strongest_pgd_takes_the_lowest_pgd_variant_at_one_eps():
    sweep = pd.DataFrame([
        {"model": "a", "attack": "FGSM", "eps_255": 1, "robust_acc": 10.0},
        {"model": "a", "attack": "PGD-10", "eps_255": 1, "robust_acc": 40.0},
        {"model": "a", "attack": "PGD-20", "eps_255": 1, "robust_acc": 35.0},
        {"model": "a", "attack": "PGD-20", "eps_255": 8, "robust_acc": 0.0},
        {"model": "b", "attack": "PGD-20", "eps_255": 1, "robust_acc": 50.0},
        {"model": "b", "attack": "PGD-20 (straight-through)", "eps_255": 1, "robust_acc": 45.0},
        {"model": "b", "attack": "PGD-20", "eps_255": 0, "robust_acc": 90.0}])
    assert attack_results.smallest_attack_eps(sweep) == 1
    assert attack_results.strongest_pgd(sweep, 1).to_dict() == {"a": 35.0, "b": 45.0}  # FGSM is not PGD


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
    table = attack_results.transfer_relations(matrix, info).set_index(["source", "target"])
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


def _tiny_gated():
    """A 3-block gated ResNet with gates on both sides of the threshold, and 8 images."""
    import torch
    import torch.nn as nn

    from common.models.gating import GatedResNet, channel_gates

    torch.manual_seed(0)
    model = GatedResNet(depth=8)
    for gate in channel_gates(model):
        nn.init.zeros_(gate.fc2.bias)
    images = torch.rand(8, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    return model.eval(), images, torch.arange(8) % 10


def test_attack_caches_are_keyed_and_stored_by_run_folder_and_relabelled_on_reading(tmp_path):
    """No display label in any stored key or table; a later relabelling reads the same files
    (the models are not even needed then) and puts the new labels on."""
    import torch.nn as nn

    from common.attacks import Attack

    model, x, y = _tiny_gated()
    plain = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10)).eval()
    runs = {"Gated label": tmp_path / "gated_resnet20-smoke-seed0-aaaa",
            "Plain label": tmp_path / "resnet20-smoke-seed0-bbbb"}
    models = {"Gated label": model, "Plain label": plain}
    cache, data_key = tmp_path / "attacks", {"data": "sha256:x", "test_subset": len(y)}

    def everything(runs, models):
        gated_dir, plain_dir = runs["Gated label"], runs["Plain label"]
        sweep = attack_results.robustness_table(gated_dir, models.get("Gated label"), x, y, data_key,
                                       [0, 8], [1], True, cache, progress=False)
        transfer = attack_results.transfer_table(runs, models, x, y, data_key, 8, cache, progress=False)
        energy = attack_results.energy_table(gated_dir, models.get("Gated label"), x, y, data_key, cache,
                                    [8], steps=1, targets={plain_dir: models.get("Plain label")},
                                    progress=False)
        budget = attack_results.budget_table(gated_dir, models.get("Gated label"), x, y, data_key, cache,
                                    [None, 9e5], Attack("energy", eps=8 / 255, steps=1),
                                    progress=False)
        return sweep, transfer, energy, budget

    sweep, transfer, energy, budget = everything(runs, models)
    stored = sorted(cache.iterdir())
    assert len(stored) == 8  # four tables, each a CSV and its key
    for path in stored:
        text = path.read_text()
        assert "Gated label" not in text and "Plain label" not in text, path.name
    assert set(sweep["model"]) == {runs["Gated label"].name}
    assert set(sweep["images"]) == {len(y)}  # what the attacks finding states its error over
    labelled = attack_results.label_runs(energy, runs)
    assert set(labelled["model"]) == {"Gated label"}
    assert set(labelled["target"].dropna()) == {"Plain label"}
    assert list(transfer.index) == list(transfer.columns) == ["Gated label", "Plain label"]
    assert attack_results.label_runs(budget, runs)["model"].eq("Gated label").all()

    again = everything(runs, {})  # no models: reading the stored tables must not need them
    assert sorted(cache.iterdir()) == stored
    for before, after in zip((sweep, transfer, energy, budget), again):
        pd.testing.assert_frame_equal(before, after, check_dtype=False)
    relabelled = {f"new {label}": d for label, d in reversed(runs.items())}
    matrix = attack_results.transfer_table(relabelled, {}, x, y, data_key, 8, cache)
    assert sorted(cache.iterdir()) == stored
    assert list(matrix.index) == list(matrix.columns) == ["new Plain label", "new Gated label"]
    assert matrix.loc["new Gated label", "new Plain label"] == transfer.loc["Gated label", "Plain label"]
    # the adaptive energy attack is another table; the plain one's key is unchanged by the option
    attack_results.energy_table(runs["Gated label"], model, x, y, data_key, cache, [8], steps=1,
                       targets={runs["Plain label"]: plain}, straight_through=True, progress=False)
    assert len(list(cache.iterdir())) == len(stored) + 2


def _energy_rows():
    """Labelled energy-sweep rows of two seeds of one gated model, each measured on the other."""
    def row(model, attack, eps, macs, target=None, acc=80.0, on=0.5):
        return {"model": model, "target": target, "attack": attack, "eps_255": eps,
                "macs_mean": macs, "macs_median": macs, "macs_max": 2 * macs,
                "above_static": 10.0, "acc": acc, "kept": 100.0, "on stages.0.0": on,
                "on stages.2.1": on / 2}
    rows = []
    for model, other, clean in (("g", "g (seed 1)", 10e6), ("g (seed 1)", "g", 12e6)):
        rows += [row(model, "clean", 0, clean), row(model, "noise", 8, clean),
                 row(model, "energy", 8, clean + 6e6, acc=20.0, on=0.9),
                 row(model, "energy stealthy", 8, clean + 3e6),
                 row(model, "clean", 0, 22e6 - clean, target=other),
                 row(model, "energy", 8, 22e6 - clean + 1e6, target=other)]
    return pd.DataFrame(rows)


def test_energy_summaries_from_the_sweep_rows():
    rows = _energy_rows()
    overview = attack_results.energy_overview(rows).set_index("model")
    assert overview.loc["g", "mean MACs energy (M)"] == 16 and overview.loc["g", "max MACs clean (M)"] == 20
    assert overview.loc["g", "acc stealthy (%)"] == 80 and overview.loc["g", "acc energy (%)"] == 20
    saving = attack_results.saving_recovered(rows, reference_macs=40e6, eps_255=8)
    assert saving.to_dict() == pytest.approx({"g": 6 / 30, "g (seed 1)": 6 / 28})
    transfer = attack_results.energy_transfer(rows).set_index("source")
    assert transfer.loc["g", "target"] == "g (seed 1)"
    assert transfer.loc["g", "target clean MACs (M)"] == 12 and transfer.loc["g", "transferred MACs (M)"] == 13
    assert transfer.loc["g", "white-box MACs (M)"] == 18
    assert transfer.loc["g", "share of white-box gain"] == pytest.approx(1 / 6)
    shift = attack_results.gate_shift(rows, "g", 8)
    assert list(shift.index) == ["s1.b1", "s3.b2"] and shift.loc["s1.b1", "energy"] == 0.9
    assert list(shift.columns) == ["clean", "noise", "energy", "energy stealthy"]


def test_budget_summary_pairs_caps_with_the_uncapped_model_and_the_static_frontier():
    from common import seeds

    runs = [{"model": "resnet20", "model_kwargs": {"width": w}, "seed": s, "macs": macs,
             "test_acc": acc + s, "train_acc": 90.0, "run": f"w{w}-{s}"}
            for w, macs, acc in ((0.5, 10e6, 80.0), (1.0, 40e6, 90.0)) for s in (0, 1)]
    runs.append({"model": "gated_resnet20", "model_kwargs": {"l0_weight": 1.0}, "seed": 0,
                 "macs": 40e6, "avg_executed_macs": 10e6, "test_acc": 85.0, "train_acc": 90.0,
                 "run": "gated"})
    frontier = seeds.static_frontier(runs)
    assert frontier[["width", "macs", "acc"]].to_numpy().tolist() == [[0.5, 10e6, 80.5],
                                                                     [1.0, 40e6, 90.5]]
    clean = pd.DataFrame([{"model": m, "cap": cap, "macs_mean": macs, "macs_max": mx, "acc": acc,
                           "capped": capped}
                          for m, base in (("a", 10e6), ("b", 20e6))
                          for cap, macs, mx, acc, capped in ((None, base, 3 * base, 84.0, 0.0),
                                                             (2 * base, base * 0.9, 2 * base, 83.0, 5.0))])
    attacked = pd.DataFrame([{"model": m, "cap": 2 * base, "attacked_macs_mean": 1.8 * base,
                              "attacked_macs_max": 2 * base, "attacked_acc": 30.0}
                             for m, base in (("a", 10e6), ("b", 20e6))])
    static = seeds.static_runs(runs)
    assert len(static) == 4 and set(static["width"]) == {0.5, 1.0}
    summary = attack_results.budget_summary(clean, attacked, {"a": 10e6, "b": 20e6}, static, {"a": 0, "b": 1})
    assert summary["multiple"].tolist() == [2.0] and summary["n"].tolist() == [2]
    row = summary.iloc[0]
    assert row["delta_acc_mean"] == -1 and row["attacked_macs_max_mean"] == row["cap_mean"] == 30e6
    # each model against the static runs of its own seed: a (seed 0) at 20M, halfway in log MACs from
    # 10M (80) to 40M (90); b (seed 1) at 40M, the seed-1 ResNet-20 (91)
    a_gap, b_gap = 83 - 85.0, 83 - 91.0
    assert row["frontier_acc_mean"] == pytest.approx((85.0 + 91.0) / 2)
    assert row["acc_vs_frontier_mean"] == pytest.approx((a_gap + b_gap) / 2)
    half = 12.706 * abs(a_gap - b_gap) / 2 ** 0.5 / 2 ** 0.5  # t(0.975, 1) · std / sqrt(2)
    assert row["acc_vs_frontier_n"] == 2
    assert row["acc_vs_frontier_ci_low"] == pytest.approx(-5 - half, abs=1e-2)
    assert row["acc_vs_frontier_ci_high"] == pytest.approx(-5 + half, abs=1e-2)
    one_seed = attack_results.budget_summary(clean[clean["model"] == "a"], attacked, {"a": 10e6}, static, {"a": 0})
    assert one_seed["acc_vs_frontier_n"].tolist() == [1] and one_seed["acc_vs_frontier_ci_low"].isna().all()
    alone = static[static["width"] == 1.0]  # one static width per seed: no frontier to read
    assert attack_results.budget_summary(clean, attacked, {"a": 10e6, "b": 20e6}, alone, {"a": 0, "b": 1})[
        "frontier_acc_mean"].isna().all()


def test_adaptive_energy_sets_both_attacks_beside_the_clean_macs():
    plain = _energy_rows()
    adaptive = plain[plain["target"].isna() & (plain["model"] == "g")
                     & plain["attack"].isin(["clean", "noise", "energy"])].copy()
    adaptive.loc[adaptive["attack"] == "energy", "macs_mean"] = 19e6  # stronger than the plain 16M
    table = attack_results.adaptive_energy(plain, adaptive).set_index("model")
    assert list(table.index) == ["g"]  # only what the adaptive attack ran
    assert table.loc["g", "energy (M)"] == 16 and table.loc["g", "adaptive energy (M)"] == 19
    assert table.loc["g", "energy / clean"] == pytest.approx(1.6)
    assert table.loc["g", "adaptive / clean"] == pytest.approx(1.9)


def test_energy_strength_has_a_row_per_setting_and_more_effort_never_lowers_the_macs(tmp_path):
    model, x, y = _tiny_gated()
    run, key = tmp_path / "gated_resnet20-smoke-seed0-aaaa", {"data": "sha256:x", "test_subset": len(y)}
    settings = [{"steps": 1}, {"steps": 4}, {"steps": 4, "restarts": 2}, {"steps": 4, "straight_through": True}]
    table = attack_results.energy_strength(run, model, x, y, key, tmp_path / "attacks", 8, settings, progress=False)
    assert list(table["steps"]) == [1, 4, 4, 4] and list(table["restarts"]) == [1, 1, 2, 1]
    assert list(table["straight-through"]) == [False, False, False, True]
    assert table["clean (M)"].nunique() == 1
    assert (table["attacked (M)"] >= table["clean (M)"]).all()  # the best iterate includes the clean image
    assert table.loc[2, "attacked (M)"] >= table.loc[1, "attacked (M)"]  # restarts add, never replace
    assert len(list((tmp_path / "attacks").iterdir())) == 2 * len(settings)


def test_paired_by_image_counts_the_images_only_one_model_survives():
    from common.attack_results import paired_by_image

    ref = np.arange(100) < 50
    robust = pd.DataFrame({"R": ref, "A": ref | (np.arange(100) >= 90), "B": ref})  # A: 10 more images
    table = paired_by_image(robust, "R").set_index("model")
    assert table.loc["A", "robust acc (%)"] == 60 and table.loc["A", "Δ vs R (points)"] == pytest.approx(10)
    assert table.loc["A", "only this model survives"] == 10 and table.loc["A", "only R survives"] == 0
    half = 1.96 * np.sqrt(10 - 100 * 0.1 ** 2) / 100 * 100  # 5.88 points
    assert table.loc["A", "95% CI low"] == pytest.approx(10 - half)
    assert table.loc["B", "95% CI low"] == table.loc["B", "95% CI high"] == 0  # the same images: no doubt
    assert np.isnan(table.loc["R", "Δ vs R (points)"])


def test_each_seed_is_paired_with_the_reference_of_its_seed_and_averaged_over_seeds():
    from common.attack_results import paired_by_image, robust_over_seeds

    first = np.arange(100) < 50
    robust = pd.DataFrame({"R": first, "A": first | (np.arange(100) >= 90),  # seed 0: +10 points
                           "R (seed 1)": np.arange(100) < 40, "A (seed 1)": np.arange(100) < 44,  # +4
                           "R (seed 2)": np.arange(100) < 60, "A (seed 2)": np.arange(100) < 67,  # +7
                           "B (seed 3)": first})  # no R at seed 3: paired with R, and left out over seeds
    table = paired_by_image(robust, "R").set_index("model")
    assert table.loc["A (seed 1)", "paired with"] == "R (seed 1)"
    assert table.loc["A (seed 1)", "Δ vs R (points)"] == pytest.approx(4)
    assert table.loc["B (seed 3)", "paired with"] == "R" and table.loc["R (seed 2)", "paired with"] == ""
    assert np.isnan(table.loc["R (seed 1)", "Δ vs R (points)"])  # the reference at another seed: nothing to pair
    over = robust_over_seeds(table.reset_index(), "R").set_index("model")
    assert list(over.index) == ["A"] and over.loc["A", "seeds"] == 3
    assert over.loc["A", "Δ mean (points)"] == pytest.approx(7)
    half = stats.t.ppf(0.975, 2) * 3 / np.sqrt(3)  # std of (10, 4, 7) is 3
    assert over.loc["A", "95% CI high"] == pytest.approx(7 + half)


def test_the_transfer_takeaway_says_whether_shared_epochs_explain_the_transfer():
    def relations(shared_acc):
        rows = [("same family, shared epochs", "gated", shared_acc), ("same family, shared epochs", "gated", shared_acc),
                ("same family, same seed", "gated", 12.0), ("same model, other seed", "gated", 13.0),
                ("same model, other seed", "static", 8.0), ("other family", "mixed", 20.0)]
        return pd.DataFrame(rows, columns=["relation", "family", "target_acc"])

    assert attack_results.transfer_takeaway(relations(3.0)).startswith(
        "Between runs that share their first epochs the target accuracy is 3.0%, against 8.0–13.0% for the other "
        "within-family groups (mean per relation and family): the attack transfers better between them")
    assert "does not explain" in attack_results.transfer_takeaway(relations(10.0))
    assert attack_results.transfer_takeaway(relations(3.0).iloc[2:]).startswith("No two runs here share training epochs")
