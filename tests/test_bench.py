"""The benchmark's bookkeeping (not its timings: speed claims live in results/benchmarks/)."""

import pytest

from common.bench import compare_throughput
from common.benchmarks import load, ratio_table, vs_reference, write
from common.train import images_per_second


def test_rows_and_ratios():
    result = compare_throughput({"base": ("resnet20", {}), "dy": ("dy_resnet20", {"num_kernels": 2})},
                                ("fp32",), "base", device="cpu", min_seconds=0.01, rounds=2)
    rows = result["rows"]
    assert all(len(r["rounds_images_per_s"]) == 2 for r in rows)
    assert len(rows) == 6 and {r["mode"] for r in rows} == {"train", "infer"}
    assert all(r["images_per_s"] > 0 for r in rows)
    assert "git_commit" in result["provenance"]


def test_ratio_is_the_median_of_same_round_ratios(monkeypatch):
    """Speeds drift between rounds: each round's ratio uses that round's reference, and the row
    reports their median, not the ratio of the medians."""
    import common.bench

    rounds = {("base", "train"): iter([100.0, 50.0, 200.0]), ("dy", "train"): iter([60.0, 20.0, 100.0])}

    def fake_speed(model, batch, precision, mode, dev, min_seconds):
        kind = "dy" if hasattr(model.stages[0][0].conv1, "num_kernels") else "base"
        return next(rounds[kind, mode]) if mode == "train" else 10.0

    monkeypatch.setattr(common.bench, "images_per_second", fake_speed)
    result = compare_throughput({"base": ("resnet20", {}), "dy": ("dy_resnet20", {"num_kernels": 2})},
                                ("fp32",), "base", device="cpu", rounds=3)
    row = next(r for r in result["rows"] if r["model"] == "dy" and r["mode"] == "train")
    assert row["rounds_images_per_s"] == [60.0, 20.0, 100.0]
    assert row["vs_reference"] == 0.5  # median of 0.6, 0.4, 0.5; medians' ratio would be 0.6
    assert row["images_per_s"] == 60.0


def test_bad_mode():
    import torch
    from common.models import build_model
    with pytest.raises(ValueError, match="mode"):
        images_per_second(build_model("resnet20"), 1, "fp32", "backward", torch.device("cpu"))


def test_ratio_table_and_load(tmp_path):
    rows = [{"model": m, "mode": mode, "batch_size": b, "precision": "fp32", "vs_reference": r}
            for m, r in (("base", 1.0), ("dy", 0.5)) for mode, b in (("train", 128), ("infer", 1))]
    write({"reference": "base", "rows": rows}, "toy", tmp_path)
    table = ratio_table(load("toy", tmp_path))
    assert list(table.index) == ["base", "dy"]
    assert list(table.columns) == ["train, batch 128 (fp32)", "infer, batch 1 (fp32)"]
    assert table.loc["dy", "infer, batch 1 (fp32)"] == 0.5
    assert vs_reference(load("toy", tmp_path), "dy", "train", 128) == 0.5
    with pytest.raises(KeyError, match="models"):
        vs_reference(load("toy", tmp_path), "dy", "train", 1)
    with pytest.raises(FileNotFoundError, match="make bench"):
        load("missing", tmp_path)


def test_benchmark_rows_are_named_as_the_report_names_models():
    from common.names import throughput_label

    assert throughput_label("resnet20") == "ResNet-20"
    assert throughput_label("dy_resnet20 K=4 aggregate") == "DY K=4, kernels mixed per image"
    assert throughput_label("dy_resnet20 K=2 dense") == "DY K=2, K convolutions, outputs mixed"
    assert throughput_label("base") == "base"


def test_trainer_benchmark_times_the_real_loop():
    from common.bench import trainer_speed

    result = trainer_speed("cpu", steps=2, rounds=1, models={"ResNet-20": ("resnet20", {})},
                           compiled=False)
    host, device = result["rows"]  # the loop before issue 17 beside today's, in the same rounds
    assert (host["loop"], device["loop"]) == ("host", "device") and not device["compiled"]
    assert all(len(r["rounds"]) == 1 and r["seconds_per_epoch"] > 0 for r in result["rows"])
    assert device["time_vs_device_eager"] == 1.0
    assert result["steps_timed"] == 2 and "git_commit" in result["provenance"]


def test_compile_decisions_follow_the_measured_speedup(tmp_path):
    """A family compiles on a machine only where its compiled step was >= MIN_COMPILE_GAIN x as
    fast; machines are kept apart by name and precision, and a new measurement adds to the file."""
    from common.benchmarks import record_compile_decisions
    from common.config import compile_decisions

    def result(device, precision, times):
        return {"device": device, "provenance": {"date": "today"}, "rows": [
            {"model": label, "model_name": name, "compiled": True, "precision": precision,
             "time_vs_device_eager": t, "compile_seconds": 80.0} for (label, name), t in times]}

    path = tmp_path / "compile_cpu.json"
    record_compile_decisions(result("CPU A (1 threads)", "bf16", [
        (("ResNet-20", "resnet20"), 0.8), (("DY K=4", "dy_resnet20"), 2.2),
        (("gated", "gated_resnet20"), 0.95)]), path)
    record_compile_decisions(result("CPU A (1 threads)", "fp32", [(("ResNet-20", "resnet20"), 1.0)]), path)
    decisions = compile_decisions(path)
    bf16 = decisions["CPU A (1 threads), bf16"]
    assert bf16["resnet20"]["compile"] and bf16["resnet20"]["speedup"] == 1.25
    assert not bf16["dy_resnet20"]["compile"] and not bf16["gated_resnet20"]["compile"]  # 1.05x
    assert not decisions["CPU A (1 threads), fp32"]["resnet20"]["compile"]


def test_runs_per_device_is_the_fewest_runs_near_the_best_aggregate():
    from common.benchmarks import runs_per_device

    rows = [{"runs": 1, "aggregate_images_per_s": 100.0}, {"runs": 2, "aggregate_images_per_s": 190.0},
            {"runs": 4, "aggregate_images_per_s": 400.0}, {"runs": 8, "aggregate_images_per_s": 410.0}]
    assert runs_per_device({"rows": rows}) == 4  # 8 adds 2.5%: not worth twice the runs
    assert runs_per_device({"rows": rows[:2]}) == 2
    assert runs_per_device({"rows": [{"runs": 1, "aggregate_images_per_s": 100.0},
                                     {"runs": 2, "aggregate_images_per_s": 95.0}]}) == 1


def test_concurrency_benchmark_runs_processes_side_by_side():
    from common.bench import concurrency

    result = concurrency("cpu", counts=(1, 2), steps=2)
    assert [row["runs"] for row in result["rows"]] == [1, 2]
    assert len(result["rows"][1]["seconds_per_epoch_each"]) == 2
    assert result["rows"][0]["vs_one_run"] == 1.0 and result["runs_per_device"] in (1, 2)
    assert result["compiled"] is False  # the CPU trainer runs eager


def test_gating_inference_times_the_static_control_beside_the_gated_model():
    import torch

    from common.bench import gating_inference
    from common.manifest import CONTROL_LABEL
    from common.models import build_model

    images = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    result = gating_inference(build_model("gated_resnet20", l0_weight=0.5), images, rounds=1, widths=(0.5,))
    rows = {row["way"]: row for row in result["rows"]}
    assert list(rows) == ["ResNet-20", "gated, all channels computed", "gated, active channels only", CONTROL_LABEL]
    assert rows["ResNet-20"]["speed_vs_resnet20"] == 1.0
    assert rows[CONTROL_LABEL]["macs_vs_resnet20"] == pytest.approx(0.25, abs=0.01)  # ×0.5 width: a quarter
