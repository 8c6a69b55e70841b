"""Every numbered notebook runs top to bottom under papermill, smoke profile, synthetic data.

The notebooks share one results folder and run in order, as in ``make report``: later ones
reuse (02, 03) or need (04, 05) the runs of earlier ones.
"""

import pytest

from common.report import numbered_notebooks, run_notebook

NOTEBOOKS = numbered_notebooks()
# Smaller sweeps than the notebooks' defaults keep CI short; every code path still runs.
OVERRIDES = {
    "02_dynamic_convolution": dict(kernels=[1, 2], analysis_k=2, tsne_images=150),
    "03_channel_gating": dict(l0_weights=[0.1], analysis_l0=0.1, speed_images=20),
    "04_adversarial_attacks": dict(kernels=[2], l0_weights=[0.1], analysis_k=2, analysis_l0=0.1,
                                   test_subset=40, eps_255=[0, 8], pgd_steps=[3],
                                   example_images=2),
}


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    return tmp_path_factory.mktemp("report")


def test_there_are_notebooks():
    assert [nb.name[:2] for nb in NOTEBOOKS] == [f"{i:02d}" for i in range(1, len(NOTEBOOKS) + 1)]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_on_smoke_profile(notebook, smoke_archive, shared):
    figures = shared / "figures"
    executed = run_notebook(notebook, shared / "executed", dict(
        profile="smoke", data_source=str(smoke_archive), device="cpu",
        results_dir=str(shared / "results"), figures_dir=str(figures),
        **OVERRIDES.get(notebook.stem, {})))
    assert executed.exists() and executed.with_suffix(".html").exists()
    number = notebook.name[:2]
    pngs, svgs = list(figures.glob(f"{number}_*.png")), list(figures.glob(f"{number}_*.svg"))
    assert pngs and len(pngs) == len(svgs)
    html = executed.with_suffix(".html").read_text()
    assert "data:image/png;base64" in html  # figures embedded
    assert "Traceback" not in html
