import json

import pytest

from common.readme import (README, TABLE_END, TABLE_START, gating_calibration_table,
                           readme_with_sections, results_table, selection_table, stale_pages)


def test_generated_blocks_are_up_to_date():
    """The findings (README) and the tables (results/README.md) are generated from results/
    (python -m common.readme), never typed."""
    assert stale_pages() == {}, "stale: run `.venv/bin/python -m common.readme`"


def test_readme_is_a_front_page():
    """The README fits a front page and opens on what the study found."""
    text = README.read_text()
    head, rest = text.split("<!-- findings:start -->")
    block, tail = rest.split("<!-- findings:end -->")
    assert len((head + tail).splitlines()) <= 150  # the written page
    assert len(block) <= 15_000  # the generated findings: a few minutes' reading, bullets split into sub-bullets
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings[:2] == ["## Two commands", "## Findings"]
    assert text.index("**In short:**") < text.index("## Two commands")  # the answer on the first screen
    findings = text.split("<!-- findings:start -->")[1].split("<!-- findings:end -->")[0]
    assert findings.count("\n- **") >= 5  # one bullet per question of the proposal


def test_results_table_lists_finished_runs(tmp_path):
    assert "no finished runs" in results_table(tmp_path)
    run = tmp_path / "resnet20-full-seed0-abc"
    run.mkdir()
    (run / "config.json").write_text("{}")  # written when a run starts; metrics.json when it ends
    (run / "metrics.json").write_text(json.dumps({
        "model": "resnet20", "model_kwargs": {}, "params": 269722, "macs": 40551040.0,
        "train_acc": 95.5, "test_acc": 88.25, "profile": "full", "epochs": 30, "seed": 0,
        "data_source": {"name": "x.tar.gz (image folder)"}, "train_seconds": 3600,
        "device_name": "cpu", "run": run.name}))
    table = results_table(tmp_path)
    assert "| ResNet-20 | 269,722 | 40.55M | 95.50 | 88.25 | full | 30 | 0 |" in table  # names.run_label
    assert "1.00 h, cpu |" in table  # older runs recorded no precision

    metrics = json.loads((run / "metrics.json").read_text())
    (run / "metrics.json").write_text(json.dumps({**metrics, "precision": "bf16"}))
    assert "1.00 h, cpu, bf16 |" in results_table(tmp_path)  # seeds can differ in precision

    metrics = json.loads((run / "metrics.json").read_text())
    metrics["epochs_per_device"] = {"H100, bf16": 18, "cpu, fp32": 12}
    (run / "metrics.json").write_text(json.dumps(metrics))
    assert "1.00 h, 18 epochs H100, bf16 + 12 epochs cpu, fp32 |" in results_table(tmp_path)
    metrics["epochs_per_device"] = {"H100, bf16": 18, "EPYC CPU (1 threads), fp32": 12}
    (run / "metrics.json").write_text(json.dumps(metrics))
    assert "1.00 h, 18 epochs H100, bf16 + 12 epochs EPYC CPU (1 thread), fp32 |" in results_table(tmp_path)


def test_markers_are_required():
    with pytest.raises(ValueError, match="markers"):
        readme_with_sections("no markers here", {"results-table": "table"})
    text = f"a\n{TABLE_START}\nold\n{TABLE_END}\nb"
    assert (readme_with_sections(text, {"results-table": "new"})
            == f"a\n{TABLE_START}\nnew\n{TABLE_END}\nb")


def test_selection_table_marks_the_best_hold_out_run(tmp_path):
    assert "no hold-out runs" in selection_table(tmp_path)
    for name, lr, val in (("a", 0.1, 81.5), ("b", 0.2, 82.75)):
        run = tmp_path / name
        run.mkdir()
        (run / "config.json").write_text(json.dumps(
            {"lr": lr, "label_smoothing": 0.0, "epochs": 8, "holdout": 5000}))
        (run / "metrics.json").write_text(json.dumps(
            {"val_acc": val, "train_size": 45000, "run": name}))
    table = selection_table(tmp_path)
    assert "| 0.2 | 0.0 | 8 | 45,000 | 5,000 | **82.75** (chosen) | `b` |" in table
    assert "| 0.1 | 0.0 | 8 | 45,000 | 5,000 | 81.50 | `a` |" in table


def test_gating_calibration_table_gives_macs_as_a_share_of_resnet20(tmp_path):
    from common.flops import count_macs
    from common.models import build_model
    from common.flops import RESNET20_MACS

    assert RESNET20_MACS == count_macs(build_model("resnet20"))
    assert "no calibration runs" in gating_calibration_table(tmp_path)
    for name, weight, val, macs in (("b", 1.0, 88.0, 20_275_520), ("a", 0.2, 89.0, 36_495_936)):
        run = tmp_path / name
        run.mkdir()
        (run / "config.json").write_text(json.dumps(
            {"model_kwargs": {"l0_weight": weight}, "epochs": 8, "holdout": 5000}))
        (run / "metrics.json").write_text(json.dumps(
            {"val_acc": val, "avg_executed_macs": macs, "train_size": 45000, "run": name}))
    rows = gating_calibration_table(tmp_path).splitlines()[2:]
    assert rows == ["| 0.2 | 8 | 45,000 | 5,000 | 89.00 | 36.50M | 90% | `a` |",
                    "| 1.0 | 8 | 45,000 | 5,000 | 88.00 | 20.28M | 50% | `b` |"]


def test_a_partial_report_run_keeps_the_other_notebooks_timing(tmp_path):
    from common.report import record_timing

    path = tmp_path / "timing.json"
    old = {"seconds": {"01_a.ipynb": 20.0, "05_b.ipynb": 10.0, "total": 30.0},  # the older layout
           "provenance": {"git_commit": "aaa", "date": "day 1"}}
    path.write_text(json.dumps(old))
    record = record_timing(path, {"05_b.ipynb": 12.0}, {"git_commit": "bbb", "date": "day 2"})
    assert record["notebooks"]["01_a.ipynb"] == {"seconds": 20.0, "git_commit": "aaa", "date": "day 1"}
    assert record["notebooks"]["05_b.ipynb"] == {"seconds": 12.0, "git_commit": "bbb", "date": "day 2"}
    assert record["total_seconds"] == 32.0 and json.loads(path.read_text()) == record


def test_a_report_without_a_notebook_says_so(tmp_path):
    import nbformat

    from common.report import combine_notebooks

    def notebook(name, title):
        path = tmp_path / name
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}")]
        nbformat.write(nb, path)
        return path

    info = {"git_commit": "aaa", "date": "day", "python": "3", "machine": "x", "cuda": False, "packages": {}}
    executed = [notebook(n, n) for n in ("01_baseline_resnet20.ipynb", "03_channel_gating.ipynb",
                                          "04_adversarial_attacks.ipynb", "05_report.ipynb")]
    report = combine_notebooks(executed, "paper", "copy", info)
    head = report.cells[0].source
    assert head.startswith("# Input-dependent dynamic CNNs on CIFAR-10: the report at 200 epochs per run\n")
    assert report.metadata["title"] == head.splitlines()[0][2:]  # the HTML page's title too
    assert "**Not in this report:** dynamic convolution, whose notebook has not run at this profile" in head
    head = combine_notebooks(executed + [notebook("02_dynamic_convolution.ipynb", "02")], "paper", "copy",
                             info, answer="**In short:** No gain shown at 200 epochs.").cells[0].source
    assert "Not in this report" not in head
    # the one-line answer on the page's first screen, under the title and above the contents
    assert head.index("# Input-dependent") < head.index("**In short:** No gain") < head.index("## Contents")


def test_notebooks_run_at_different_commits_are_listed(tmp_path):
    import nbformat

    from common.report import combine_notebooks

    path = tmp_path / "05_report.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), path)
    info = {"git_commit": "bbb", "date": "day 2", "python": "3", "machine": "x", "cuda": False, "packages": {}}
    runs = {"05_report.ipynb": {"git_commit": "bbb", "date": "day 2"},
            "01_baseline_resnet20.ipynb": {"git_commit": "aaa", "date": "day 1"}}
    tail = combine_notebooks([path], "paper", "copy", info, runs).cells[-1].source
    assert "| notebooks run at | 01: `aaa` (day 1); 05: `bbb` (day 2) |" in tail
    runs["01_baseline_resnet20.ipynb"]["git_commit"] = "bbb"
    assert "notebooks run at" not in combine_notebooks([path], "paper", "copy", info, runs).cells[-1].source


def test_every_local_link_of_the_front_pages_exists():
    """Each figure or file the README and results/README.md link to is committed (a renamed
    figure would otherwise leave a dead link on the front page)."""
    import re

    root = README.parent
    for page in (README, root / "results" / "README.md"):
        targets = re.findall(r"\]\(([^)#:]+)\)", page.read_text())  # relative links, no URLs
        assert targets or page != README
        missing = [t for t in targets if not (page.parent / t).exists()]
        assert missing == [], f"{page.name} links to missing files: {missing}"


def test_every_committed_table_is_one_that_the_code_writes():
    """A table under results/tables/ that no notebook or module names any more is stale: it would
    show a reader numbers nothing regenerates."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    code = "".join(p.read_text() for folder in ("common", "notebooks") for p in (root / folder).rglob("*")
                   if p.suffix in (".py", ".ipynb"))
    stale = [p.name for p in (root / "results" / "tables").glob("*.*")
             if re.sub(r"_(full|paper|smoke)(_k\d+)?$", "", p.stem) not in code]
    assert stale == []


def test_the_readme_terms_give_the_reading_rules_cutoffs():
    """The README's definitions are typed prose: their cutoffs must be the rules' constants."""
    from common.analysis import split_threshold
    from common.verdicts import LEARNT_MARGIN

    terms = README.read_text().split("<!-- findings:start -->")[0]
    assert f"(partial correlation ≥ {split_threshold():.2f})" in terms
    assert f"exceeds that of the same model untrained by more than {LEARNT_MARGIN:g} (for a gated" in terms
    assert f"even if it stays below {split_threshold():.2f}" in terms


def test_the_report_notebook_reruns_after_any_other(tmp_path):
    """Notebook 05 draws on the tables notebooks 01-04 write: rerunning one of them alone would
    leave it showing the tables they replaced."""
    from common.report import notebooks_to_run

    for name in ("01_a.ipynb", "02_b.ipynb", "05_report.ipynb"):
        (tmp_path / name).write_text("{}")
    names = lambda only: [p.name for p in notebooks_to_run(only, tmp_path)]  # noqa: E731
    assert names(["02"]) == ["02_b.ipynb", "05_report.ipynb"]
    assert names(["05"]) == ["05_report.ipynb"]
    assert names(None) == ["01_a.ipynb", "02_b.ipynb", "05_report.ipynb"]
    assert names(["09"]) == []
