"""Sweeps through submitit, on a tiny grid: the debug executor (in process) and the local one
(real subprocesses, as on one machine without a cluster)."""

import pytest

import common.train
from common import manifest, sweep
from common.data import load_cifar10
from common.runs import finished_run


def test_run_names_parse_like_the_makefiles():
    assert manifest.parse_run("resnet20") == ("resnet20", {})
    assert manifest.parse_run("dy4") == ("dy_resnet20", {"num_kernels": 4})
    assert manifest.parse_run("gated0.5") == ("gated_resnet20", {"l0_weight": 0.5})
    assert manifest.parse_run("width0.81") == ("resnet20", {"width": 0.81})
    assert manifest.parse_run('gated_resnet20:{"l0_weight": 1.0, "bs_until": null}') == (
        "gated_resnet20", {"l0_weight": 1.0, "bs_until": None})
    with pytest.raises(ValueError, match="unknown run"):
        manifest.parse_run("vgg16")
    configs = sweep.grid(["resnet20", "dy2"], [0, 1, 2], "smoke")
    assert [(c.model, c.seed) for c in configs] == [("resnet20", s) for s in range(3)] + [
        ("dy_resnet20", s) for s in range(3)]


class Counting:
    """An executor that counts what is submitted to it."""

    def __init__(self, executor):
        self.executor, self.cluster, self.submitted = executor, executor.cluster, 0

    def submit(self, *args):
        self.submitted += 1
        return self.executor.submit(*args)


@pytest.mark.parametrize("cluster", ["debug", "local"])
def test_sweep_trains_each_run_once_and_skips_finished_ones(cluster, tiny_folder, tmp_path, monkeypatch):
    monkeypatch.setitem(common.train.PROFILES, "smoke", dict(epochs=1, train_size=32))
    configs = sweep.grid(["resnet20", "width0.5"], [0], "smoke", batch_size=16, precision="fp32")
    executor = Counting(sweep.make_executor(cluster, tmp_path / "logs", timeout_min=10))
    results = tmp_path / "results"
    done = sweep.sweep(configs, str(tiny_folder), executor, parallel=2, results_dir=results,
                       device="cpu", threads=1, poll_s=0.5)
    data = load_cifar10(tiny_folder)
    assert sorted(done) == sorted(str(finished_run(c, data.source, results)) for c in configs)
    assert executor.submitted == 2
    again = Counting(sweep.make_executor(cluster, tmp_path / "logs", timeout_min=10))
    assert sorted(sweep.sweep(configs, str(tiny_folder), again, parallel=2, results_dir=results,
                              device="cpu")) == sorted(done)
    assert again.submitted == 0  # finished runs are not submitted again


def test_local_jobs_share_the_gpus_round_robin(tiny_folder, monkeypatch, tmp_path):
    """submitit's local executor would hide the GPU from a job that asks for none."""
    class Done:
        def __init__(self, path):
            self.path = path

        def done(self):
            return True

        def result(self):
            return self.path

    class FakeLocal:
        cluster = "local"

        def __init__(self):
            self.gpus = []

        def update_parameters(self, **params):
            self.gpus.append(params["visible_gpus"])

        def submit(self, job, config, *args):
            return Done(f"{config.model}-{config.seed}")

    monkeypatch.setattr(sweep, "torch_gpus", lambda: 2)
    executor = FakeLocal()
    sweep.sweep(sweep.grid(["resnet20"], [0, 1, 2], "smoke"), str(tiny_folder), executor, parallel=3,
                results_dir=tmp_path, poll_s=0)
    assert executor.gpus == [(0,), (1,), (0,)]


def test_parallel_runs_follow_the_cores_or_the_gpu_measurement(monkeypatch, tmp_path):
    import json

    import torch

    import common.bench

    monkeypatch.setattr(sweep.os, "cpu_count", lambda: 8)
    assert sweep.parallel_runs("cpu", threads=2) == 4
    rows = [{"runs": 1, "aggregate_images_per_s": 100.0}, {"runs": 4, "aggregate_images_per_s": 410.0},
            {"runs": 8, "aggregate_images_per_s": 420.0}]
    (tmp_path / "concurrency_cuda.json").write_text(json.dumps({"device": "Fake GPU", "rows": rows}))
    monkeypatch.setattr(sweep, "resolve_device", lambda device: torch.device("cuda"))
    monkeypatch.setattr(common.bench, "device_name", lambda dev: "Fake GPU")
    assert sweep.parallel_runs("cuda", bench_dir=tmp_path) == 4
    monkeypatch.setattr(sweep, "torch_gpus", lambda: 2)
    assert sweep.parallel_runs("cuda", bench_dir=tmp_path) == 8  # the rule is per GPU
    monkeypatch.setattr(sweep, "torch_gpus", lambda: 1)
    monkeypatch.setattr(common.bench, "device_name", lambda dev: "Another GPU")
    monkeypatch.setattr(common.bench, "concurrency", lambda device: {"device": "Another GPU", "rows": rows[:1]})
    assert sweep.parallel_runs("cuda", bench_dir=tmp_path) == 1  # measured anew for another GPU
    assert json.loads((tmp_path / "concurrency_cuda.json").read_text())["device"] == "Another GPU"


def test_the_queue_status_estimates_hours_left_from_the_speed_on_this_device(tmp_path, monkeypatch):
    import json

    import pandas as pd

    monkeypatch.setattr(manifest, "QUEUES", {**manifest.QUEUES, "paper": [("dy4", 0), ("dy4", 1), ("resnet20", 0)]})

    def write(seed, devices):
        folder = tmp_path / f"dy_resnet20_num_kernels4-paper-seed{seed}-0000"
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps({"epochs": 200}))
        pd.DataFrame({"epoch": range(1, len(devices) + 1), "test_acc": 50.0, "device": devices,
                      "seconds": [10.0 if d == "GPU" else 150.0 for d in devices]}).to_csv(
            folder / "history.csv", index=False)

    write(0, ["CPU X (1 threads)"] * 80)  # trained here: 120 epochs left at 150 s
    write(1, ["GPU"] * 40)  # trained elsewhere only: estimated at seed 0's speed here
    table = sweep.queue_status("paper", tmp_path, device="CPU X").set_index("run")
    assert table.loc["dy_resnet20_num_kernels4-paper-seed0-0000", "hours left"] == 5.0
    assert table.loc["dy_resnet20_num_kernels4-paper-seed1-0000", "s/epoch"] != table.loc[
        "dy_resnet20_num_kernels4-paper-seed1-0000", "s/epoch"]  # none measured here (NaN)
    assert table.loc["dy_resnet20_num_kernels4-paper-seed1-0000", "hours left"] == round(160 * 150 / 3600, 1)
    assert table.loc["resnet20-paper-seed0", "state"] == "not started"
    assert pd.isna(table.loc["resnet20-paper-seed0", "hours left"])  # no resnet20 speed here at all
