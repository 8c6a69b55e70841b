"""Bad input gives one clear line and leaves nothing behind: unreadable run files name the file
and the fix; the command lines reject a bad model, setting or profile before any folder, lock or
data load."""

import json

import pytest

from common import readme, report, train
from common.config import TrainConfig
from common.runs import RunFileError, list_finished_runs, load_history, run_status


def _run(root, name="resnet20-full-seed0-abc", metrics='{"model": "resnet20"}', config="{}"):
    run = root / name
    run.mkdir(parents=True)
    if config is not None:
        (run / "config.json").write_text(config)
    (run / "metrics.json").write_text(metrics)
    return run


def test_an_unreadable_run_file_names_itself_and_the_fix(tmp_path):
    run = _run(tmp_path, metrics='{"model": "resnet20", "test_')  # truncated mid-write
    with pytest.raises(RunFileError) as error:
        list_finished_runs(tmp_path)
    message = str(error.value)
    assert str(run / "metrics.json") in message and "not valid JSON" in message
    assert "git checkout" in message and f"delete the run folder {run}" in message
    assert "\n" not in message
    (run / "metrics.json").write_text("{}")
    (run / "config.json").unlink()
    with pytest.raises(RunFileError, match="config.json is missing"):
        list_finished_runs(tmp_path)
    (run / "config.json").write_text('{"epochs": 2}')
    (run / "history.csv").write_text("epoch,train_loss\n1,2.3\n2")  # the last row cut short
    with pytest.raises(RunFileError, match="history.csv ends mid-line"):
        load_history(run)
    with pytest.raises(RunFileError, match="history.csv"):
        run_status(tmp_path)


def test_readme_stops_with_one_line_on_an_unreadable_run(tmp_path, monkeypatch):
    _run(tmp_path, metrics="")
    written = []
    monkeypatch.setattr(readme, "readme_sections",
                        lambda results_dir=None: {readme.README: {"results-table": readme.results_table(tmp_path)}})
    monkeypatch.setattr(readme.Path, "write_text", lambda *args, **kwargs: written.append(args))
    for argv in ([], ["--check"]):
        with pytest.raises(SystemExit) as exit:
            readme.main(argv)
        assert str(exit.value.code).startswith("error: ") and "metrics.json is not valid JSON" in exit.value.code
        assert "\n" not in exit.value.code
    assert written == []  # no page touched


@pytest.mark.parametrize("argv, says", [
    (["--model", "resnet99"], "unknown model 'resnet99'; available: dy_resnet20, gated_resnet20, resnet20"),
    (["--model", "dy_resnet20", "--model-kwargs", '{"num_kernel": 4}'],
     "model 'dy_resnet20' has no setting 'num_kernel'; its settings: num_kernels"),
    (["--model-kwargs", '{"width": -1}'], "width must be > 0"),
    (["--model-kwargs", "{width"], "--model-kwargs: not JSON"),
    (["--model-kwargs", "[4]"], "--model-kwargs: not a JSON object"),
    (["--epochs", "0"], "epochs must be >= 1"),
])
def test_train_rejects_bad_settings_before_any_folder_or_data(argv, says, tmp_path, monkeypatch, capsys):
    def no_data(*args, **kwargs):
        raise AssertionError("loaded data")

    monkeypatch.setattr(train, "load_cifar10", no_data)
    with pytest.raises(SystemExit) as exit:
        train.main([*argv, "--results-dir", str(tmp_path / "results")])
    assert exit.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert says in err[-1] and err[-1].startswith("python -m common.train: error:")
    assert not any(line.startswith("Traceback") for line in err)
    assert not (tmp_path / "results").exists()  # no run folder, no lock


def test_a_config_with_a_setting_its_model_lacks_is_an_error():
    with pytest.raises(ValueError, match="model 'resnet20' has no setting 'num_kernels'"):
        TrainConfig(model="resnet20", model_kwargs={"num_kernels": 4})


def test_train_status_stops_with_one_line_on_an_unreadable_config(tmp_path, capsys):
    run = tmp_path / "resnet20-full-seed0-abc"
    run.mkdir()
    (run / "config.json").write_text('{"epochs": ')
    with pytest.raises(SystemExit) as exit:
        train.main(["--status", "--results-dir", str(tmp_path)])
    assert exit.value.code.startswith("error: ") and "config.json is not valid JSON" in exit.value.code


def _no_notebooks(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("ran a notebook")

    monkeypatch.setattr(report, "run_notebook", refuse)


def test_report_rejects_an_unknown_profile_before_anything(monkeypatch, capsys):
    _no_notebooks(monkeypatch)
    monkeypatch.setattr(report, "run_status", lambda *a: (_ for _ in ()).throw(AssertionError("read runs")))
    with pytest.raises(SystemExit) as exit:
        report.main(["--profile", "bogus"])
    assert exit.value.code == 2
    assert "invalid choice: 'bogus'" in capsys.readouterr().err
    assert not (report.RESULTS_DIR / "report" / "bogus").exists()


def test_report_stops_on_an_unreadable_run_before_any_notebook(tmp_path, monkeypatch):
    _no_notebooks(monkeypatch)
    _run(tmp_path, config=json.dumps({"epochs": 2}), metrics='{"mod')
    monkeypatch.setattr(report, "RESULTS_DIR", tmp_path)
    with pytest.raises(SystemExit) as exit:
        report.main(["--profile", "smoke"])
    assert exit.value.code.startswith("error: ") and "metrics.json is not valid JSON" in exit.value.code
    assert not (tmp_path / "report").exists()
