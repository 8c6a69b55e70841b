import json

import pytest

from common.report import (README, TABLE_END, TABLE_START, readme_with_results, results_table)


def test_readme_results_table_is_up_to_date():
    """The README's table is generated (python -m common.report --update-readme), never typed."""
    readme = README.read_text()
    assert readme_with_results(readme, results_table()) == readme, \
        "README results table is stale: run `.venv/bin/python -m common.report --update-readme`"


def test_results_table_lists_finished_runs(tmp_path):
    assert "no finished runs" in results_table(tmp_path)
    run = tmp_path / "resnet20-full-seed0-abc"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps({
        "model": "resnet20", "model_kwargs": {}, "params": 269722, "macs": 40551040.0,
        "train_acc": 95.5, "test_acc": 88.25, "profile": "full", "epochs": 30, "seed": 0,
        "data_source": {"name": "x.tar.gz (image folder)"}, "train_seconds": 3600,
        "device_name": "cpu", "run": run.name}))
    table = results_table(tmp_path)
    assert "| resnet20 | 269,722 | 40.55M | 95.50 | 88.25 | full | 30 | 0 |" in table


def test_markers_are_required():
    with pytest.raises(ValueError, match="markers"):
        readme_with_results("no markers here", "table")
    text = f"a\n{TABLE_START}\nold\n{TABLE_END}\nb"
    assert readme_with_results(text, "new") == f"a\n{TABLE_START}\nnew\n{TABLE_END}\nb"
