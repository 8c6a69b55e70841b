"""Every numbered notebook runs top to bottom under papermill, smoke profile, synthetic data.

The notebooks share one results folder and run in order, as in ``make report``: later ones
reuse (02, 03) or need (04, 05) the runs of earlier ones.
"""

import re

import nbformat
import pytest

from common.paths import REPO_ROOT, RESULTS_DIR
from common.report import (browser_check, export_report, find_chromium, numbered_notebooks,
                           run_notebook)

REPORT_DIR = RESULTS_DIR / "report"

NOTEBOOKS = numbered_notebooks()
# Smaller sweeps than the notebooks' defaults keep CI short; every code path still runs.
OVERRIDES = {
    "02_dynamic_convolution": dict(kernels=[1, 2], analysis_k=2, tsne_images=150),
    "03_channel_gating": dict(l0_weights=[0.1], analysis_l0=0.1, speed_images=20),
    "04_adversarial_attacks": dict(kernels=[2], l0_weights=[0.1], analysis_k=2, analysis_l0=0.1,
                                   test_subset=40, eps_255=[0, 8], pgd_steps=[3],
                                   example_images=2),
    "05_report_figures": dict(analysis_k=2),
}


def _parameters(notebook_stem: str) -> dict:
    """The values of a notebook's tagged papermill ``parameters`` cell."""
    nb = nbformat.read(REPO_ROOT / "notebooks" / f"{notebook_stem}.ipynb", as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{notebook_stem} needs exactly one cell tagged 'parameters'"
    values: dict = {}
    exec(cells[0].source, {}, values)
    return values


def test_makefile_trains_the_runs_the_notebooks_use():
    runs = re.search(r"^TRAIN_RUNS \?= (.+)$", (REPO_ROOT / "Makefile").read_text(), re.M)
    runs = runs.group(1).split()
    kernels = sorted(int(r[2:]) for r in runs if r.startswith("dy"))
    l0_weights = sorted(float(r[5:]) for r in runs if r.startswith("gated"))
    assert "resnet20" in runs
    assert sorted(_parameters("02_dynamic_convolution")["kernels"]) == kernels
    assert sorted(_parameters("03_channel_gating")["l0_weights"]) == l0_weights
    attacked = _parameters("04_adversarial_attacks")
    assert sorted(attacked["kernels"]) == kernels and sorted(attacked["l0_weights"]) == l0_weights


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    return tmp_path_factory.mktemp("report")


def test_there_are_notebooks():
    assert [nb.name[:2] for nb in NOTEBOOKS] == [f"{i:02d}" for i in range(1, len(NOTEBOOKS) + 1)]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_on_smoke_profile(notebook, smoke_archive, shared):
    figures = shared / "figures"
    parameters = dict(profile="smoke", results_dir=str(shared / "results"),
                      figures_dir=str(figures), **OVERRIDES.get(notebook.stem, {}))
    if notebook.stem != "05_report_figures":  # 05 reads results/ only
        parameters.update(data_source=str(smoke_archive), device="cpu")
    executed = run_notebook(notebook, shared / "executed", parameters)
    assert executed.exists() and executed.with_suffix(".html").exists()
    number = notebook.name[:2]
    pngs, svgs = list(figures.glob(f"{number}_*.png")), list(figures.glob(f"{number}_*.svg"))
    assert pngs and len(pngs) == len(svgs)
    html = executed.with_suffix(".html").read_text()
    assert "data:image/png;base64" in html  # figures embedded
    assert "Traceback" not in html


def test_combined_report_has_contents_and_provenance(shared):
    executed = sorted((shared / "executed").glob("[0-9][0-9]_*.ipynb"))
    if len(executed) < len(NOTEBOOKS):
        pytest.skip("needs every notebook executed by the test above")
    report = export_report(executed, shared / "report.html", "smoke", "synthetic.tar.gz")
    html = report.read_text()
    for number in [nb.name[:2] for nb in NOTEBOOKS]:
        assert f'href="#nb{number}"' in html and f'id="nb{number}"' in html
    assert "git commit" in html and "synthetic.tar.gz" in html and "torch" in html
    assert html.count("data:image/png;base64") >= len(NOTEBOOKS)


def test_report_renders_in_a_browser(shared, tmp_path):
    report = shared / "report.html"
    if not report.exists():
        pytest.skip("needs the combined report of the test above")
    if find_chromium() is None:
        pytest.skip("no chromium here (Debian: apt-get install chromium); .ci/run installs it")
    result = browser_check(report, tmp_path / "report.png")
    assert result["images"] >= len(NOTEBOOKS) and result["broken"] == []
    assert result["toc"] >= len(NOTEBOOKS) and result["dangling"] == []
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_committed_report_renders_in_a_browser(tmp_path):
    report = REPORT_DIR / "full" / "report.html"
    if not report.exists():
        pytest.skip(f"{report} has not been generated yet (make report)")
    if find_chromium() is None:
        pytest.skip("no chromium here (Debian: apt-get install chromium); .ci/run installs it")
    result = browser_check(report, tmp_path / "report.png")
    assert result["broken"] == [] and result["dangling"] == [] and result["toc"] >= 5
