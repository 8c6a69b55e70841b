"""The findings that compare training lengths, on synthetic results folders: the `paper` profile's
runs beside the `full` ones, finished or still training."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from common import findings, lengths, literature, verdicts
from common.analysis import VEHICLE_ANIMAL
from common.manifest import DY_LABEL, HEADLINE, HEADLINE_CONTROL, HEADLINE_LABEL, parse_run
from common.names import run_label
from common.paths import REPO_ROOT

RUNS = {"resnet20": parse_run("resnet20"), "dy4": parse_run("dy4"), "headline": HEADLINE,
        "width0.5": parse_run(HEADLINE_CONTROL), "width0.45": parse_run("width0.45")}
MACS = {"resnet20": 40.55e6, "dy4": 41.8e6, "headline": 10.2e6, "width0.5": 10.4e6, "width0.45": 7.9e6}


def write_run(results, run, profile, seed, acc, epochs=None, finished=True, macs=None, train_acc=None):
    """A run folder as training leaves it: config and history, and metrics once finished."""
    model, kwargs = RUNS[run]
    folder = results / f"{run}-{profile}-seed{seed}-0000"
    folder.mkdir(parents=True)
    config = {"model": model, "model_kwargs": kwargs, "seed": seed, "profile": profile, "holdout": 0}
    (folder / "config.json").write_text(json.dumps(config))
    epochs = epochs or {"full": 30, "paper": 200}[profile]
    pd.DataFrame({"epoch": range(1, epochs + 1),
                  "test_acc": [acc * (i + 1) / epochs for i in range(epochs)]}).to_csv(
        folder / "history.csv", index=False)
    if finished:
        (folder / "metrics.json").write_text(json.dumps({
            **config, "test_acc": acc, "train_acc": acc + 5 if train_acc is None else train_acc, "macs": macs or MACS[run],
            "data_source": {"name": "a CIFAR-10 copy", "fingerprint": "sha256:0000"}, "run": folder.name}))


@pytest.fixture()
def full_study(tmp_path):
    """Three seeds at `full`: DY +0.5 (not distinguishable), headline 3 points behind ResNet-20
    and level with its static control."""
    for seed, noise in enumerate((0.0, 0.6, -0.6)):
        write_run(tmp_path, "resnet20", "full", seed, 87.0 + noise)
        write_run(tmp_path, "dy4", "full", seed, 87.5 + noise * (1 if seed != 1 else -1))
        write_run(tmp_path, "headline", "full", seed, 84.0 + noise)
        write_run(tmp_path, "width0.5", "full", seed, 84.0 + noise * 0.5)
    return tmp_path


def test_without_paper_runs_every_conclusion_is_pending(full_study):
    table = lengths.conclusions(full_study)
    assert list(table[lengths.SAME].iloc[:5]) == ["pending (0 of 3 seeds compared at 200 epochs)"] * 5
    assert table.loc["DY K = 2…5 against ResNet-20 (the sweep over K)", lengths.SAME] == \
        "30 epochs only (the sweep over K is not trained at 200 epochs)"
    assert table.loc["ResNet-20 (JPEG copy) against He et al.'s 91.25% (original images)", "30 epochs: verdict"] == "behind"
    assert table.loc["DY K=4 against ResNet-20", "30 epochs: verdict"] == "not distinguishable"
    assert table.loc["DY K=4 against ResNet-20 on the training images", "30 epochs: verdict"] == "not distinguishable"
    assert table.loc["headline gated model against ResNet-20", "30 epochs: verdict"] == "behind"
    assert table.loc["DY K=4 against ResNet-20", "200 epochs: verdict"] == "–"
    found = lengths.training_length(full_study)
    assert "No run of the 200-epoch `paper` profile has finished" in found.text
    assert "87.00 ± 0.60% (3 seeds)" in found.text


def test_a_run_still_training_is_reported_only_where_asked(full_study):
    write_run(full_study, "resnet20", "paper", 0, 60.0, epochs=12, finished=False)
    text = lengths.training_length(full_study).text
    assert ("Of the 15 runs planned at 200 epochs (5 models × 3 seeds): 0 finished; 1 training (ResNet-20 seed 0 "
            "at epoch 12 of 200); 14 queued.") in text
    assert "runs planned" not in lengths.training_length(full_study, in_progress=False).text


def test_one_paper_seed_is_marked_and_decides_nothing(full_study):
    for run, acc in [("resnet20", 91.5), ("dy4", 92.0), ("headline", 88.0), ("width0.5", 87.0)]:
        write_run(full_study, run, "paper", 0, acc)
    table = lengths.conclusions(full_study)
    assert table.loc["DY K=4 against ResNet-20", "200 epochs: Δ (points) [95% CI]"] == "+0.50 (seed 0 only)"
    assert table.loc["DY K=4 against ResNet-20", "200 epochs: verdict"] == "one seed: no verdict"
    assert set(table[lengths.SAME].iloc[:5]) == {"pending (1 of 3 seeds compared at 200 epochs)"}
    side = lengths.profiles_side_by_side(full_study)
    assert side.loc["ResNet-20", "200 epochs: test acc (%)"] == "91.50% (1 seed)"
    assert side.loc["headline gated model", "200 epochs: MACs (M)"] == "10.20"
    text = lengths.training_length(full_study).text
    assert "ResNet-20 91.50% (1 seed) at 200 epochs against 87.00 ± 0.60% (3 seeds) at 30 epochs (87.00% on the same seed)" in text
    for seed in (1, 2):  # all seeds at both lengths: nothing to add
        write_run(full_study, "resnet20", "paper", seed, 91.5)
    resnet20 = lengths.training_length(full_study).text.split("Test accuracy: ")[1].split(";")[0]
    assert resnet20.endswith("(3 seeds) at 30 epochs") and "same seed" not in resnet20
    assert ("With at least one seed finished at 200 epochs: ResNet-20, DY K=4, headline gated model, ResNet-20 ×0.5 "
            "width; none finished yet: ResNet-20 ×0.45 width.") in text
    assert ("Waiting for runs at 200 epochs before a verdict: ResNet-20 (JPEG copy) against He et al.'s 91.25% "
            "(original images) (1 of 3 seeds compared at 200 epochs); DY K=4 against ResNet-20 (1 of 3") in text
    assert ("Ours at 200 epochs against the published ones, all trained on the original images: "
            "He et al. 2016 91.25% (+0.25 points)") in text  # 91.50 - 91.25: the gap is signed, whichever way it goes


def test_a_control_no_longer_at_equal_macs_is_said(full_study):
    write_run(full_study, "width0.5", "paper", 0, 87.0)
    write_run(full_study, "headline", "paper", 0, 88.0)
    assert "is not at equal cost" not in lengths.training_length(full_study).text  # 10.20M against 10.40M
    write_run(full_study, "headline", "paper", 1, 88.0, macs=6.0e6)
    assert ("At 200 epochs the headline gated model executes 8.10M MACs on average (2 seeds), 78% of its static "
            "control's 10.40M (at 30 epochs: 10.20M against 10.40M): trained longer, its gates switch more channels "
            "off, so the comparison with the control is not at equal cost (the control costs more: a gain over it "
            "still counts, a loss may be the control's extra MACs).") \
        in lengths.training_length(full_study).text


def test_the_headline_is_priced_by_the_200_epoch_frontier_once_it_brackets_its_macs(full_study):
    row = "headline gated model over the static frontier at its MACs (static widths on both sides of them)"
    for seed, noise in enumerate((0.0, 0.3, -0.3)):
        for run, acc in [("resnet20", 91.0), ("width0.5", 87.0), ("headline", 88.0)]:
            write_run(full_study, run, "paper", seed, acc + noise, macs=8.5e6 if run == "headline" else None)
    table = lengths.conclusions(full_study)
    assert table.loc[row, "200 epochs: verdict"] == "–"  # 8.5M: below the ×0.5 width, no frontier there
    assert table.loc[row, lengths.SAME] == ("pending (0 of 3 seeds compared at 200 epochs; 3 finished seeds lie "
                                             "outside the MACs of the static widths trained on the same seed)")
    for seed, noise in enumerate((0.0, 0.3, -0.3)):
        write_run(full_study, "width0.45", "paper", seed, 85.0 + noise)
    for seed, noise in enumerate((0.0, 0.6, -0.6)):  # the 30-epoch frontier brackets 10.2M too
        write_run(full_study, "width0.45", "full", seed, 83.0 + noise)
    table = lengths.conclusions(full_study)
    assert table.loc[row, "200 epochs: verdict"] == "ahead"  # about 1.7 points over the frontier, every seed
    assert table.loc[row, lengths.SAME] == "changes: not distinguishable → ahead"


def test_resnet20_alone_finished_at_paper(full_study):
    # The first run of the queue to finish: no model to compare yet, only the literature.
    write_run(full_study, "resnet20", "paper", 0, 88.0)
    write_controls(full_study, "02_attention_similarity_controls_full_k4.csv", "DY K=4 attention", -0.21, 0.77)
    text = lengths.training_length(full_study).text
    assert "ResNet-20 88.00% (1 seed) at 200 epochs" in text
    assert ("With at least one seed finished at 200 epochs: ResNet-20; none finished yet: DY K=4, headline gated "
            "model, ResNet-20 ×0.5 width, ResNet-20 ×0.45 width.") in text
    assert "chenyaofo/pytorch-cifar-models 92.60% (-4.60 points)" in text
    assert "how much of that gap the JPEG copy costs is not measured" in text
    # analysed at 30 epochs only: nothing is "kept" yet
    assert "the attacks) are not yet made at 200 epochs." in text
    assert "with a conclusion at both lengths" not in text


def test_verdicts_that_change_with_training_length_are_named(full_study):
    # At 200 epochs, DY is ahead of ResNet-20 on every seed and ResNet-20 reaches He et al.
    for seed, noise in enumerate((0.0, 0.3, -0.3)):
        write_run(full_study, "resnet20", "paper", seed, 91.6 + noise)
        write_run(full_study, "dy4", "paper", seed, 92.6 + noise)
        write_run(full_study, "headline", "paper", seed, 88.6 + noise)
        write_run(full_study, "width0.5", "paper", seed, 88.4 + noise * 0.5)
    table = lengths.conclusions(full_study)
    assert table.loc["DY K=4 against ResNet-20", lengths.SAME] == \
        "changes: not distinguishable → ahead"
    assert table.loc["DY K=4 against ResNet-20", "200 epochs: Δ (points) [95% CI]"] == "+1.00 [+1.00, +1.00]"
    assert table.loc["headline gated model against ResNet-20", lengths.SAME] == "same"
    assert table.loc["ResNet-20 (JPEG copy) against He et al.'s 91.25% (original images)", lengths.SAME] == \
        "changes: behind → not distinguishable"
    text = lengths.training_length(full_study).text
    assert "Changed: " in text and "DY K=4 against ResNet-20 (not distinguishable → ahead)" in text
    assert "Same verdict at both lengths — headline gated model against ResNet-20: behind" in text


def test_dy_gain_is_placed_among_published_reimplementations():
    low, high = literature.dy_gain_range()
    assert low < high
    row = pd.Series({"delta_mean": high + 1, "delta_n": 3, "delta_ci_low": low + 0.01, "delta_ci_high": high + 2})
    assert "is above that range." in findings.dynamic._among_reimplementations(row)
    row = pd.Series({"delta_mean": (low + high) / 2, "delta_n": 3, "delta_ci_low": -2.0, "delta_ci_high": 2.0})
    assert "is within that range, and its interval covers all of it." in findings.dynamic._among_reimplementations(row)


def test_training_curves_dash_the_runs_still_training(full_study):
    import matplotlib
    matplotlib.use("Agg")
    from common.plots import plot_profile_curves

    write_run(full_study, "resnet20", "paper", 0, 60.0, epochs=12, finished=False)
    histories = lengths.training_histories(full_study)
    assert set(histories["ResNet-20"]) == {"full seed 0", "full seed 1", "full seed 2", "paper seed 0"}
    fig = plot_profile_curves(histories, lengths.profile_epochs(), "curves",
                              references={"ResNet-20": (91.25, "He et al.")})
    lines = {line.get_linestyle() for line in fig.axes[0].get_lines()}
    assert lines == {"-", "--", ":"}  # finished full runs, a paper run still training, He et al.
    assert "no finished paper (200 epochs) run yet" in [t.get_text() for t in fig.axes[2].texts]  # DY K=4
    assert [t.get_text() for t in fig.axes[0].texts] == [
        "paper, still training,\nnot comparable yet:\nseed 0 at epoch 12 of 200"]
    paper = [line for line in fig.axes[0].get_lines() if line.get_linestyle() == "--"][0]
    assert paper.get_xdata().max() == pytest.approx(12 / 200)  # x is the fraction of training
    assert fig._suptitle.get_text() == "curves (dashed: still training)"


def test_a_page_a_clone_regenerates_leaves_out_the_runs_still_training(full_study):
    import matplotlib
    matplotlib.use("Agg")
    from common.plots import plot_profile_curves

    write_run(full_study, "resnet20", "paper", 0, 60.0, epochs=12, finished=False)
    histories = lengths.training_histories(full_study, in_progress=False)
    assert set(histories["ResNet-20"]) == {"full seed 0", "full seed 1", "full seed 2"}
    fig = plot_profile_curves(histories, lengths.profile_epochs(), "curves")
    assert {line.get_linestyle() for line in fig.axes[0].get_lines()} == {"-"}
    assert [t.get_text() for t in fig.axes[0].texts] == ["no finished paper (200 epochs) run yet"]
    assert fig._suptitle.get_text() == "curves"
    assert "epoch 12" not in lengths.training_length(full_study, in_progress=False).text


def test_the_question_is_answered_first_with_what_the_intervals_rule_out(full_study):
    _, over = verdicts.load_overview(full_study)
    answer = findings.question(over).text
    high = over.loc["DY K=4", "delta_ci_high"]
    lead, bound = answer.split("\n")  # the answer, then the largest gains its intervals allow
    assert "No gain shown" in lead and bound.startswith(
        f"- The 95% intervals rule out a gain larger than {high:+.2f} points for DY K=4 and a gain larger than")
    assert findings.findings(full_study)[0].topic == "The study's question"


def test_the_question_names_a_model_still_training_and_gives_no_verdict_on_one_seed(full_study):
    write_run(full_study, "resnet20", "paper", 0, 91.0)
    write_run(full_study, "width0.5", "paper", 0, 87.0)
    write_run(full_study, "headline", "paper", 0, 88.0, macs=8.0e6)  # cheaper than its control here
    _, over = verdicts.load_overview(full_study, "paper")
    answer = findings.question(over, "paper").text
    assert answer.startswith("Does input dependence beat a static network of the same cost? No verdict yet: "
                             "+1.00 points (seed 0 only) for the headline gated model against "
                             "ResNet-20 ×0.5 width, the static network nearest in MACs of those trained "
                             "(10.40M, 30% more than the gated model's 8.00M, which is 20% of ResNet-20's)")
    assert answer.endswith("DY K=4 has no finished run at 200 epochs yet.") and "at most" not in answer


def test_both_answers_lead_and_a_settled_family_is_answered_while_the_other_waits(full_study):
    assert "At 200 epochs" not in findings.findings(full_study)[0].text  # no 200-epoch run yet
    for seed, noise in enumerate((0.0, 0.6, -0.6)):
        write_run(full_study, "resnet20", "paper", seed, 91.0 + noise)
        write_run(full_study, "width0.5", "paper", seed, 87.0 + noise)
        write_run(full_study, "headline", "paper", seed, 87.0 + noise * 0.8)
    write_run(full_study, "dy4", "paper", 0, 91.5)
    lead, bound, longer, longer_bound = findings.findings(full_study)[0].text.split("\n")
    assert lead.startswith("Does input dependence beat a static network of the same cost? No gain shown: ")
    assert bound.startswith("- The 95% intervals rule out") and bound.endswith("at 30 epochs.")
    assert longer.startswith("- **At 200 epochs.** No gain shown for the headline gated model, no verdict yet for "
                             "DY K=4: +0.50 points (seed 0 only) for DY K=4")
    assert longer.endswith("; a verdict on DY K=4 waits for 3 seeds.")
    assert longer_bound == ("- The 95% interval rules out a gain larger than +0.30 points for the headline gated model "
                            "at 200 epochs.")


def test_a_bound_against_a_costlier_control_says_it_is_not_at_equal_cost(full_study):
    for seed, noise in enumerate((0.0, 0.6, -0.6)):
        write_run(full_study, "resnet20", "paper", seed, 91.0 + noise)
        write_run(full_study, "width0.5", "paper", seed, 87.0 + noise)
        write_run(full_study, "headline", "paper", seed, 87.0 + noise * 0.8, macs=8.0e6)
    _, over = verdicts.load_overview(full_study, "paper")
    answer = findings.question(over, "paper").text
    assert "(10.40M, 30% more than the gated model's 8.00M, which is 20% of ResNet-20's)" in answer
    assert answer.endswith("; DY K=4 has no finished run at 200 epochs yet.\n- The 95% interval rules out a gain larger "
                           "than +0.30 points for the headline gated model at 200 epochs, against a static network "
                           "that costs more than it.")
    _, over = verdicts.load_overview(full_study, "full")  # equal MACs: a plain bound
    assert "costs more" not in findings.question(over, "full").text


@pytest.mark.parametrize("untrained_partial, says", [(0.10, "against +0.95 trained, so on seed 0 the gates learn to follow the split."),
                                                     (0.90, "so it is not shown to be learnt")])
def test_channel_classes_are_read_against_an_untrained_gated_model(tmp_path, untrained_partial, says):
    usage, static = "gated X channel usage", "ResNet-20 pooled features"
    partial = f"… given {static}"
    rows = [{"features": usage, "cat/dog": 0.97, "automobile/truck": 0.98, f"agreement with {usage}": 1.0,
             "agreement with vehicles/animals": 0.98, partial: 0.95},
            {"features": static, "cat/dog": 0.90, "automobile/truck": 0.77, f"agreement with {usage}": 0.88,
             "agreement with vehicles/animals": 0.83, partial: float("nan")},
            {"features": f"untrained {usage}", "cat/dog": 0.5, "automobile/truck": 0.5,
             f"agreement with {usage}": 0.3, "agreement with vehicles/animals": 0.6, partial: untrained_partial}]
    (tmp_path / "tables").mkdir()
    pd.DataFrame(rows).to_csv(tmp_path / "tables" / "03_gating_similarity_controls_full.csv", index=False)
    text = findings.gating.channels_by_class(tmp_path, "full").text
    assert (f"What training adds shows against the same gated model untrained: by the same partial correlation its "
            f"channel usage gives {untrained_partial:+.2f}, {says}") in text
    assert text.startswith("Yes, and more than the same gated model untrained: on seed 0" if "learn to" in says
                           else "On seed 0")  # a learnt answer leads
    # random features that pass the same test qualify the answer, in the README and in notebook 03 alike
    rows.append({"features": f"untrained {static}", "cat/dog": 0.8, "automobile/truck": 0.9,
                 f"agreement with {usage}": 0.9, "agreement with vehicles/animals": 0.95, partial: 0.82})
    table = pd.DataFrame(rows).set_index("features")
    said = findings.gating.channel_controls_text(table, seed=2)
    assert said.startswith("Yes, and more than the same gated model untrained, but random features pass the same test: "
                           "on seed 2" if "learn to" in says else "On seed 2")
    assert "as do the pooled features of an untrained ResNet-20 at the same layers (+0.82)" in said


@pytest.mark.parametrize("matched_partial, says", [(0.30, "against +0.95 trained, so on seed 0 the gates learn to follow the split."),
                                                   (0.80, "so it is not shown to be learnt")])
def test_learnt_channel_classes_must_also_beat_untrained_gates_at_the_trained_on_rates(tmp_path, matched_partial,
                                                                                      says):
    from common.analysis import RATE_MATCHED

    usage, static = "gated X channel usage", "ResNet-20 pooled features"
    partial = f"… given {static}"
    rows = [{"features": usage, "agreement with vehicles/animals": 0.98, partial: 0.95},
            {"features": static, "agreement with vehicles/animals": 0.83, partial: float("nan")},
            {"features": f"untrained {usage}", "agreement with vehicles/animals": 0.6, partial: 0.10},
            {"features": f"untrained {usage} {RATE_MATCHED}", "agreement with vehicles/animals": 0.7,
             partial: matched_partial}]
    table = pd.DataFrame(rows).assign(**{"cat/dog": 0.9, "automobile/truck": 0.9, f"agreement with {usage}": 0.5})
    (tmp_path / "tables").mkdir()
    table.to_csv(tmp_path / "tables" / "03_gating_similarity_controls_full.csv", index=False)
    text = findings.gating.channels_by_class(tmp_path, "full").text
    assert (f"gives +0.10, and {matched_partial:+.2f} with its "
            f"gates set to the trained model's on-rates, {says}") in text
    row = lengths._similarity_rows(table.set_index("features"), "gates' channel usage", "gated model")[
        "gates' channel usage: learnt?"]
    assert row[1] == f"trained +0.95, untrained +0.10 ({matched_partial:+.2f})"
    assert row[2] == ("learnt" if matched_partial < 0.75 else "not learnt")


def test_learnt_class_structure_is_counted_over_seeds(tmp_path):
    from common.analysis import RATE_MATCHED

    write_controls(tmp_path, "03_gating_similarity_controls_full.csv", "gated channel usage", 0.95, -0.75)
    write_controls(tmp_path, "02_attention_similarity_controls_full_k4.csv", "DY K=4 attention", -0.21, 0.77)
    gated = pd.DataFrame({"seed": [0, 1, 2], "trained": [0.95, 0.80, 0.40], "untrained": [-0.75, -0.60, 0.10],
                          RATE_MATCHED: [-0.14, 0.65, -0.20], "untrained ResNet-20 features": [0.8, -0.6, 0.7]})
    path = tmp_path / "tables" / "03_gating_similarity_seeds_full.csv"
    gated.to_csv(path, index=False)
    text = findings.gating.channels_by_class(tmp_path, "full").text
    # seed 1: +0.80 against its stricter twin's +0.65, within the margin (0.2): not learnt on that seed;
    # seed 2: +0.40 follows the split (>= 0.30) and is learnt (+0.10 and -0.20 untrained) by +0.30;
    # untrained networks span -0.75 to +0.80 (> 2 x 0.30): the caveat
    assert text.endswith(" Over the 3 seeds of the headline gated model, each against the ResNet-20 of its seed (seed "
                         "0, quoted above, is the highest of them): trained +0.40 to +0.95, following the split on 3 of "
                         "3; untrained -0.75 to +0.10, untrained at the trained on-rates -0.20 to +0.65; learnt on 2 of "
                         "3 seeds (by +0.30 where narrowest, seed 2, against the 0.2 required; not on seed 1). Untrained "
                         "networks alone range from -0.75 to +0.80 over the seeds (an untrained ResNet-20's features "
                         "-0.60 to +0.80), a spread far wider than the 0.30 cutoff, so crossing it can happen by chance and "
                         "these per-seed counts are weak evidence.")
    # the training-length table reads seed 0's conclusion, and shows the count over seeds beside it
    assert lengths.analyses(tmp_path, "full")["gates' channel usage: learnt?"][1].endswith("; learnt on 2 of 3 seeds")
    # the 200-epoch counts follow the 30-epoch sentence, so a count that changes with length is seen
    gated.assign(trained=[0.95, 0.20, 0.40]).to_csv(tmp_path / "tables" / "03_gating_similarity_seeds_paper.csv", index=False)
    assert findings.gating.channels_by_class(tmp_path, "full").text.endswith(
        "these per-seed counts are weak evidence. At 200 epochs: following the split on 2 of 3 seeds, learnt on 2 of 3.")
    write_controls(tmp_path, "03_gating_similarity_controls_paper.csv", "gated channel usage", 0.77, -0.72)
    paper = findings.gating.channels_by_class(tmp_path, "paper").text  # and the other way round
    assert "At 200 epochs: following" not in paper and paper.endswith(
        "weak evidence. At 30 epochs: following the split on 3 of 3 seeds, learnt on 2 of 3.")
    gated.iloc[:1].to_csv(path, index=False)
    assert "Over the" not in findings.gating.channels_by_class(tmp_path, "full").text  # one seed: the sentence above says it
    dy = pd.DataFrame({"seed": [0, 1], "trained": [-0.21, 0.75], "untrained": [0.50, 0.30],
                       "untrained ResNet-20 features": [0.81, 0.5]})  # untrained span 0.51 < 2 x 0.30: no caveat
    dy.to_csv(tmp_path / "tables" / "02_attention_similarity_seeds_full_k4.csv", index=False)
    assert findings.dynamic.attention_by_class(tmp_path, "full").text.endswith(
        " Over the 2 seeds of DY K=4, each against the ResNet-20 of its seed (seed 0, quoted above, is the lowest of "
        "them): trained -0.21 to +0.75, following the split on 1 of 2; untrained +0.30 to +0.50; learnt on 1 of 2 "
        "seeds (by +0.45 where narrowest, seed 1, against the 0.2 required; not on seed 0).")


def test_the_notebooks_per_seed_note_says_when_there_is_nothing_to_compare():
    by_seed = pd.DataFrame({"trained": [0.95, 0.40], "untrained": [-0.75, 0.10],
                            "untrained ResNet-20 features": [0.1, 0.2]}, index=pd.Index([0, 1], name="seed"))
    note = findings.similarity.per_seed_note(by_seed, "DY K=4")
    assert note.startswith("Over the 2 seeds of DY K=4")
    assert "\n\n**Follows the vehicle/animal split** beyond ResNet-20's features: partial correlation ≥ 0.30, the 5% " \
           "critical value of a partial correlation over the 45 class pairs" in note
    assert "**Learnt**: the trained model's partial correlation exceeds its untrained twin's by more than 0.2" in note
    assert findings.similarity.split_rule() in findings.reading_rules()  # the README's rule, in the same words
    assert findings.similarity.per_seed_note(by_seed.iloc[:1], "DY K=4") == \
        "*1 seed with both runs finished: nothing to compare across seeds yet.*"
    assert findings.similarity.per_seed_note(None, "DY K=4").startswith("*0 seeds")


@pytest.mark.parametrize("partial, random, says", [
    (0.95, 0.82, ", as do the pooled features of an untrained ResNet-20 at the same layers (+0.82): this test "
                 "alone does not set trained features apart from random ones"),
    (0.95, 0.50, ", beyond the pooled features of an untrained ResNet-20 at the same layers (+0.50)"),
    (-0.21, 0.81, ", while the pooled features of an untrained ResNet-20 at the same layers pass the same test (+0.81)"),
    (0.95, 0.10, "; the pooled features of an untrained ResNet-20 at the same layers give +0.10 by the same test")])
def test_following_the_split_is_read_against_a_random_network(partial, random, says):
    static = pd.Series(name="ResNet-20 pooled features", dtype=float)
    column = f"… given {static.name}"
    table = pd.DataFrame({column: [partial, float("nan"), random]},
                         index=["X", static.name, f"untrained {static.name}"])
    assert findings.similarity.random_features(table, partial) == says
    assert findings.similarity.random_features(table.iloc[:2], partial) == ""


def write_controls(results, name, feature, partial, untrained_partial):
    """A similarity-controls table as notebooks 02 and 03 write it."""
    static = "ResNet-20 pooled features"
    column = f"… given {static}"
    rows = [{"features": feature, "cat/dog": 0.9, "automobile/truck": 0.8, VEHICLE_ANIMAL: -0.3,
             f"agreement with {feature}": 1.0,
             "agreement with vehicles/animals": 0.7, column: partial},
            {"features": static, "cat/dog": 0.9, "automobile/truck": 0.8, f"agreement with {feature}": 0.9,
             "agreement with vehicles/animals": 0.8, column: float("nan")},
            {"features": f"untrained {feature}", "cat/dog": 0.5, "automobile/truck": 0.5,
             f"agreement with {feature}": 0.3, "agreement with vehicles/animals": 0.9, column: untrained_partial}]
    (results / "tables").mkdir(exist_ok=True)
    pd.DataFrame(rows).to_csv(results / "tables" / name, index=False)


def test_similar_classes_are_read_against_the_vehicle_animal_baseline(tmp_path):
    write_controls(tmp_path, "02_attention_similarity_controls_full_k4.csv", "DY K=4 attention", -0.21, 0.77)
    write_controls(tmp_path, "03_gating_similarity_controls_full.csv", "gated channel usage", 0.95, -0.75)
    assert ("correlates at 0.90 for cat/dog, 0.80 for automobile/truck, against -0.30 on average for a vehicle "
            "and an animal), but") in findings.dynamic.attention_by_class(tmp_path, "full").text
    assert ("(cat/dog 0.90, automobile/truck 0.80, against -0.30 on average for a vehicle and an animal); "
            in findings.gating.channels_by_class(tmp_path, "full").text)


def test_the_split_rule_is_the_critical_partial_correlation_over_45_class_pairs():
    from common.analysis import follows_split, split_threshold

    assert split_threshold() == pytest.approx(0.297, abs=1e-3)  # t(0.975, 42) = 2.018
    assert follows_split(0.30) and not follows_split(0.29) and not follows_split(-0.9)


@pytest.mark.parametrize("partial, says", [(-0.21, "does not follow the vehicle/animal split"),
                                           (0.60, "still follows the vehicle/animal split")])
def test_the_attention_finding_says_what_its_partial_correlation_says(tmp_path, partial, says):
    write_controls(tmp_path, "02_attention_similarity_controls_paper_k4.csv", "DY K=4 attention", partial, 0.77)
    text = findings.dynamic.attention_by_class(tmp_path, "paper").text
    assert says in text
    learnt = partial > 0.77 + verdicts.LEARNT_MARGIN
    assert ("training adds to that class structure" in text) == learnt


def test_per_image_analyses_are_set_side_by_side_with_their_conclusions(tmp_path):
    write_controls(tmp_path, "02_attention_similarity_controls_full_k4.csv", "DY K=4 attention", -0.21, 0.77)
    write_controls(tmp_path, "02_attention_similarity_controls_paper_k4.csv", "DY K=4 attention", 0.05, 0.70)
    write_controls(tmp_path, "03_gating_similarity_controls_full.csv", "gated channel usage", 0.95, -0.75)
    write_controls(tmp_path, "03_gating_similarity_controls_paper.csv", "gated channel usage", 0.10, -0.75)
    headline = run_label(*HEADLINE)
    pd.DataFrame([{"model": headline, "live gates conditional (%)": 87.0, "MACs spread (%)": 10.8,
                   "test acc": 84.6, "frozen-gate acc": 65.4, "Δ frozen (points)": -19.2}]).to_csv(
        tmp_path / "tables" / "03_gating_input_dependence_full.csv", index=False)
    table = lengths.analyses_by_length(tmp_path)
    attention = "DY K=4 attention: follows the vehicle/animal split?"
    usage = "gates' channel usage: follows the vehicle/animal split?"
    assert table.loc[attention, lengths.SAME] == "same"
    assert table.loc[attention, "200 epochs"] == "+0.05: does not follow"
    assert table.loc[usage, lengths.SAME] == "changes: follows → does not follow"
    assert table.loc["gates' channel usage: learnt?", "30 epochs"] == "trained +0.95, untrained -0.75: learnt"
    assert table.loc["gates: decide per image?", "30 epochs"] == "87%, 10.8%: per image"
    assert table.loc["gates: decide per image?", lengths.SAME] == "pending (not analysed at 200 epochs)"
    assert table.loc["gates: decide per image?", "200 epochs"] == "–"
    assert table.loc["gates: freezing them costs accuracy?", "30 epochs"] == "-19.20: costs accuracy"


def test_attacks_name_a_model_that_differs_paired_by_image(tmp_path):
    from common.attack_results import paired_by_image
    from common.study import handoff_path

    rows = [{"model": model, "attack": "PGD-20", "eps_255": eps, "robust_acc": acc, "images": 300}
            for model, at1 in (("ResNet-20", 55.0), ("DY K=4", 70.0), (run_label(*HEADLINE), 52.0))
            for eps, acc in ((0, 90.0), (1, at1), (8, 0.0))]
    (tmp_path / "tables").mkdir()
    pd.DataFrame(rows).to_csv(handoff_path(tmp_path / "tables", "robustness", profile="paper"), index=False)
    assert findings.robustness.label_attacks(tmp_path, "paper").text.startswith(  # nothing paired
        "No model is robust at 8/255.\n- **At ε = 1/255.** The strongest PGD leaves")
    assert "attacks: models differ at ε = 1/255?" not in lengths.analyses(tmp_path, "paper")
    ref = np.arange(300) < 165  # ResNet-20 survives 55% of the images
    robust = pd.DataFrame({"ResNet-20": ref, "DY K=4": np.arange(300) < 210,  # 70%: +15 points
                           run_label(*HEADLINE): ref ^ (np.arange(300) % 50 == 0)})  # 6 flips, net -2
    paired_by_image(robust, "ResNet-20").to_csv(tmp_path / "tables" / "04_attack_paired_paper.csv", index=False)
    text = findings.robustness.label_attacks(tmp_path, "paper").text
    assert text.startswith("No model is robust at 8/255; at 1/255 DY K=4 is more robust than ResNet-20 on seed 0 alone, "
                           "among 2 comparisons, where one may exclude 0 by chance.\n")
    assert "\n- **How they are compared.** Each model against ResNet-20 on the same 300 test images, paired by image" in text
    assert "DY K=4 70.0%" in text and "every model is at 0.0%." in text
    found = lengths.analyses(tmp_path, "paper")
    assert found["attacks: models differ at ε = 1/255?"][1:] == ("55.0 / 70.0 / 54.3", "DY K=4 more robust")  # per image
    assert found["attacks: a model robust at ε = 8/255?"][1:] == ("0.0", "no model robust")
    second = [{**row, "model": f"{row['model']} (seed 2)"} for row in rows if row["model"] == run_label(*HEADLINE)]
    pd.DataFrame(rows + second).to_csv(handoff_path(tmp_path / "tables", "robustness", profile="paper"), index=False)
    assert findings.robustness.label_attacks(tmp_path, "paper").text.endswith("seed 0 of each model, and seed 2 of the headline gated model.")


def test_attacks_pair_each_seed_with_the_resnet20_of_its_seed_and_read_over_seeds(tmp_path):
    from common.attack_results import paired_by_image
    from common.study import handoff_path

    headline = run_label(*HEADLINE)
    seeded = lambda label, s: label if s == 0 else f"{label} (seed {s})"
    rows = [{"model": seeded(model, s), "attack": "PGD-20", "eps_255": eps, "robust_acc": acc, "images": 300}
            for model in ("ResNet-20", "DY K=4", headline) for s in (0, 1, 2) for eps, acc in ((0, 90.0), (1, 50.0), (8, 0.0))]
    (tmp_path / "tables").mkdir()
    pd.DataFrame(rows).to_csv(handoff_path(tmp_path / "tables", "robustness", profile="paper"), index=False)
    index = np.arange(300)
    robust = {}
    for s, (ref, dy) in enumerate(((150, 200), (160, 120), (140, 150))):  # DY: +16.7 on seed 0, -13.3 on seed 1
        robust |= {seeded("ResNet-20", s): index < ref, seeded("DY K=4", s): index < dy, seeded(headline, s): index < ref}
    paired_by_image(pd.DataFrame(robust), "ResNet-20").to_csv(tmp_path / "tables" / "04_attack_paired_paper.csv", index=False)
    text = findings.robustness.label_attacks(tmp_path, "paper").text
    assert text.startswith("No model is robust at 8/255; at 1/255 DY K=4 is more robust than ResNet-20.\n")  # seed 0's models
    assert "How they are compared.** Each model against the ResNet-20 of its seed on the same 300 test images" in text
    assert "; 6 comparisons, differences " in text  # 2 models at 3 seeds; ResNet-20's other seeds are references
    assert text.endswith("seed 0 of each model, and seeds 1 and 2 of DY K=4 and the headline gated model.")
    assert "ResNet-20 50.0% (seed 0; 46.7–53.3% over its 3 seeds)" in text
    assert ("\n- **Over seeds.** Each seed's difference from the ResNet-20 of that seed, mean and 95% interval over "
            "the seeds (Student's t; every seed on the same images, so the interval is the spread between training "
            "runs): DY K=4 +2.2 [-35.1, +39.6] points (3 seeds): not distinguishable; "
            "the headline gated model +0.0 [+0.0, +0.0] points (3 seeds): not distinguishable.\n") in text


def test_a_profile_with_one_k_reports_no_sweep_over_k(full_study):
    for seed, noise in enumerate((0.0, 0.3, -0.3)):
        for run, acc in [("resnet20", 91.6), ("dy4", 92.0), ("headline", 88.6), ("width0.5", 88.4)]:
            write_run(full_study, run, "paper", seed, acc + noise)
    table, over = verdicts.load_overview(full_study, "paper")
    text = findings.dynamic.dynamic_convolution(over, table).text
    assert "DY K=4 reaches 92.00 ± 0.30% (3 seeds)" in text and "Over K" not in text
    assert "paired by seed +0.40 [+0.40, +0.40] points (95% interval; a gain)" in text  # +0.4 on every seed
    assert "Equal MACs are not equal time" not in text  # no speed table given
    speed = pd.DataFrame({"train, batch 128 (bf16)": [1.0, 0.501], "infer, batch 128 (bf16)": [1.0, 0.434],
                          "infer, batch 1 (bf16)": [1.0, 0.378], "device": "AMD EPYC CPU (2 threads)"},
                         index=["ResNet-20", "DY K=4, kernels mixed per image"])
    assert text + ("\n- Equal MACs are not equal time: on AMD EPYC CPU (2 threads), DY K=4 trains at 0.50× ResNet-20's images/s and "
                   "classifies single images at 0.38× (notebook 02's benchmark).") == findings.dynamic.dynamic_convolution(
        over, table, speed).text
    assert findings.question(over, "paper").text.startswith(
        "Does input dependence beat a static network of the same cost? Yes for both")


@pytest.mark.parametrize("control_acc, headline_acc, answer", [
    (88.4, 88.6, "Yes for DY K=4 and the headline gated model"),  # the thin control behind ResNet-20
    (91.8, 92.0, "Yes for all 3")])
def test_the_answer_names_the_models_with_a_gain_among_more_than_two(full_study, monkeypatch, control_acc,
                                                                      headline_acc, answer):
    for seed, noise in enumerate((0.0, 0.3, -0.3)):
        for run, acc in [("resnet20", 91.6), ("dy4", 92.0), ("headline", headline_acc), ("width0.5", control_acc)]:
            write_run(full_study, run, "paper", seed, acc + noise)
    over = verdicts.load_overview(full_study, "paper")[1]
    monkeypatch.setattr(findings, "QUESTION_COLUMNS", {**verdicts.QUESTION_COLUMNS, "ResNet-20 ×0.5 width": "delta"})
    assert findings.question(over, "paper").text.startswith(f"{findings.QUESTION} {answer}: ")


@pytest.mark.parametrize("train_gain, says", [
    (0.4, "On the training images (un-augmented) the difference is +0.40 [+0.40, +0.40] points (96.40% against "
          "ResNet-20's 96.00%, mean over seeds): no closer fit to the images it learnt from than to new ones."),
    (-0.2, "the difference is -0.20 [-0.20, -0.20] points"),
    (1.5, "On the training images (un-augmented) DY K=4 gains more: +1.50 [+1.50, +1.50] points")])
def test_dy_on_its_training_images_is_read_against_its_test_gain(full_study, train_gain, says):
    for seed in range(3):
        write_run(full_study, "resnet20", "paper", seed, 91.0, train_acc=96.0)
        write_run(full_study, "dy4", "paper", seed, 91.4, train_acc=96.0 + train_gain)
    table, over = verdicts.load_overview(full_study, "paper")
    assert says in findings.dynamic.dynamic_convolution(over, table).text


def test_one_dy_seed_is_compared_with_resnet20s_run_of_that_seed_and_decides_nothing(full_study):
    for seed in range(3):
        write_run(full_study, "resnet20", "paper", seed, 91.0 + seed, train_acc=96.0)
    write_run(full_study, "dy4", "paper", 0, 91.4, train_acc=95.0)
    table, over = verdicts.load_overview(full_study, "paper")
    text = findings.dynamic.dynamic_convolution(over, table).text
    assert text.startswith("DY K=4 reaches 91.40% (1 seed) against ResNet-20's 92.00 ± 1.00% (3 seeds): against "
                           "ResNet-20's run of the same seed (91.00%, the lowest of its 3 seeds) +0.40 points (seed 0 only; one seed: no verdict) "
                           "at 103.1%")
    assert "ours, +0.40 on one seed, would be within that range (one seed: no verdict)." in text
    assert text.endswith("On the training images (un-augmented) the difference is -1.00 points (seed 0 only; 95.00% "
                         "against ResNet-20's 96.00%, the same seed), one seed: no verdict.")
    shutil.rmtree(full_study / "dy4-paper-seed0-0000")
    write_run(full_study, "dy4", "paper", 1, 92.4)  # paired with ResNet-20's middle seed: no rank to mention
    table, over = verdicts.load_overview(full_study, "paper")
    assert "run of the same seed (92.00%) +0.40 points (seed 1 only" in findings.dynamic.dynamic_convolution(over, table).text


@pytest.mark.parametrize("random, says", [
    (0.81, "correlation +0.46; ≥ 0.30 counts as following), as do the pooled features of an untrained ResNet-20 at "
           "the same layers (+0.81): this test alone does not set trained features apart from random ones.\n- On seed 0, an untrained"),
    (0.10, "correlation +0.46; ≥ 0.30 counts as following); the pooled features of an untrained ResNet-20 at the same "
           "layers give +0.10 by the same test: it adds class structure of its own.\n- On seed 0, an untrained")])
def test_attention_that_follows_the_split_adds_structure_only_beyond_random_features(tmp_path, random, says):
    write_controls(tmp_path, "02_attention_similarity_controls_paper_k4.csv", "DY K=4 attention", 0.46, 0.77)
    path = tmp_path / "tables" / "02_attention_similarity_controls_paper_k4.csv"
    table = pd.read_csv(path)
    table.loc[len(table)] = {"features": "untrained ResNet-20 pooled features", "… given ResNet-20 pooled features": random}
    table.to_csv(path, index=False)
    text = findings.dynamic.attention_by_class(tmp_path, "paper").text
    assert says in text
    conclusion = lengths.analyses(tmp_path, "paper")["DY K=4 attention: follows the vehicle/animal split?"][2]
    assert conclusion == ("follows, but so do random features" if random > 0.46 - verdicts.LEARNT_MARGIN else "follows")
    assert text.startswith("Yes, but so do random features: on seed 0" if conclusion != "follows"
                           else "Yes, beyond a static network's features: on seed 0")  # the answer leads


@pytest.mark.parametrize("adaptive, says", [((1.61, 1.64, 1.62), "not distinguishable from"),
                                            ((1.70, 1.72, 1.71), "more than"),
                                            ((1.61,), "compared with")])
def test_the_adaptive_energy_attack_is_read_against_the_plain_one_by_seed(tmp_path, adaptive, says):
    (tmp_path / "tables").mkdir()
    plain = (1.60, 1.63, 1.63)
    pd.DataFrame({"model": [f"headline seed {s}" for s in range(len(adaptive))],
                  "energy / clean": plain[:len(adaptive)], "adaptive / clean": adaptive}).to_csv(
        tmp_path / "tables" / "04_energy_adaptive_full.csv", index=False)
    text = findings.energy._adaptive_energy(tmp_path, "full")
    assert (f"reaches {sum(adaptive) / len(adaptive):.3f}× against the plain attack's "
            f"{sum(plain[:len(adaptive)]) / len(adaptive):.3f}× on the same images: {says} it") in text
    assert ("one seed: no verdict" in text) == (len(adaptive) == 1)
    assert findings.energy._adaptive_energy(tmp_path, "paper") == ""


def test_the_energy_attack_effort_is_read_against_the_attack_of_the_tables(tmp_path):
    (tmp_path / "tables").mkdir()
    pd.DataFrame({"model": ["h", "h"], "energy / clean": [1.60, 1.63], "adaptive / clean": [1.60, 1.63]}).to_csv(
        tmp_path / "tables" / "04_energy_adaptive_full.csv", index=False)
    pd.DataFrame({"steps": [10, 20, 80, 20], "restarts": [1, 1, 1, 2], "attacked / clean": [1.5, 1.6, 1.64, 1.62],
                  "main": [False, True, False, False], "images": 300}).to_csv(
        tmp_path / "tables" / "04_energy_strength_full.csv", index=False)
    text = findings.energy._adaptive_energy(tmp_path, "full")
    assert text.endswith("more effort (80 steps, 1 random start) adds +0.040× to the 20-step attack on 300 images of seed 0.")


def test_the_published_resnet20_on_the_copy_is_reported_for_the_runs_data(full_study):
    from common.paths import PUBLISHED_CHECK
    from common.published import record

    assert lengths.published_check(full_study, "sha256:0000") is None  # nothing recorded yet

    write_run(full_study, "resnet20", "paper", 0, 88.0)
    source = {"name": "a CIFAR-10 copy", "fingerprint": "sha256:0000"}  # write_run's
    entry = {"network": "ResNet-20", "source": "akamaster/pytorch_resnet_cifar10", "published_test_acc": 91.73,
             "test_acc": 81.0, "train_acc": 80.5}
    record(entry | {"test_acc": 91.7}, {"fingerprint": "md5:another-copy"}, full_study / PUBLISHED_CHECK)
    assert "lossless" not in lengths.training_length(full_study).text  # no entry for the runs' data
    assert lengths.published_check(full_study, "md5:another-copy")["test_acc"] == 91.7
    assert lengths.published_check(full_study, "sha256:0000") is None
    record(entry, source, full_study / PUBLISHED_CHECK)
    assert ("The copy is not a lossless stand-in for the original images: akamaster/pytorch_resnet_cifar10's "
            "published ResNet-20 (91.73% on the original test images) classifies 81.00% of the copy's test images correctly "
            "(80.50% of its training images).") in lengths.training_length(full_study).text
    record(entry | {"finetuned": {"epochs": 10, "lr": 0.02, "test_acc": 89.0}}, source, full_study / PUBLISHED_CHECK)
    assert ("is not measured directly. An indirect check points at the copy: akamaster/pytorch_resnet_cifar10's "
            "published ResNet-20 (91.73% on the original test images) classifies 81.00% of the copy's test images correctly "
            "(80.50% of its training images), and after 10 epochs of fine-tuning on the copy's training images "
            "(peak learning rate 0.02, fixed beforehand; one run) 89.00% of its test images, +1.00 points from ours "
            "(88.00%, 1 seed): a ResNet-20 that learnt from the original images stays below He et al.'s 91.25% on "
            "the copy.") in lengths.training_length(full_study).text
    record(entry | {"finetuned": {"epochs": 10, "lr": 0.02, "test_acc": 91.5}}, source, full_study / PUBLISHED_CHECK)
    text = lengths.training_length(full_study).text
    assert "An indirect check points at our training: " in text
    assert "(88.00%, 1 seed): a ResNet-20 can reach He et al.'s 91.25% on the copy." in text


def _caps(gaps, half=None, n=3):
    """A MAC-cap table as notebook 04 writes it: one row per cap, capped − static per cap over
    ``n`` seeds, with its 95% interval ± ``half`` (None: one seed, no interval)."""
    table = pd.DataFrame({"cap (× mean MACs)": [1.0, 1.25, 1.5][:len(gaps)], "cap (M)": [10.0, 12.5, 15.0][:len(gaps)],
                          "clean MACs (M)": 9.9, "capped − static": gaps, verdicts.CAP_SEEDS: n if half else 1})
    table[verdicts.CAP_INTERVAL[0]] = table["capped − static"] - half if half else float("nan")
    table[verdicts.CAP_INTERVAL[1]] = table["capped − static"] + half if half else float("nan")
    return table


def test_the_static_widths_around_a_cap_say_when_they_are_far_apart():
    over = pd.DataFrame({"macs": [10.25e6, 12.94e6, 40.55e6]},
                        index=["ResNet-20 ×0.5 width", "ResNet-20 ×0.58 width", "ResNet-20"])
    assert findings.energy._widths_around(over, 11.4e6) == (", here ResNet-20 ×0.5 width (10.25M) and ResNet-20 ×0.58 "
                                                      "width (12.94M), linear in log MACs")
    assert findings.energy._widths_around(over.drop("ResNet-20 ×0.58 width"), 11.4e6).endswith(
        "and ResNet-20 (40.55M), linear in log MACs; a bracket 4.0× wide in MACs, so a coarse reading")
    assert findings.energy._widths_around(over, 9e6) == ""  # nothing below: the frontier is never extrapolated
    shorter = pd.DataFrame({"macs": [10.25e6, 12.94e6, 40.55e6], "test_acc": [83.30, 84.24, 87.09]},
                           index=["ResNet-20 ×0.5 width", "ResNet-20 ×0.58 width", "ResNet-20"])
    line = 83.30 + (87.09 - 83.30) * np.log(12.94 / 10.25) / np.log(40.55 / 10.25)  # 83.94
    assert findings.energy._widths_around(over.drop("ResNet-20 ×0.58 width"), 11.4e6, shorter).endswith(
        f"so a coarse reading: at 30 epochs the widths between them lie up to {84.24 - line:.2f} points above such a "
        "line, so it may read the static network low")


def test_a_mac_cap_gets_a_verdict_only_from_its_interval():
    behind = _caps([-2.0, -1.0, -0.8], half=0.5)
    assert verdicts.cap_verdict(behind) == "static higher at every cap"
    assert findings.energy._cap_against_static(behind, behind.iloc[1]) == (
        " The static network with the same worst case spends the cap (12.50M) on every image; its accuracy is read "
        "off the static frontier between the trained widths. The capped model (9.90M on average) is "
        "behind it: -1.00 [-1.50, -0.50] points, paired by seed; over the 3 caps with a static network to compare, "
        "it is behind at every one (-2.00 to -0.80 points); a static network of the same worst-case cost does better "
        "at every cap.")
    some = _caps([-2.0, -0.3], half=0.5)
    assert findings.energy._cap_against_static(some, some.iloc[1]).endswith(
        "; at no cap is the capped model ahead of a static network of the same worst-case cost.")
    mixed = _caps([-2.0, -0.3, 0.9], half=0.5)
    assert verdicts.cap_verdict(mixed) == "capped higher at some cap"
    assert findings.energy._cap_against_static(mixed, mixed.iloc[1]).endswith(
        "is not distinguishable from it: -0.30 [-0.80, +0.20] points, paired by seed; over the 3 caps with a static "
        "network to compare, it is behind at 1, ahead at 1 and not distinguishable at 1.")
    assert verdicts.cap_verdict(_caps([-2.0, -0.3], half=0.5)) == "static higher at some caps, never significantly lower"
    assert verdicts.cap_verdict(_caps([-0.2, -0.3], half=0.5)) == "not distinguishable at any cap"
    partly = _caps([-2.0, -0.3, 0.4], half=0.5)
    partly.loc[2, list(verdicts.CAP_INTERVAL)] = float("nan")  # the loosest cap reached by one seed's frontier only
    partly.loc[2, verdicts.CAP_SEEDS] = 1
    assert verdicts.cap_verdict(partly) == "1 of 3 caps on one seed: no verdict"
    assert findings.energy._cap_against_static(partly, partly.iloc[1]).endswith(
        "over the 3 caps with a static network to compare, it is behind at 1, ahead at 0, not distinguishable at 1 "
        "and without a verdict at 1 (static widths on both sides of the cap for fewer than 3 seeds); until every cap "
        "is compared on all 3 seeds, no verdict over the caps.")
    partly.loc[2, verdicts.CAP_SEEDS] = 2  # an interval, but not the study's seeds
    assert verdicts.cap_verdict(partly) == "1 of 3 caps on 2 of 3 seeds: no verdict yet"
    two = _caps([-2.0, -0.3, 0.9], half=0.5, n=2)
    assert verdicts.cap_verdict(two) == "2 of 3 seeds: no verdict yet"
    assert findings.energy._cap_against_static(two, two.iloc[1]).endswith(
        "scores 0.30 points lower than it ([-0.80, +0.20] paired by seed; 2 of 3 seeds: no verdict yet).")
    single = _caps([-0.5, 0.47])
    assert verdicts.cap_verdict(single) == "one seed: no verdict"
    assert findings.energy._cap_against_static(single, single.iloc[1]).endswith(
        "scores 0.47 points higher than it (one seed: no verdict).")


def test_a_one_seed_analysis_at_200_epochs_is_pending(full_study):
    tmp_path = full_study
    (tmp_path / "tables").mkdir()
    _caps([-2.0, -1.0], half=0.5).to_csv(tmp_path / "tables" / "04_mac_cap_full.csv", index=False)
    _caps([-1.0, 0.47]).to_csv(tmp_path / "tables" / "04_mac_cap_paper.csv", index=False)
    table = lengths.analyses_by_length(tmp_path)
    cap = "MAC cap: beats the static network costing the cap?"
    assert table.loc[cap, "30 epochs"] == "-2.00 to -1.00: static higher at every cap"
    assert table.loc[cap, lengths.SAME] == "pending (one seed: no verdict)"
    write_run(full_study, "resnet20", "paper", 0, 88.0)
    assert ("\n- **Analyses of notebooks 02–04** (1 in all; on seed 0, except the attacks on compute, "
            "which use every seed of the headline gated model): 1 rests in part on fewer than 3 seeds at 200 epochs: no verdict yet "
            f"({cap} -1.00 to +0.47).\n") in \
        lengths.training_length(full_study).text
    _caps([-1.0, 0.47], half=0.5, n=2).to_csv(tmp_path / "tables" / "04_mac_cap_paper.csv", index=False)
    assert lengths.analyses_by_length(tmp_path).loc[cap, lengths.SAME] == "pending (2 of 3 seeds: no verdict yet)"


@pytest.mark.parametrize("frozen_macs, says", [(0.25, False), (0.14, True)])
def test_a_frozen_network_that_runs_fewer_macs_is_said(full_study, frozen_macs, says):
    (full_study / "tables").mkdir()
    pd.DataFrame([{"model": run_label(*HEADLINE), "live gates conditional (%)": 87.0, "MACs spread (%)": 10.8,
                   "Δ frozen (points)": -19.2, "MACs vs ResNet-20": 0.26, "frozen MACs vs ResNet-20": frozen_macs}]).to_csv(
        full_study / "tables" / "03_gating_input_dependence_full.csv", index=False)
    _, over = verdicts.load_overview(full_study, "full")
    text = findings.gating.channel_gating(over, full_study, "full").text
    assert "On seed 0 its decisions" in text and "costs 19.20 points (no retraining" in text
    assert ("the frozen network executes 0.14× ResNet-20's MACs against 0.26×, so not all of that is input "
            "dependence" in text) == says


def test_a_verdict_waits_for_the_study_seeds():
    """Two seeds give an interval (one degree of freedom) but no verdict, as in the training-length tables."""
    assert [verdicts.settled(n) for n in (float("nan"), 1, 2, 3)] == [False, False, False, True]
    assert verdicts.waiting(1) == "one seed: no verdict"
    assert verdicts.waiting(2) == "2 of 3 seeds: no verdict yet"


def test_a_30_epoch_finding_says_where_200_epochs_change_its_analysis():
    """On the committed results: every per-image analysis belongs to a finding, and each whose
    conclusion changes at 200 epochs is said so in that 30-epoch finding."""
    by_length = lengths.analyses_by_length()
    found = {f.topic: f.text for f in findings.findings()}
    assert {question.split(": ")[0] for question in by_length.index} <= set(findings.ANALYSIS_TOPICS)
    assert set(findings.ANALYSIS_TOPICS.values()) <= set(found)
    for question, same in by_length[lengths.SAME].items():
        said = f"the answer to “{question.split(': ', 1)[1]}” changes"
        topic = findings.ANALYSIS_TOPICS[question.split(": ")[0]]
        assert (said in found[topic]) == same.startswith("changes"), question
        assert (said in found[topic].split("\n")[0]) == same.startswith("changes"), question  # in its lead


def test_what_the_intervals_support_waits_for_every_seed_of_the_study_models_only():
    row = pd.Series({"delta_n": 2.0, "delta_ci_low": -9.0, "delta_ci_high": -1.0})
    assert verdicts.supported(HEADLINE_LABEL, row, "delta") == "2 of 3 seeds: no verdict yet"
    assert verdicts.supported("DY K=5", row, "delta") == "behind (95% CI below 0)"  # a sweep: read on its seeds
    assert verdicts.supported(HEADLINE_LABEL, row.replace(2.0, 3.0), "delta") == "behind (95% CI below 0)"
    assert verdicts.supported(DY_LABEL, row.replace(2.0, 1.0), "delta") == "one seed: no verdict"


@pytest.mark.parametrize("macs, words", [(8.0e6, "ResNet-20 ×0.5 width, the static network nearest in MACs of those "
                                                 "trained (10.40M, 30% more than the gated model's 8.00M) ("),
                                         (None, "ResNet-20 ×0.5 width, the static network of equal MACs (")])
def test_the_gating_finding_names_its_control_once(full_study, macs, words):
    for seed, noise in enumerate((0.0, 0.6, -0.6)):
        write_run(full_study, "resnet20", "paper", seed, 91.0 + noise)
        write_run(full_study, "width0.5", "paper", seed, 87.0 + noise)
        write_run(full_study, "headline", "paper", seed, 87.0 + noise * 0.8, macs=macs)
    _, over = verdicts.load_overview(full_study, "paper")
    text = findings.gating.channel_gating(over, full_study, "paper").text
    assert words in text and text.count("ResNet-20 ×0.5 width") == 1


def test_the_training_length_lead_counts_the_analyses_that_change(full_study):
    write_controls(full_study, "02_attention_similarity_controls_full_k4.csv", "DY K=4 attention", -0.21, 0.77)
    write_controls(full_study, "02_attention_similarity_controls_paper_k4.csv", "DY K=4 attention", 0.60, 0.77)
    write_run(full_study, "resnet20", "paper", 0, 88.0)
    lead = lengths.training_length(full_study).text.split("\n")[0]
    assert lead.endswith("; of the 2 analyses of notebooks 02–04 with a conclusion at both lengths (mostly on seed 0 "
                         "alone), 1 keeps it and "
                         "1 changes.")


def test_a_mac_cap_read_the_same_at_both_lengths_still_counts_its_caps(tmp_path):
    (tmp_path / "tables").mkdir()
    _caps([-2.0, -1.5, -0.2], half=0.5).to_csv(tmp_path / "tables" / "04_mac_cap_full.csv", index=False)
    _caps([-1.0, -0.3, 0.2], half=0.5).to_csv(tmp_path / "tables" / "04_mac_cap_paper.csv", index=False)
    row = lengths.analyses_by_length(tmp_path).loc["MAC cap: beats the static network costing the cap?"]
    assert row["30 epochs"] == "-2.00 to -0.20 (behind at 2 of 3 caps): static higher at some caps, never significantly lower"
    assert row["200 epochs"] == "-1.00 to +0.20 (behind at 1 of 3 caps): static higher at some caps, never significantly lower"
    assert row[lengths.SAME] == "same"


def _energy_row(model, eps, clean, energy, stealthy=float("nan"), noise=None):
    return {"model": model, "ε (/255)": eps, "mean MACs clean (M)": clean, "mean MACs noise (M)": noise or clean,
            "mean MACs energy (M)": energy, "mean MACs stealthy (M)": stealthy, "max MACs energy (M)": energy * 1.2,
            "above static clean (%)": 10.0, "above static energy (%)": 60.0, "acc clean (%)": 85.0,
            "acc energy (%)": 40.0}


def test_the_energy_summary_reads_the_attack_against_noise_stealth_and_static_models():
    headline = [HEADLINE_LABEL, f"{HEADLINE_LABEL} (seed 1)"]
    table = pd.DataFrame([_energy_row(headline[0], 8, 10.0, 17.0, 16.0, noise=10.05),
                          _energy_row(headline[1], 8, 10.0, 15.0, 14.0, noise=10.05),
                          _energy_row(headline[0], 1, 10.0, 11.0),
                          _energy_row("gated L0=2", 8, 12.0, 12.5),
                          _energy_row("ResNet-20", 8, 40.55, 40.55)])
    recovered = pd.DataFrame({"energy": [20.0, 10.0, 1.7], "stealthy": [18.0, 9.0, float("nan")]},
                             index=[*headline, "gated L0=2"])
    transfer = pd.DataFrame({"transferred / clean": [1.3], "share of white-box gain": [0.5]})
    text = findings.energy.energy_summary(table, recovered, transfer, headline, ["gated L0=2"], ["ResNet-20"], [1, 8],
                                   40.55e6, ("ResNet-20 ×0.5 width", 10.25e6))
    lead, stealthy, uniform, static, black_box = text.split("\n\n")
    assert lead.startswith("**Yes: an attacker can make the headline gated model spend much more, and the noise control")
    assert ("raises its mean executed MACs from 10.00M to 15.00–17.00M per image (1.50–1.70×, 2 seeds), taking back "
            "15.0 ± 7.1% (mean ± std over 2 seeds)") in lead
    assert "changes the mean by a factor 1.005. At ε = 1/255 the attack gets 1.10×." in lead
    assert "Images that execute more than ResNet-20 ×0.5 width (10.25M for every image" in lead
    assert "reaches 1.40–1.60× the clean MACs: 83% of the unconstrained attack's extra MACs" in stealthy
    assert "(13.5% of the saving recovered)" in stealthy
    assert uniform.startswith("**The uniform-L0 gated models** at ε = 8/255") and "L0=2 12.0 → 12.5M (2% of 28.5M)" in uniform
    assert static.startswith("**ResNet-20 cannot be pushed:**") and "its MACs equal the clean ones" in static
    assert black_box.endswith("raise another seed's mean MACs by 30%, 50% of the white-box gain on that seed.")
    empty = findings.energy.energy_summary(table.iloc[:0], recovered, transfer.iloc[:0], headline, [], [], [1, 8], 40.55e6)
    assert empty == "No gated runs of this profile to attack yet."


def _cap_summary(deltas):
    multiples = [1.0, 1.1, 1.25, 1.5, 2.0][:len(deltas)]
    return pd.DataFrame({"multiple": multiples, "cap_mean": [m * 9e6 for m in multiples], "delta_acc_mean": deltas,
                         "delta_acc_std": 0.1, "capped_mean": [40.0 / m for m in multiples],
                         "frontier_acc_mean": 84.0, "acc_mean": [85.0 + d for d in deltas],
                         "acc_vs_frontier_mean": [1.0 + d for d in deltas], "acc_vs_frontier_n": 3,
                         "acc_vs_frontier_ci_low": [0.5 + d for d in deltas], "acc_vs_frontier_ci_high": [1.5 + d for d in deltas],
                         "macs_mean_mean": 8.9e6, "attacked_macs_max_mean": [m * 8.9e6 for m in multiples],
                         "attacked_acc_mean": 30.0})


def test_the_mac_cap_summary_says_whether_the_goal_cap_costs_little():
    text = findings.energy.mac_cap_summary(_cap_summary([-2.0, -0.8, -0.3, -0.1]), 3)
    assert text.startswith(f"**A cap of {verdicts.CAP_WORST_CASE:g}× the mean MACs costs less than "
                           f"{verdicts.CAP_TOLERANCE:g} points:** no image")
    assert "(11.25M on average over 3 seeds)" in text and "uncapped model (-0.30)." in text
    assert "Tighter caps cost more (mean ± std over seeds): 1× -2.00 ± 0.10 points (40% of images capped), 1.1× -0.80" in text
    assert "At 1.25× the cap is 11.25M MACs" in text and "(+0.70 [+0.20, +1.20] points, paired by seed)" in text
    costly = findings.energy.mac_cap_summary(_cap_summary([-3.0, -2.0, -1.0, -0.2]), 1)
    assert costly.startswith("**No cap gets there: a guaranteed worst case of 1.25× the mean MACs costs 1.00 ± 0.10 "
                             "points of clean accuracy**")
    assert " The smallest cap within 0.5 points is 1.5× (13.5M, -0.20 points)." in costly


def test_the_cheapest_gated_model_within_a_point_is_set_against_a_static_network_of_its_macs():
    summary = pd.DataFrame({"label": ["gated L0=0.5", "gated L0=2"], "avg_executed_macs": [20e6, 10e6],
                            "test_acc": [86.5, 84.0], "Δ test acc (points)": [-0.5, -3.0],
                            "MACs vs ResNet-20": [20 / 40.55, 10 / 40.55]})
    baseline = {"macs": 40.55e6, "test_acc": 87.0}
    static = pd.DataFrame({"macs": [10.25e6, 40.55e6], "acc": [83.0, 87.0]})  # seeds.seed_frontier
    text = findings.gating.cheapest_gated(summary, baseline, static, 0)
    assert text.startswith("The cheapest gated model within 1 point of ResNet-20 is gated L0=0.5: 86.50% test accuracy "
                           "(-0.50 points) at **49.3%** of ResNet-20's MACs (20.00M vs 40.55M).")
    assert "ResNet-20's thin versions, seed 0, interpolated) reaches 84.94%: the gated model is +1.56 points" in text
    assert findings.gating.cheapest_gated(summary, baseline, None, 0).endswith(
        "so there is no equal-cost control here. All of these are seed 0's runs; notebook 05 compares over seeds.")
    behind = findings.gating.cheapest_gated(summary.assign(**{"Δ test acc (points)": [-1.5, -3.0]}), baseline, static, 0)
    assert behind.startswith("No gated model is both cheaper than ResNet-20 and within 1 point of its accuracy in this "
                             "profile; the closest, gated L0=0.5, is -1.50 points")
    assert "reaches 84.94%: the gated model is +1.56 points from it." in behind  # the equal-cost control stays
    alone = findings.gating.cheapest_gated(summary.iloc[:1].assign(**{"Δ test acc (points)": -1.5}), baseline, static, 0)
    assert "profile; gated L0=0.5 is -1.50 points" in alone  # one model is not "the closest"


def test_the_short_answer_gives_each_lengths_answer_in_one_line(full_study):
    assert findings.short_answer(full_study) == "**In short:** No gain shown at 30 epochs."
    for seed, noise in enumerate((0.0, 0.6, -0.6)):
        write_run(full_study, "resnet20", "paper", seed, 91.0 + noise)
        write_run(full_study, "width0.5", "paper", seed, 87.0 + noise)
        write_run(full_study, "headline", "paper", seed, 87.0 + noise * 0.8)
    write_run(full_study, "dy4", "paper", 0, 91.5)
    assert findings.short_answer(full_study).startswith(
        "**In short:** No gain shown at 30 epochs; at 200 epochs, no gain shown for the headline gated model, "
        "no verdict yet for DY K=4.")
    assert findings.short_answer(full_study / "nothing") == ""


def test_the_table_at_a_glance_compares_each_model_as_the_question_does(full_study):
    glance = lengths.at_a_glance(lengths.overviews(full_study))
    assert list(glance.index) == ["ResNet-20", "DY K=4", "headline gated model", "ResNet-20 ×0.5 width",
                                  "ResNet-20 ×0.45 width"]
    assert glance.loc["headline gated model", "compared with"] == "ResNet-20 ×0.5 width"  # nearest in MACs
    assert glance.loc["DY K=4", "compared with"] == "ResNet-20"
    assert glance.loc["DY K=4", "30 epochs: Δ (points) [95% CI]"].startswith("+0.10 [")  # +0.5, -0.7, +0.5
    assert glance.loc["headline gated model", "30 epochs: Δ (points) [95% CI]"].startswith("+0.00 [")
    assert glance.loc["DY K=4", "200 epochs: test acc (%)"] == "pending"
    assert glance.loc["ResNet-20 ×0.45 width", "MACs (M)"] == "pending"  # no run at either length
    assert lengths.unequal_costs(lengths.overviews(full_study)) == []  # 10.2M against 10.4M: within 5%
    write_run(full_study, "dy4", "paper", 0, 91.5)
    write_run(full_study, "resnet20", "paper", 0, 91.0)
    write_run(full_study, "headline", "paper", 0, 88.0, macs=9.0e6)
    glance = lengths.at_a_glance(lengths.overviews(full_study))
    # one seed each: the cell gives the two seed-0 accuracies, since the column beside it gives ResNet-20's mean
    assert glance.loc["DY K=4", "200 epochs: Δ (points) [95% CI]"] == "+0.50 (seed 0 only; 91.50% against ResNet-20's 91.00%)"
    assert glance.loc["headline gated model", "MACs (M)"] == "10.20 / 9.00"  # each length's own cost
    # no thin ResNet-20 at 200 epochs yet: the nearest static network trained there is ResNet-20 itself
    assert glance.loc["headline gated model", "200 epochs: Δ (points) [95% CI]"] == (
        "-3.00 (seed 0 only; 88.00% against ResNet-20's 91.00%)")
    assert glance.loc["headline gated model", "compared with"] == "ResNet-20 ×0.5 width / ResNet-20"
    assert lengths.unequal_costs(lengths.overviews(full_study)) == [
        "At 200 epochs ResNet-20 (40.55M MACs) costs 351% more than the headline gated model (9.00M): the Δ there "
        "is against a costlier network."]
    assert lengths.GLANCE_NOTE in lengths.glance_markdown(full_study)
    assert ("MACs and networks compared with that differ between the lengths read \"30 epochs / 200 epochs\"."
            in lengths.glance_markdown(full_study))
    write_run(full_study, "width0.5", "paper", 0, 87.0)
    write_run(full_study, "width0.45", "paper", 0, 86.0)  # 7.9M and 10.4M bracket the headline's 9.0M
    assert lengths.unequal_costs(lengths.overviews(full_study)) == [
        "At 200 epochs ResNet-20 ×0.45 width (7.90M MACs) costs 12% less than the headline gated model (9.00M): the "
        "Δ there is against a cheaper network; at equal cost, the headline gated model is +1.53 points (seed 0 only) "
        "against the static frontier at its own MACs (interpolated, seed by seed, between the static widths around them)."]
    front = findings.answer_at_a_glance(full_study)  # the README's first screen: the answer, then the table
    assert front.index("**In short:**") < front.index("| model | MACs (M) |") < front.index(lengths.GLANCE_NOTE)
    write_run(full_study, "resnet20", "paper", 1, 92.0)
    write_run(full_study, "resnet20", "paper", 2, 91.5)  # seed 0's 91.00% is now ResNet-20's lowest
    assert "| +0.50 (seed 0 only; 91.50% against ResNet-20's 91.00%, the lowest of its 3 seeds) |" in (
        lengths.glance_markdown(full_study))
    assert findings.answer_at_a_glance(full_study / "nothing") == ""


@pytest.mark.parametrize("attacked, lead", [(15.0, "Yes: an attacker can make the headline gated model spend much more. "
                                                   "At ε = 8/255 an attack on compute raises its mean executed MACs "
                                                   "from 10.00M to 15.00M per image (1.50×, 1 seed;"),
                                            (10.2, "Hardly: the energy attack barely moves the headline gated model's "
                                                   "compute. At ε = 8/255")])
def test_the_attack_on_compute_answers_its_question_first(tmp_path, attacked, lead):
    from common.study import handoff_path

    tables = tmp_path / "tables"
    tables.mkdir()
    pd.DataFrame([{"model": HEADLINE_LABEL, "ε (/255)": eps, "mean MACs clean (M)": 10.0,
                   "mean MACs energy (M)": 10.0 if eps == 0 else attacked, "mean MACs noise (M)": 10.0}
                  for eps in (0, 8)]).set_index("model").to_csv(handoff_path(tables, "energy", profile="paper"))
    pd.DataFrame([{"model": HEADLINE_LABEL, "energy": 16.0, "stealthy": 15.0}]).set_index("model").to_csv(
        handoff_path(tables, "energy_recovered", profile="paper"))
    text = findings.energy.energy_attack(pd.DataFrame(), tmp_path, "paper").text
    assert text.startswith(lead)
    # attacked on a subset of the test images: their clean mean beside the one the other findings give
    energy = pd.read_csv(handoff_path(tables, "energy", profile="paper")).assign(images=1000)
    energy.to_csv(handoff_path(tables, "energy", profile="paper"), index=False)
    over = pd.DataFrame({"macs": [10.2e6], "n": [1]}, index=[HEADLINE_LABEL])
    assert "MACs on 1,000 test images from 10.00M (10.20M over all test images) to " in findings.energy.energy_attack(
        over, tmp_path, "paper").text
    for other in (over.assign(macs=10.0e6), over.assign(n=3)):  # the same mean; other seeds than those attacked
        assert "MACs on 1,000 test images from 10.00M to " in findings.energy.energy_attack(other, tmp_path, "paper").text


def test_how_input_dependent_the_attention_is_at_each_length(tmp_path):
    from common.study import handoff_path
    tables = tmp_path / "tables"
    tables.mkdir()
    assert findings.dynamic._attention_dynamics(tmp_path, "full") == ""  # notebook 02 has not run
    for profile, entropy, diversity, accs in [("full", [0.5, 0.9, 1.0], [2.0, 3.0, 8.0], (87.7, 80.8)),
                                              ("paper", [0.0, 0.3, 0.8], [50.0, 90.0, 280.0], None)]:
        pd.DataFrame({"layer": ["s1.b1.conv1", "s2.b1.conv1", "s3.b1.conv1"], "normalized_entropy": entropy,
                      "spread_over_images": [0.0, 0.01, 0.08], "kernel_diversity": diversity}).to_csv(
            handoff_path(tables, "attention_layers", profile=profile, k=4))
        if accs:
            pd.DataFrame({"per-image attention": [accs[0]], "mean attention": [accs[1]]}, index=["DY K=4"]).to_csv(
                handoff_path(tables, "attention_ablation", profile=profile, k=4))
    text = findings.dynamic._attention_dynamics(tmp_path, "full")
    assert text.startswith("\n- **How input-dependent the attention is** (seed 0; π, the weights that mix a layer's 4 "
                           "kernels for an image; ranges over the 3 dynamic convolutions): π's normalised entropy "
                           "0.50–1.00, median 0.90 (1: the 4 kernels mixed evenly")
    assert "kernel diversity 2.0–8.0 (a kernel's RMS distance from the layer's mean kernel, relative to the mean kernel; " \
           "√3 ≈ 1.73 for independent random kernels); replacing each image's π by its mean over training images " \
           "costs 6.90 points. At 200 epochs: π's normalised entropy 0.00–0.80, median 0.30;" in text
    assert "kernel diversity 50.0–280.0. The recipe's weight decay acts only on the mean of the 4 kernels" in text  # no ablation there
    assert findings.dynamic._attention_dynamics(tmp_path, "paper").split(". At 30 epochs: ")[1].startswith(
        "π's normalised entropy 0.50–1.00, median 0.90; its spread 0.000")
    # with the two sizes the ratio is made of, each length says them
    pd.DataFrame({"layer": ["s1.b1.conv1", "s2.b1.conv1"], "normalized_entropy": [0.0, 0.3],
                  "spread_over_images": [0.0, 0.01], "kernel_diversity": [280.0, 50.0], "kernel_spread": [0.28, 0.1],
                  "mean_kernel_rms": [0.0004, 0.0022]}).to_csv(handoff_path(tables, "attention_layers", profile="paper", k=4))
    assert ("kernel diversity 50.0–280.0 (distance 0.10–0.28, mean kernel 0.0004–0.0022). The recipe's"
            in findings.dynamic._attention_dynamics(tmp_path, "full"))
    assert ("kernel diversity 50.0–280.0 (a kernel's RMS distance from the layer's mean kernel, 0.10–0.28, over the mean "
            "kernel's RMS, 0.0004–0.0022; √3 ≈ 1.73") in findings.dynamic._attention_dynamics(tmp_path, "paper")


def test_the_question_gives_dy_its_parameter_count_where_runs_record_it(full_study):
    over = verdicts.load_overview(full_study, "full")[1]
    assert "(103% of ResNet-20's MACs, equal within 5%; not equal parameters)" in findings.question(over).text
    for path in full_study.glob("*/metrics.json"):  # as training records them
        metrics = json.loads(path.read_text())
        params = {"resnet20": 269_722, "dy_resnet20": 1_079_000}.get(metrics["model"])
        path.write_text(json.dumps(metrics | ({"params": params} if params else {})))
    over = verdicts.load_overview(full_study, "full")[1]
    assert "(103% of ResNet-20's MACs, equal within 5%; 4.0× its parameters)" in findings.question(over).text


def test_the_attack_finding_counts_the_dynamic_families_it_names():
    parts = ["ResNet-20 55.7%", "DY K=4 56.0%", "gated 51.3–55.7%"]
    assert findings.robustness._none_of(parts) == "neither dynamic family is distinguishable"
    assert findings.robustness._none_of(parts + ["CondConv 50.0%"]) == "no dynamic family is distinguishable"
    assert findings.robustness._none_of(parts[:2]) == "dynamic convolution is not distinguishable"


def test_the_glance_note_names_only_the_columns_that_differ_between_lengths():
    same = pd.DataFrame({"MACs (M)": ["40.55"], "compared with": ["–"]})
    assert lengths.glance_note(same) == lengths.GLANCE_NOTE
    macs = pd.DataFrame({"MACs (M)": ["10.19 / 9.09"], "compared with": ["ResNet-20 ×0.5 width"]})
    assert lengths.glance_note(macs).endswith(" MACs that differ between the lengths read \"30 epochs / 200 epochs\".")


def _comparison(name, n, low, high, decided=None):
    row = pd.Series({"d_n": n, "d_mean": (low + high) / 2, "d_ci_low": low, "d_ci_high": high, "d_seeds": ""})
    return findings._Comparison(name, row, "d", "its control", n >= 3 if decided is None else decided)


def test_the_answer_waits_for_every_seed_before_a_gain_and_names_each_group():
    assert findings._answer([_comparison("A", 2, 0.2, 1.0)]) == "No verdict yet"  # above 0, but 2 of 3 seeds
    assert findings._answer([_comparison("A", 3, 0.2, 1.0)]) == "Yes"
    assert findings._answer([_comparison("A", 3, -1, 1), _comparison("B", 3, -1, 0.5), _comparison("C", 1, 0.3, 0.3)]) \
        == "No gain shown for A and B, no verdict yet for C"


def test_how_input_dependent_the_attention_is_at_one_length_and_when_the_mean_does_better(tmp_path):
    from common.study import handoff_path
    (tmp_path / "tables").mkdir()
    pd.DataFrame({"layer": ["s1.b1.conv1", "s2.b1.conv1"], "normalized_entropy": [0.5, 0.5],
                  "spread_over_images": [0.01, 0.02], "kernel_diversity": [2.0, 3.0]}).to_csv(
        handoff_path(tmp_path / "tables", "attention_layers", profile="full", k=4))
    pd.DataFrame({"per-image attention": [80.0], "mean attention": [80.5]}, index=["DY K=4"]).to_csv(
        handoff_path(tmp_path / "tables", "attention_ablation", profile="full", k=4))
    text = findings.dynamic._attention_dynamics(tmp_path, "full")
    assert "π's normalised entropy 0.50, median 0.50" in text  # equal ends: one value
    assert "replacing each image's π by its mean over training images gains 0.50 points." in text and "At 200 epochs" not in text
    assert text.endswith("so nothing limits how far apart they drift.")  # the recipe, whatever the lengths run


def test_paired_attack_text_counts_the_comparisons_and_says_differs():
    from common.attack_results import PAIRED_CI

    delta = "Δ vs ResNet-20 (points)"
    paired = pd.DataFrame({"model": ["ResNet-20", "DY K=4", "gated"], delta: [np.nan, 6.0, 0.7],
                           PAIRED_CI[0]: [np.nan, 0.6, -4.0], PAIRED_CI[1]: [np.nan, 11.4, 5.4]})
    assert findings.robustness.paired_attack_text(paired, 1, 300) == (
        "At ε = 1/255 on 300 images, **DY K=4** is more robust than the ResNet-20 of its seed (95% interval excludes 0), "
        "among 2 comparisons, where one may exclude 0 by chance.")
    both = paired.assign(**{delta: [np.nan, 6.0, -5.0], PAIRED_CI[0]: [np.nan, 0.6, -9.0], PAIRED_CI[1]: [np.nan, 11.4, -1.0]})
    assert findings.robustness.paired_attack_text(both, 1, 300) == (
        "At ε = 1/255 on 300 images, **DY K=4** is more robust and **gated** is less robust than the ResNet-20 of their "
        "seeds (95% intervals exclude 0), among 2 comparisons, where one may exclude 0 by chance.")
    paired.loc[1, PAIRED_CI[0]] = -0.5
    assert findings.robustness.paired_attack_text(paired, 1, 300) == (
        "At ε = 1/255 on 300 images, no model differs from the ResNet-20 of its seed (every 95% interval includes 0, "
        "2 comparisons).")


def test_attention_shift_is_read_against_noise_of_the_same_eps():
    shift = pd.DataFrame({"layer": ["s1.b1.conv1", "s3.b3.conv2"], "entropy clean": [0.9, 0.5],
                          "entropy adversarial": [0.8, 0.4], "mean TV distance": [0.02, 0.10]})
    noise = shift.assign(**{"mean TV distance": [0.01, 0.02]})
    assert findings.robustness.attention_shift_text(shift, noise, "PGD-10", 8, (7.5, 4.0)) == (
        "PGD-10 at ε = 8/255 moves an image's attention by a total-variation distance (0: unchanged, 1: disjoint) of "
        "0.060 on average over the 2 dynamic layers (largest 0.100, s3.b3.conv2); uniform noise in the same ε-ball moves "
        "it by 0.015 (largest 0.020), 4.0× as far as noise, though it moves a pixel by 4.0/255 on average against the "
        "attack's 7.5/255. The attention's normalised entropy, averaged over the layers, is 0.70 on clean and 0.60 on "
        "attacked images.")


def test_label_attacks_on_compute_are_paired_by_image():
    clean = np.array([10e6, 11e6, 9e6, 10e6])
    text = findings.robustness.macs_under_attack_text({"clean": clean, "PGD": clean * 0.99, "STE": clean + [1e5, -1e5, 2e5, -2e5]},
                                           "gated", 40.55e6)
    assert text.startswith("Label attacks do not raise the compute of gated: mean executed MACs 10.00M on clean images, "
                           "PGD 9.90M (-1.0% [")
    assert "STE 10.00M (+0.0% [-" in text  # an interval around 0: not raised
    assert findings.robustness.macs_under_attack_text({"clean": clean, "PGD": clean * 1.05}, "gated", 40.55e6).startswith(
        "Label attacks raise")


def test_baseline_result_places_its_seed_among_the_others():
    from common.paths import RESULTS_DIR
    from common.runs import load_metrics

    run = next(RESULTS_DIR.glob("resnet20-full-seed0-*"))
    metrics, per_class = load_metrics(run), pd.Series({"cat": 70.0, "dog": 75.0, "ship": 95.0})
    accs = [load_metrics(d)["test_acc"] for d in RESULTS_DIR.glob("resnet20-full-seed*") if (d / "metrics.json").exists()]
    text = findings.baseline.baseline_result(metrics, per_class, RESULTS_DIR)
    assert text.startswith(f"ResNet-20 (seed 0) reaches **{metrics['test_acc']:.2f}% test accuracy**")
    assert f"Over its {len(accs)} seeds ResNet-20 reaches {np.mean(accs):.2f} ± {np.std(accs, ddof=1):.2f}% (mean ± std)" in text
    assert ("this seed the lowest" in text) == (metrics["test_acc"] == min(accs) and len(accs) > 2)
    assert "The hardest classes are cat and dog." in text


def test_input_dependence_gives_each_models_frozen_cost_at_its_frozen_macs():
    d = pd.DataFrame({"model": ["a", "b"], "test acc": [86.0, 85.0], "frozen-gate acc": [36.6, 84.9],
                      "Δ frozen (points)": [-49.4, -0.1], "MACs vs ResNet-20": [0.21, 0.5],
                      "frozen MACs vs ResNet-20": [0.14, 0.5], "live gates conditional (%)": [91.0, 5.0],
                      "MACs spread (%)": [12.2, 1.0]})
    text = findings.gating.input_dependence_text(d, "rule", ["a"])
    assert text.startswith("Measured here on the test images (the selection itself used the training hold-out), a meets")
    assert "- a: 91% of live gates conditional, MACs spread 12.2%; frozen gates give 36.60% (-49.40 points) at 0.14× " \
           "ResNet-20's MACs, against 0.21× with per-image gates;\n- b:" in text
    assert findings.gating.input_dependence_text(d, "rule", []).startswith("**No gated model here meets")


def test_attention_layers_text_glosses_the_readme_words_for_any_k():
    layers = pd.DataFrame({"layer": ["s1.b1.conv1", "s3.b3.conv1"], "normalized_entropy": [0.2, 0.9],
                           "spread_over_images": [0.01, 0.08], "kernel_diversity": [50.0, 3.0]})
    text = findings.dynamic.attention_layers_text(layers, 3)
    assert text.startswith("Over the 2 dynamic convolutions: π's normalised entropy 0.20–0.90, median 0.55 (1: the 3 "
                           "kernels mixed evenly; 0: one kernel)")
    assert "√2 ≈ 1.41 for independent random kernels" in text
    assert text.endswith("weight decay acts only on the mean of the 3 kernels (early on, with π near-uniform, the kernels "
                         "share one gradient, so per-kernel decay alone would act on their differences, shrinking them), so "
                         "nothing limits how far apart they drift.")


def test_compute_and_difficulty_text_reads_within_class_and_guards_missing_groups():
    d = {"macs correct": 10e6, "macs wrong": 10.5e6, "spearman": -0.3, "spearman within class": -0.2,
         "wrong over correct within class": 0.03, "classes wrong costlier": 9, "classes compared": 10}
    text = findings.gating.compute_and_difficulty_text(d)
    assert text.startswith("Mean executed MACs: 10.00M on correctly classified images, 10.50M on wrongly classified "
                           "ones (+5.0%); Spearman correlation of MACs with confidence -0.30.")
    assert "execute 3.0% more MACs than the correctly classified ones (more in 9 of 10 classes)" in text
    assert "nan" not in findings.gating.compute_and_difficulty_text({**d, "wrong over correct within class": float("nan")})
    assert findings.gating.compute_and_difficulty_text({**d, "macs wrong": float("nan")}) == \
        "Spearman correlation of MACs with confidence -0.30."


def test_notebook_05_shows_each_section_the_finding_of_its_topic():
    """Notebook 05's sections take their findings from the one list the README prints
    (``findings.about``), by the topic each finding's module names."""
    found = findings.findings()
    topics = [findings.dynamic.ACCURACY, findings.dynamic.ATTENTION, findings.gating.MACS,
              findings.gating.CHANNELS, findings.robustness.ATTACKS, findings.energy.COMPUTE]
    assert [findings.about(found, topic) for topic in topics] == [f for f in found if f.topic in topics]
    assert findings.about(found, "a question nobody asked") is None
    source = json.loads((REPO_ROOT / "notebooks" / "05_report.ipynb").read_text())
    code = "\n".join("".join(cell["source"]) for cell in source["cells"] if cell["cell_type"] == "code")
    for name in ("dynamic.ACCURACY", "dynamic.ATTENTION", "gating.MACS", "gating.CHANNELS", "robustness.ATTACKS",
                 "energy.COMPUTE"):
        assert f"findings.about(found, findings.{name})" in code


def test_the_cap_the_finding_quotes_bounds_the_attack_within_the_worst_case_of_the_uncapped_mean(tmp_path):
    """The finding quotes the loosest cap whose attacked maximum stays within CAP_WORST_CASE × the
    uncapped mean MACs (10.0M here), not × a capped model's clean mean, which a cap lowers."""
    from common.study import handoff_path
    tables = tmp_path / "tables"
    tables.mkdir()
    pd.DataFrame([{"model": HEADLINE_LABEL, "ε (/255)": eps, "mean MACs clean (M)": 10.0,
                   "mean MACs energy (M)": 10.0 if eps == 0 else 15.0, "mean MACs noise (M)": 10.0}
                  for eps in (0, 8)]).set_index("model").to_csv(handoff_path(tables, "energy", profile="full"))
    pd.DataFrame([{"model": HEADLINE_LABEL, "energy": 16.0, "stealthy": 15.0}]).set_index("model").to_csv(
        handoff_path(tables, "energy_recovered", profile="full"))
    # 12.45M is within 1.25 × 10.0M, but not within 1.25 × 9.9M (the clean mean under the 1.25× cap)
    pd.DataFrame({"cap (× mean MACs)": [1.0, 1.25], "cap (M)": [10.0, 12.5], "clean MACs (M)": [9.6, 9.9],
                  "attacked max (M)": [9.99, 12.45], "Δ acc vs uncapped": [-1.0, -0.2],
                  "capped − static": float("nan")}).to_csv(handoff_path(tables, "mac_cap", profile="full"), index=False)
    assert verdicts.CAP_WORST_CASE == 1.25
    over = pd.DataFrame({"macs": [10.25e6, 40.55e6]}, index=["ResNet-20 ×0.5 width", "ResNet-20"])
    text = findings.energy.energy_attack(over, tmp_path, "full").text
    assert "capped at 1.25× the gated model's mean MACs over all test images (12.50M)" in text
