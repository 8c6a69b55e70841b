import json
import subprocess
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from common.data import load_cifar10, to_float
from common.flops import count_params
from common.models import build_model
from common.runs import load_history, load_metrics, load_model, run_name, training_lock
from common.config import PROFILES, TrainConfig, resolve_precision
from common.train import lr_at, make_optimizer, train

REQUIRED_METRICS = {"model", "profile", "epochs", "seed", "data_source", "params", "macs",
                    "train_acc", "test_acc"}


@pytest.fixture(scope="module")
def tiny_data(tiny_folder, tmp_path_factory):
    return load_cifar10(tiny_folder, cache_dir=tmp_path_factory.mktemp("cache"))


def tiny_config(**overrides) -> TrainConfig:
    return TrainConfig(**{"epochs": 2, "train_size": 48, "batch_size": 16, "lr": 0.05,
                          "precision": "fp32", **overrides})


def test_lr_schedule_warms_up_then_decays():
    lrs = [lr_at(s, 100, 10, 0.1) for s in range(100)]
    assert lrs[0] == pytest.approx(0.01) and lrs[9] == pytest.approx(0.1)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:]))
    assert lrs[-1] < 1e-3
    assert lr_at(55, 100, 10, 0.1) == pytest.approx(0.05)  # half-way through the cosine


def test_config_validation():
    with pytest.raises(ValueError, match="unknown profile 'fast'"):
        TrainConfig.from_profile("fast")
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="label_smoothing"):
        TrainConfig(label_smoothing=1.5)
    with pytest.raises(ValueError, match="precision"):
        TrainConfig(precision="fp8")
    assert TrainConfig.from_profile("full").epochs == PROFILES["full"]["epochs"] == 30
    assert TrainConfig.from_profile("full").train_size is None


def test_precision_resolution(monkeypatch):
    import common.config

    cpu = torch.device("cpu")
    for native, expected in ((True, "bf16"), (False, "fp32")):
        monkeypatch.setattr(common.config, "has_fast_bf16", lambda device, native=native: native)
        assert resolve_precision("auto", cpu) == expected
        assert resolve_precision("fp32", cpu) == "fp32" and resolve_precision("bf16", cpu) == "bf16"


def test_weight_decay_skips_batchnorm_and_biases():
    model = build_model("resnet20")
    decay, no_decay = make_optimizer(model, TrainConfig()).param_groups
    assert decay["weight_decay"] == 5e-4 and no_decay["weight_decay"] == 0
    assert all(p.ndim > 1 for p in decay["params"]) and all(p.ndim == 1 for p in no_decay["params"])
    assert len(decay["params"]) == 20  # 19 convolutions and the classifier


def test_dynamic_convolution_decays_its_own_parameters():
    model = build_model("dy_resnet20", num_kernels=4)
    decay, no_decay = make_optimizer(model, TrainConfig()).param_groups
    # the stem and the classifier; kernel banks and attention FCs decay themselves
    assert len(decay["params"]) == 2
    assert sum(p.numel() for g in (decay, no_decay) for p in g["params"]) == count_params(model)


def test_a_few_steps_lower_the_loss(tiny_data):
    torch.manual_seed(0)
    model = build_model("resnet20")
    optimizer = make_optimizer(model, TrainConfig(lr=0.05))
    x, y = to_float(tiny_data.train_images[:32]), tiny_data.train_labels[:32]
    losses = []
    for _ in range(8):
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_run_writes_results_and_is_reused(tiny_data, tmp_path):
    run_dir = train(tiny_config(), tiny_data, tmp_path, progress=False)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert REQUIRED_METRICS <= metrics.keys()
    assert metrics["params"] == 269_722 and metrics["epochs"] == 2
    assert metrics["data_source"]["fingerprint"] == tiny_data.source["fingerprint"]
    assert 0 <= metrics["test_acc"] <= 100
    history = load_history(run_dir)
    assert list(history["epoch"]) == [1, 2]
    assert {"train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds"} <= set(history)
    model = load_model(run_dir)
    assert not model.training
    # config.json records every model setting in force, defaults included
    record = json.loads((run_dir / "config.json").read_text())
    assert record["model_settings"] == {"width": 1.0, "num_classes": 10}
    assert not Path(record["data_source"]["path"]).is_absolute()

    stamp = (run_dir / "metrics.json").stat().st_mtime_ns
    assert train(tiny_config(), tiny_data, tmp_path, progress=False) == run_dir
    assert (run_dir / "metrics.json").stat().st_mtime_ns == stamp  # reused, not retrained
    train(tiny_config(), tiny_data, tmp_path, retrain=True, progress=False)
    assert (run_dir / "metrics.json").stat().st_mtime_ns != stamp


@pytest.mark.parametrize("first_epoch_device", [None, "Lent GPU"])
def test_resumed_run_records_the_epochs_of_each_device(tiny_data, tmp_path, first_epoch_device):
    # A run begun elsewhere (a lent GPU) or by older code (no device column) and finished here.
    run_dir = train(tiny_config(), tiny_data, tmp_path, stop_after=1, progress=False)
    ckpt_path = run_dir / "checkpoints" / "last.pt"
    ckpt = torch.load(ckpt_path, weights_only=False)
    here = f"{ckpt['history'][0]['device']}, {ckpt['history'][0]['precision']}"
    del ckpt["history"][0]["device"], ckpt["history"][0]["precision"]
    if first_epoch_device:
        ckpt["history"][0].update(device=first_epoch_device, precision="bf16")
    torch.save(ckpt, ckpt_path)
    train(tiny_config(), tiny_data, tmp_path, progress=False)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    expected = {here: 2} if first_epoch_device is None else {"Lent GPU, bf16": 1, here: 1}
    assert metrics["epochs_per_device"] == expected
    history = load_history(run_dir)  # rows with and without the column share one CSV
    assert history["device"].notna().tolist() == [first_epoch_device is not None, True]


def test_interrupted_run_resumes_to_identical_weights(tiny_data, tmp_path):
    straight = train(tiny_config(epochs=3), tiny_data, tmp_path / "a", progress=False)
    resumed_dir = train(tiny_config(epochs=3), tiny_data, tmp_path / "b", stop_after=1,
                        progress=False)
    assert not (resumed_dir / "metrics.json").exists()
    assert (resumed_dir / "checkpoints" / "last.pt").exists()
    assert len(load_history(resumed_dir)) == 1
    train(tiny_config(epochs=3), tiny_data, tmp_path / "b", stop_after=1, progress=False)
    assert len(load_history(resumed_dir)) == 2
    train(tiny_config(epochs=3), tiny_data, tmp_path / "b", progress=False)
    a = torch.load(straight / "model.pt", weights_only=True)
    b = torch.load(resumed_dir / "model.pt", weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert load_history(straight)["train_loss"].tolist() == \
        load_history(resumed_dir)["train_loss"].tolist()
    # each process records its first step's time (a compiled step's compile time) once
    speed = load_history(resumed_dir)[["train_images_per_s", "compiled", "first_step_seconds"]]
    assert (speed["train_images_per_s"] > 0).all() and not speed["compiled"].any()
    assert speed["first_step_seconds"].notna().tolist() == [True, True, True]
    assert load_history(straight)["first_step_seconds"].notna().tolist() == [True, False, False]
    assert not (resumed_dir / "checkpoints" / "last.pt").exists()  # finished: not committed


def test_git_keeps_an_unfinished_runs_checkpoint_visible_and_ignores_its_lock():
    # The workspace carries only git-visible files between sessions; an ignored checkpoint
    # would lose a multi-session run's progress.
    repo = Path(__file__).resolve().parents[1]
    if not (repo / ".git").exists():
        pytest.skip("not a git checkout")

    def ignored(path):
        return subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=repo).returncode == 0

    run = "results/resnet20-full-seed9-0000000/checkpoints"
    assert not ignored(f"{run}/last.pt")
    assert ignored(f"{run}/train.lock") and ignored(f"{run}/last.pt.tmp")


def test_status_lists_progress_of_every_run(tiny_data, tmp_path):
    from common.runs import run_status

    assert run_status(tmp_path).empty
    run_dir = train(tiny_config(epochs=2), tiny_data, tmp_path, stop_after=1, progress=False)
    row = run_status(tmp_path).iloc[0]
    assert (row["run"], row["epochs"], row["state"]) == (run_dir.name, "1/2", "stopped, resumable")
    with training_lock(run_dir):
        assert run_status(tmp_path).iloc[0]["state"] == "training"
    train(tiny_config(epochs=2), tiny_data, tmp_path, progress=False)
    row = run_status(tmp_path).iloc[0]
    assert (row["epochs"], row["state"]) == ("2/2", "finished")
    assert row["last acc (%)"] == pytest.approx(load_metrics(run_dir)["test_acc"], abs=0.01)


def test_a_run_being_trained_cannot_be_trained_twice(tiny_data, tmp_path):
    run_dir = train(tiny_config(), tiny_data, tmp_path, stop_after=1, progress=False)
    with training_lock(run_dir):  # as if another process (a second `make train-all`) held it
        with pytest.raises(RuntimeError, match="already being trained .*pid"):
            train(tiny_config(), tiny_data, tmp_path, progress=False)
        with pytest.raises(RuntimeError, match="already being trained"):
            train(tiny_config(), tiny_data, tmp_path, retrain=True, progress=False)
        assert len(load_history(run_dir)) == 1  # nothing touched
    train(tiny_config(), tiny_data, tmp_path, progress=False)  # released: resumes and finishes
    assert len(load_history(run_dir)) == 2 and (run_dir / "metrics.json").exists()


def test_corrupt_checkpoint_names_the_fix(tiny_data, tmp_path):
    run_dir = train(tiny_config(), tiny_data, tmp_path, stop_after=1, progress=False)
    (run_dir / "checkpoints" / "last.pt").write_bytes(b"truncated")
    with pytest.raises(RuntimeError, match="corrupt.*delete it"):
        train(tiny_config(), tiny_data, tmp_path, progress=False)


def test_run_name_identifies_configuration_and_data(tiny_data):
    base = run_name(tiny_config(), tiny_data.source)
    assert base.startswith("resnet20-smoke-seed0-")
    assert base == run_name(tiny_config(), tiny_data.source)
    assert base != run_name(tiny_config(seed=1), tiny_data.source)
    assert base != run_name(tiny_config(), {**tiny_data.source, "fingerprint": "sha256:other"})
    assert "_num_kernels4" in run_name(tiny_config(model="dy_resnet20", model_kwargs={"num_kernels": 4}),
                                        tiny_data.source)


def test_train_size_larger_than_data_is_an_error(tiny_data, tmp_path):
    with pytest.raises(ValueError, match="exceeds the 60 training images"):
        train(tiny_config(train_size=2000), tiny_data, tmp_path, progress=False)


def test_committed_runs_keep_their_identity():
    """A change to TrainConfig or run_name must not orphan the committed results."""
    import dataclasses

    from common.paths import RESULTS_DIR
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    for config_path in RESULTS_DIR.glob("*/config.json"):
        record = json.loads(config_path.read_text())
        config = TrainConfig(**{k: v for k, v in record.items() if k in fields})
        assert run_name(config, record["data_source"]) == config_path.parent.name


def test_gated_run_records_how_conditional_its_gates_are(tiny_data, tmp_path):
    config = tiny_config(model="gated_resnet20", model_kwargs={"l0_weight": 0.5, "bs_until": None},
                         epochs=1)
    run_dir = train(config, tiny_data, tmp_path, progress=False)
    history = load_history(run_dir)
    kinds = history[["test_gates_always_on", "test_gates_conditional", "test_gates_always_off"]]
    assert (kinds.sum(axis=1).round(6) == 1).all()
    assert {"l0_loss", "batch_shaping_loss", "test_macs_mean", "test_macs_cv",
            "test_live_conditional"} <= set(history)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["macs_mean"] == pytest.approx(metrics["avg_executed_macs"])
    settings = json.loads((run_dir / "config.json").read_text())["model_settings"]
    assert settings["bs_until"] is None and settings["l0_start"] == 0.2 and settings["l0_cost"] == "uniform"


def test_dynamic_model_trains_anneals_and_resumes(tiny_data, tmp_path):
    config = tiny_config(model="dy_resnet20", model_kwargs={"num_kernels": 2}, epochs=3,
                         train_size=32)
    straight = train(config, tiny_data, tmp_path / "a", progress=False)
    train(config, tiny_data, tmp_path / "b", stop_after=2, progress=False)
    resumed = train(config, tiny_data, tmp_path / "b", progress=False)
    a = torch.load(straight / "model.pt", weights_only=True)
    b = torch.load(resumed / "model.pt", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)
    # 2 steps per epoch: the last step is at epoch 2.5 of the 30 -> 1 over 10 epochs schedule
    temperature = a["stages.0.0.conv1.temperature"].item()
    assert temperature == pytest.approx(30 - 29 * 2.5 / 10)
    assert load_model(straight).stages[0][0].conv1.temperature.item() == pytest.approx(temperature)


def test_a_long_run_says_what_it_costs_before_it_starts(tiny_data, tmp_path):
    from common.train import training_notice

    other = tmp_path / "resnet20-full-seed0-00000000"
    other.mkdir()
    (other / "config.json").write_text("{}")
    (other / "metrics.json").write_text(json.dumps(
        {"data_source": {"name": "cifar10-jpeg.tar.gz (image folder)", "fingerprint": "sha256:x"}}))
    config = TrainConfig.from_profile("full", model="resnet20", train_size=48, batch_size=16)
    notice = training_notice(config, tiny_data, tmp_path, torch.device("cpu"))
    assert "30 epochs on 48 images" in notice and " h on " in notice and "images/s" in notice
    assert "cifar10-jpeg.tar.gz (image folder)" in notice and 'profile = "smoke"' in notice
    assert training_notice(tiny_config(profile="smoke"), tiny_data, tmp_path,
                           torch.device("cpu")) is None


def _reference_weights(config, data):
    """The weights of the training loop as it was before the device-resident rewrite
    (``common.bench.host_synced_epoch``: batches indexed on the CPU, a host sync per step)."""
    from common.bench import host_synced_epoch
    from common.train import Schedule, split_training_data, to_device

    train_x, train_y, _, _ = split_training_data(data, config)
    torch.manual_seed(config.seed)
    model = to_device(build_model(config.model, **config.model_kwargs), torch.device("cpu"))
    optimizer = make_optimizer(model, config)
    criterion = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    steps = len(train_y) // config.batch_size
    schedule = Schedule(steps, steps * config.epochs, round(config.warmup_epochs * steps), True)
    for epoch in range(config.epochs):
        host_synced_epoch(model, optimizer, criterion, train_x, train_y, config, epoch, schedule,
                          torch.device("cpu"), "fp32")
    return model.state_dict()


@pytest.mark.parametrize("model, kwargs", [("resnet20", {}), ("dy_resnet20", {"num_kernels": 2}),
                                           ("gated_resnet20", {"l0_weight": 0.5})])
def test_device_resident_trainer_gives_bit_identical_weights_on_the_cpu(tiny_data, tmp_path, model,
                                                                        kwargs):
    config = tiny_config(model=model, model_kwargs=kwargs)
    expected = _reference_weights(config, tiny_data)
    got = load_model(train(config, tiny_data, tmp_path, device="cpu", progress=False)).state_dict()
    assert got.keys() == expected.keys()
    assert all(torch.equal(got[k], expected[k]) for k in expected), "weights differ"


@pytest.mark.parametrize("model, kwargs", [("resnet20", {}), ("dy_resnet20", {"num_kernels": 2}),
                                           ("gated_resnet20", {"l0_weight": 0.5, "l0_cost": "macs"})])
def test_training_steps_never_read_a_value_from_the_device(model, kwargs):
    """The whole epoch (indexing, augmentation, schedules, forward, gating losses, backward, step)
    runs on the meta device, which holds shapes but no values: any host read (.item(), bool(),
    .cpu().numpy(), as scipy's Beta CDF once needed) raises there, so a step that would make a GPU
    wait for the host fails this test."""
    from common.train import Schedule, fit_epoch, to_device

    config = tiny_config(model=model, model_kwargs=kwargs, epochs=1)
    meta = torch.device("meta")
    net = to_device(build_model(model, **kwargs), meta)
    images = torch.empty(48, 3, 32, 32, dtype=torch.uint8, device=meta)
    labels = torch.empty(48, dtype=torch.int64, device=meta)
    sums = fit_epoch(net, make_optimizer(net, config), nn.CrossEntropyLoss(label_smoothing=0.1),
                     images, labels, config, 0, Schedule(3, 3, 1, True), meta, "fp32")
    assert sums.pop("seen") == 48
    assert {"loss", "correct"} <= sums.keys() and all(v.is_meta for v in sums.values())
    assert ("batch_shaping" in sums) == (model == "gated_resnet20")


def test_compile_is_on_for_cuda_only_unless_asked():
    from common.config import resolve_compile

    assert resolve_compile("auto", torch.device("cuda")) and not resolve_compile("auto", torch.device("cpu"))
    assert resolve_compile("on", torch.device("cpu")) and not resolve_compile("off", torch.device("cuda"))
    with pytest.raises(ValueError, match="compile"):
        resolve_compile("yes", torch.device("cpu"))


def test_compile_auto_on_the_cpu_follows_the_measured_decision():
    """On the CPU, auto compiles a family only where it was measured to pay on this machine at
    this precision, and only for paper runs (full runs stay eager, bit for bit as committed)."""
    from common.config import device_name, resolve_compile

    cpu = torch.device("cpu")
    decisions = {f"{device_name(cpu)}, bf16": {"resnet20": {"compile": True},
                                                "dy_resnet20": {"compile": False}}}
    auto = lambda model, profile="paper", precision="bf16": resolve_compile(  # noqa: E731
        "auto", cpu, model, profile, precision, decisions)
    assert auto("resnet20") and not auto("dy_resnet20")
    assert not auto("gated_resnet20")  # never measured here: eager
    assert not auto("resnet20", profile="full") and not auto("resnet20", precision="fp32")
    assert not resolve_compile("auto", cpu, "resnet20", "paper", "bf16", decisions={})


@pytest.mark.parametrize("model, kwargs", [("dy_resnet20", {"num_kernels": 2}),
                                           ("gated_resnet20", {"l0_weight": 0.5})])
def test_compiled_step_compiles_once_per_run_and_trains_the_same_weights(tiny_data, tmp_path, monkeypatch,
                                                                         model, kwargs):
    """The learning rate, DY's temperature and the gates' noise change every step; none of them may
    force a recompilation (2 epochs of 3 steps compile exactly the graphs that one step does), and
    the compiled step computes what the eager one does. A backend that runs dynamo's graphs as they are
    stands in for inductor / CUDA graphs, which need a GPU or a C++ toolchain."""
    import torch._dynamo

    import common.train

    graphs = []

    def counting_backend(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    real = common.train.compile_for_training
    monkeypatch.setattr(common.train, "compile_for_training",
                        lambda m, dev: real(m, dev, backend=counting_backend))
    counts = {}
    for steps, epochs in [(1, 1), (3, 2)]:
        torch._dynamo.reset()
        graphs.clear()
        config = tiny_config(model=model, model_kwargs=kwargs, epochs=epochs, train_size=16 * steps)
        compiled = train(config, tiny_data, tmp_path / "compiled", device="cpu", progress=False, compile="on")
        counts[steps * epochs] = len(graphs)
    eager = train(config, tiny_data, tmp_path / "eager", device="cpu", progress=False, compile="off")
    assert counts[1] == counts[6] > 0, counts
    got, expected = load_model(compiled).state_dict(), load_model(eager).state_dict()
    assert all(torch.allclose(got[k].float(), expected[k].float(), atol=1e-5) for k in expected), "weights differ"


def test_a_run_resumed_on_another_device_names_the_epochs_of_each_in_the_readers_words():
    from common.runs import trained_on

    metrics = {"device_name": "NVIDIA H200", "precision": "bf16",
               "epochs_per_device": {"AMD EPYC CPU (1 threads), fp32": 115, "AMD EPYC CPU (1 threads), bf16": 1,
                                     "NVIDIA H200, bf16": 84}}
    assert trained_on(metrics) == ("115 epochs AMD EPYC CPU (1 thread), fp32 + 1 epoch AMD EPYC CPU (1 thread), bf16 "
                                   "+ 84 epochs NVIDIA H200, bf16")
    assert trained_on({"device_name": "AMD EPYC CPU (1 threads)", "precision": "bf16"}) == "AMD EPYC CPU (1 thread), bf16"


def test_recipe_words_follow_the_config():
    recipe = TrainConfig.from_profile("paper").recipe()
    assert recipe["epochs"] == "200" and recipe["training images"] == "all"
    assert recipe["learning rate"].startswith("peak 0.2: linear warm-up over 1 epoch, then cosine decay to 0")
    other = TrainConfig.from_profile("smoke", lr=0.05, warmup_epochs=2, nesterov=False, precision="fp32").recipe()
    assert other["training images"] == "2,000" and other["optimizer"] == "SGD, momentum 0.9, batch 128"
    assert TrainConfig.from_profile("full", holdout=5000).recipe()["training images"] == "all, less 5,000 held out"
    assert other["learning rate"].startswith("peak 0.05: linear warm-up over 2 epochs") and other["precision"] == "fp32"
