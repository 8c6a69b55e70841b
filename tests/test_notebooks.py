"""Every numbered notebook runs top to bottom under papermill, smoke profile, synthetic data."""

import pytest

from common.report import numbered_notebooks, run_notebook

NOTEBOOKS = numbered_notebooks()
# Smaller sweeps than the notebooks' defaults keep CI short; every code path still runs.
OVERRIDES = {"02_dynamic_convolution": dict(kernels=[1, 2], analysis_k=2, tsne_images=150)}


def test_there_are_notebooks():
    assert [nb.name for nb in NOTEBOOKS][:1] == ["01_baseline_resnet20.ipynb"]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_on_smoke_profile(notebook, smoke_archive, tmp_path):
    figures = tmp_path / "figures"
    executed = run_notebook(notebook, tmp_path / "executed", dict(
        profile="smoke", data_source=str(smoke_archive), device="cpu",
        results_dir=str(tmp_path / "results"), figures_dir=str(figures),
        **OVERRIDES.get(notebook.stem, {})))
    assert executed.exists() and executed.with_suffix(".html").exists()
    assert list(figures.glob("*.png")) and list(figures.glob("*.svg"))
    assert len(list(figures.glob("*.png"))) == len(list(figures.glob("*.svg")))
    html = executed.with_suffix(".html").read_text()
    assert "data:image/png;base64" in html  # figures embedded
    assert "Traceback" not in html
