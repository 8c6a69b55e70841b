import numpy as np
import pandas as pd
import pytest

from common import seeds


def _metrics(model, kwargs, seed, acc, macs, profile="full"):
    return {"model": model, "model_kwargs": kwargs, "seed": seed, "test_acc": acc, "train_acc": acc + 5,
            "macs": macs, "profile": profile, "run": f"{model}-{seed}"}


def test_interval_is_students_t():
    result = seeds.interval([1.0, 2.0, 3.0])
    half = 4.302653 / np.sqrt(3)  # t(0.975, 2 dof) * std / sqrt(n), std = 1
    assert result["n"] == 3 and result["mean"] == pytest.approx(2.0) and result["std"] == pytest.approx(1.0)
    assert result["ci_low"] == pytest.approx(2.0 - half, abs=1e-5)
    assert result["ci_high"] == pytest.approx(2.0 + half, abs=1e-5)
    one = seeds.interval([5.0, np.nan])
    assert one["n"] == 1 and one["mean"] == 5.0 and np.isnan(one["std"]) and np.isnan(one["ci_low"])


def test_differences_are_paired_by_seed():
    ref = [80.0, 90.0, 85.0]
    runs = [_metrics("resnet20", {}, s, a, 40e6) for s, a in enumerate(ref)]
    # one point better on every seed: paired, the spread of the difference is 0; seed 1 is missing
    runs += [_metrics("dy_resnet20", {"num_kernels": 4}, s, ref[s] + 1, 41e6) for s in (0, 2)]
    table = seeds.seed_table(runs)
    diffs = seeds.paired_differences(table, reference="ResNet-20")
    row = diffs.loc["DY K=4"]
    assert row["n"] == 2 and row["seeds"] == "0, 2"
    assert row["mean"] == pytest.approx(1.0) and row["std"] == pytest.approx(0.0)
    assert row["ci_low"] == pytest.approx(1.0) and row["ci_high"] == pytest.approx(1.0)
    summary = seeds.summarize(table)
    assert summary.loc["ResNet-20", "n"] == 3 and summary.loc["ResNet-20", "std"] == pytest.approx(5.0)
    assert summary.loc["DY K=4", "seeds"] == "0, 2"


def test_frontier_margins_use_each_seeds_static_runs():
    runs = []
    for seed, shift in [(0, 0.0), (1, 2.0)]:
        runs += [_metrics("resnet20", {"width": 0.5}, seed, 80.0 + shift, 10e6),
                 _metrics("resnet20", {}, seed, 90.0 + shift, 40e6)]
        # at 20M MACs (halfway in log MACs) the frontier is 85 + shift; the gated run is 1 below
        runs.append(_metrics("gated_resnet20", {"l0_weight": 1.0}, seed, 84.0 + shift, 20e6))
    runs.append(_metrics("gated_resnet20", {"l0_weight": 2.0}, 0, 70.0, 5e6))  # below every static run
    table = seeds.seed_table(runs)
    margins = seeds.frontier_margins(table, ["ResNet-20", "ResNet-20 ×0.5 width"],
                                     ["gated L0=1.0", "gated L0=2.0"])
    row = margins.loc["gated L0=1.0"]
    assert row["per_seed"] == pytest.approx({0: -1.0, 1: -1.0})
    assert row["n"] == 2 and row["mean"] == pytest.approx(-1.0) and row["frontier_acc"] == pytest.approx(86.0)
    assert margins.loc["gated L0=2.0", "n"] == 0 and np.isnan(margins.loc["gated L0=2.0", "mean"])


def test_plus_minus_says_when_there_is_one_seed():
    assert seeds.plus_minus(86.857, 0.214) == "86.86 ± 0.21"
    assert seeds.plus_minus(86.857, float("nan")) == "86.86 (1 seed)"


def test_load_runs_keeps_the_profile(tmp_path):
    import json
    for name, profile in [("a", "full"), ("b", "smoke")]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text("{}")
        (tmp_path / name / "metrics.json").write_text(json.dumps(_metrics("resnet20", {}, 0, 1.0, 1.0, profile)))
    assert [m["profile"] for m in seeds.load_runs(tmp_path, "full")] == ["full"]
    assert isinstance(seeds.seed_table([]), pd.DataFrame)


def test_overview_puts_each_model_against_resnet20_and_the_frontier():
    runs = []
    for seed in (0, 1):
        runs += [_metrics("resnet20", {"width": 0.5}, seed, 80.0, 10e6), _metrics("resnet20", {}, seed, 90.0 - seed, 40e6),
                 _metrics("gated_resnet20", {"l0_weight": 1.0}, seed, 84.0, 15e6)]
    runs.append(_metrics("dy_resnet20", {"num_kernels": 4}, 0, 91.0, 41e6))
    over = seeds.overview(seeds.seed_table(runs))
    assert over.loc["gated L0=1.0", "delta_mean"] == pytest.approx(-5.5)  # 84 - (90, 89)
    assert over.loc["gated L0=1.0", "margin_n"] == 2
    assert np.isnan(over.loc["ResNet-20 ×0.5 width", "margin_mean"])  # static models are the frontier
    assert over.loc["DY K=4", "margin_n"] == 0  # above every static model's MACs: no extrapolation
    assert over.loc["gated L0=1.0", "nearest_static"] == "ResNet-20 ×0.5 width"  # 15M: nearer 10M than 40M
    assert over.loc["gated L0=1.0", "nearest_mean"] == pytest.approx(4.0)  # 84 - 80, paired
    assert over.loc["DY K=4", "nearest_static"] == "ResNet-20"
    text = seeds.overview_markdown(over, 40e6)
    assert "| DY K=4 | 0 | 41.00M | 102.5% | 91.00 (1 seed) | +1.00 (seed 0 only) | +1.00 (seed 0 only) (ResNet-20) | – |" in text
    assert "84.00 ± 0.00" in text


def test_overview_of_a_single_static_run():
    # The first finished run of a profile is ResNet-20 alone: nothing to compare, but a table.
    over = seeds.overview(seeds.seed_table([_metrics("resnet20", {}, 0, 88.0, 40e6, "paper")]))
    assert list(over.index) == ["ResNet-20"] and over.loc["ResNet-20", "test_acc"] == 88.0
    assert over.loc["ResNet-20", "margin_n"] != over.loc["ResNet-20", "margin_n"]  # NaN: no frontier


@pytest.mark.parametrize("n, low, high, expected", [
    (3, 0.2, 1.0, "ahead"), (3, -1.0, -0.1, "behind"), (3, -0.5, 0.5, "not distinguishable"),
    (1, np.nan, np.nan, "one seed"), (0, np.nan, np.nan, "no comparison")])
def test_verdict_follows_the_interval(n, low, high, expected):
    row = {"margin_n": n, "margin_ci_low": low, "margin_ci_high": high}
    assert seeds.verdict(row, "margin").startswith(expected)


def test_kernel_sweep_keeps_every_seed_of_plain_dy_runs_and_pairs_them():
    runs = [_metrics("resnet20", {}, s, 87.0 + s, 40e6) for s in (0, 1, 2)]
    runs += [_metrics("resnet20", {"width": 0.5}, 0, 83.0, 10e6)]  # thin: not the reference
    runs += [_metrics("dy_resnet20", {"num_kernels": 4}, s, 88.0 + s, 41e6) for s in (0, 1, 2)]
    runs += [_metrics("dy_resnet20", {"num_kernels": 2}, 1, 86.0, 41e6),
             _metrics("dy_resnet20", {"num_kernels": 2, "temperature": 5}, 0, 50.0, 41e6),  # another recipe
             _metrics("dy_resnet20", {"num_kernels": 5}, 0, 90.0, 42e6)]
    dy, reference = seeds.kernel_sweep(runs, kernels=[2, 4])
    assert list(dy["K"]) == [2, 4, 4, 4] and list(dy["seed"]) == [1, 0, 1, 2]
    assert list(reference["seed"]) == [0, 1, 2] and set(reference["label"]) == {"ResNet-20"}
    summary = seeds.kernel_summary(dy, reference)
    assert list(summary.index) == ["ResNet-20", "DY K=2", "DY K=4"]
    assert summary.loc["DY K=4", "test acc (%)"] == "89.00 ± 1.00"
    assert summary.loc["DY K=4", "train acc (%)"] == "94.00 ± 1.00"
    delta = "paired Δ test vs ResNet-20 [95% CI]"
    assert summary.loc["DY K=4", delta] == "+1.00 [+1.00, +1.00]"  # +1 on every seed: std 0 paired
    assert summary.loc["DY K=4", "what the interval supports"].startswith("ahead")
    assert summary.loc["DY K=2", delta] == "-2.00 (seed 1 only)"  # paired with ResNet-20's seed 1 only
    assert summary.loc["DY K=2", "what the interval supports"] == "one seed: no interval"


def test_accuracy_vs_k_plot_shows_every_seed_and_the_seed_counts():
    from common.plots import plot_accuracy_vs

    runs = [_metrics("resnet20", {}, s, 87.0 + s, 40e6) for s in (0, 1, 2)]
    runs += [_metrics("dy_resnet20", {"num_kernels": 4}, s, 88.0 + s, 41e6) for s in (0, 1, 2)]
    runs += [_metrics("dy_resnet20", {"num_kernels": 2}, 0, 86.0, 41e6)]
    dy, reference = seeds.kernel_sweep(runs)
    fig = plot_accuracy_vs(dy, "K", reference, "K", "t")
    train, test = fig.axes
    assert [t.get_text() for t in test.get_xticklabels()] == ["2\n(1 seed)", "4\n(3 seeds)"]
    dots = test.collections[0].get_offsets()  # one dot per run
    assert sorted(map(tuple, np.asarray(dots))) == sorted(zip(dy["K"], dy["test_acc"]))
    assert sorted(t.get_text() for t in test.texts) == ["86.00", "89.00"]  # the means
    assert any("88.00 ± 1.00, 3 seeds" in t.get_text() for t in test.get_legend().get_texts())
    lo, hi = test.get_ylim()
    assert lo < 86.0 and hi > 90.0 and train.get_ylim()[1] > 95.0  # each panel spans its own data


def test_no_frontier_comparison_says_why():
    row = {"margin_n": 0, "margin_ci_low": np.nan, "margin_ci_high": np.nan}
    assert seeds.verdict(row, "margin") == "no comparison (outside the MACs of the static widths trained on the same seed)"
    assert seeds.verdict({"delta_n": 0, "delta_ci_low": np.nan, "delta_ci_high": np.nan}, "delta") == "no comparison"


def test_an_interval_bound_just_below_zero_keeps_a_digit_that_shows_it():
    assert seeds.sign_digits(-0.00041, 3) == "-0.0004"
    assert seeds.sign_digits(0.0, 3) == "+0.000"
    assert seeds.sign_digits(1.234, 2) == "+1.23"
    found = {"n": 2, "mean": -0.0043, "ci_low": -0.0071, "ci_high": -0.00041}
    assert seeds.difference_text(found, 3, "×") == "-0.004× [-0.007, -0.0004]"
    assert seeds.difference_text(found | {"n": 1}, 3, "×") == "-0.004×"


def test_a_difference_in_a_sentence_gives_its_unit_before_its_notes():
    one = {"d_n": 1, "d_mean": 0.08, "d_seeds": "0"}
    assert seeds.signed_points(one, "d") == "+0.08 points (seed 0 only)"
    assert seeds.signed_points(one, "d", "no verdict") == "+0.08 points (seed 0 only; no verdict)"
    three = {"d_n": 3, "d_mean": 0.43, "d_ci_low": -0.84, "d_ci_high": 1.69, "d_seeds": "0, 1, 2"}
    assert seeds.signed_points(three, "d") == "+0.43 [-0.84, +1.69] points"


def test_a_difference_in_a_sentence_without_seeds_or_without_their_names():
    assert seeds.signed_points({"d_n": 0, "d_mean": float("nan")}, "d") == "–"
    assert seeds.signed_points({"d_n": 1, "d_mean": -0.5}, "d") == "-0.50 points (1 seed)"
    assert seeds.signed({"d_n": 1, "d_mean": -0.5, "d_seeds": "2"}, "d", "note") == "-0.50 (seed 2 only; note)"


def test_paired_rank_says_an_extreme_only_among_three_seeds():
    table = pd.DataFrame({"label": ["ResNet-20"] * 3 + ["DY K=4"], "seed": [0, 1, 2, 0],
                          "test_acc": [88.1, 88.8, 88.5, 88.2]})
    assert seeds.paired_rank(table, "DY K=4") == "the lowest of its 3 seeds"
    assert seeds.paired_rank(table.assign(seed=[1, 0, 2, 0]), "DY K=4") == "the highest of its 3 seeds"
    assert seeds.paired_rank(table.assign(seed=[1, 2, 0, 0]), "DY K=4") == ""  # seed 0 between the others
    assert seeds.paired_rank(table.iloc[1:], "DY K=4") == ""  # seed 0 of ResNet-20 gone: nothing to pair
    assert seeds.paired_rank(table.drop(index=2), "DY K=4") == ""  # two seeds: no rank
    assert seeds.extreme(1.0, pd.Series([1.0, 2.0])) == "the lowest" and seeds.extreme(1.5, pd.Series([1.0, 2.0])) == ""
