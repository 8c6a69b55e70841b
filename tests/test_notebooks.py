"""Every numbered notebook runs top to bottom under papermill, smoke profile, synthetic data.

The notebooks share one results folder and run in order, as in ``make report``: later ones
reuse (02, 03) or need (04, 05) the runs of earlier ones.
"""

import json
import re
import subprocess
from pathlib import Path

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
    "03_channel_gating": dict(l0_weights=[0.1], analysis_l0=0.1, speed_images=20, freeze_images=300),
    "04_adversarial_attacks": dict(kernels=[2], l0_weights=[0.1], analysis_k=2, analysis_l0=0.1,
                                   test_subset=40, eps_255=[0, 8], pgd_steps=[3],
                                   example_images=2, control_runs=["resnet20"], control_seeds=[0, 1],
                                   energy_images=20, energy_eps_255=[8], stealthy_eps_255=[8],
                                   energy_steps=2, strength_images=10, strength_steps=[1],
                                   cap_multiples=[1.0, 1.5],
                                   attacked_cap_multiples=[1.5]),
    "05_report": dict(analysis_k=2),
}


def _parameters(notebook_stem: str) -> dict:
    """The values of a notebook's tagged papermill ``parameters`` cell."""
    nb = nbformat.read(REPO_ROOT / "notebooks" / f"{notebook_stem}.ipynb", as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{notebook_stem} needs exactly one cell tagged 'parameters'"
    values: dict = {}
    exec(cells[0].source, {}, values)
    return values


# What JupyterLab writes for this project's kernel: a notebook saved with anything else is marked
# modified as soon as it is opened (tests/test_jupyterlab.py checks that in a browser).
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_are_saved_clean_with_a_stable_kernelspec(notebook):
    nb = nbformat.read(notebook, as_version=4)
    assert nb.metadata["kernelspec"] == KERNELSPEC
    assert nb.metadata["language_info"]["name"] == "python"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code), "saved with outputs"


# Absolute paths of the machine a file was made on (a clone must neither show nor need them).
ABSOLUTE = re.compile(r"(?<![\w.~])(?:/(?:home|root|tmp|Users|work|mnt|srv)/|[A-Z]:\\\\Users)")


def test_committed_results_and_notebooks_carry_no_absolute_paths():
    files = subprocess.run(["git", "ls-files", "results", "notebooks"], cwd=REPO_ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    assert files, "git ls-files found nothing"
    offenders = []
    for name in files:
        if name.endswith((".pt", ".png")):
            continue
        text = (REPO_ROOT / name).read_text(encoding="utf-8", errors="ignore")
        if (found := ABSOLUTE.search(text)) or str(REPO_ROOT) in text:
            offenders.append(f"{name}: ...{text[max(0, found.start() - 40):found.start() + 60] if found else str(REPO_ROOT)}...")
    assert not offenders, "absolute paths in tracked files:\n" + "\n".join(offenders[:10])


def test_absolute_path_check_can_fail():
    assert ABSOLUTE.search('"path": "/work/shared/data/cifar10-jpeg.tar.gz"')
    assert ABSOLUTE.search("PosixPath('/home/me/repo/figures/a.png')")
    assert not ABSOLUTE.search('"path": "../shared/data/cifar10-jpeg.tar.gz"')
    assert not ABSOLUTE.search("https://github.com/tmp/x and a/tmp/b")


def test_notebooks_and_makefile_read_the_study_from_the_manifest():
    """The study's run lists live in common.manifest only: the notebooks' run parameters default
    to None (= the manifest's) and the Makefile trains the manifest's queue."""
    for name, knobs in {"02_dynamic_convolution": ["kernels", "analysis_k"],
                        "03_channel_gating": ["l0_weights", "headline"],
                        "04_adversarial_attacks": ["kernels", "l0_weights", "analysis_k",
                                                   "control_runs", "control_seeds",
                                                   "headline_seeds", "static_control"]}.items():
        parameters = _parameters(name)
        assert {knob: parameters[knob] for knob in knobs} == dict.fromkeys(knobs), name
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "common.sweep --queue" in makefile and "TRAIN_RUNS" not in makefile


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
    if notebook.stem != "05_report":  # 05 reads results/ only
        parameters.update(data_source=str(smoke_archive), device="cpu")
    # Runs no notebook trains: another seed's ResNet-20 (04's transfer control, 05's seeds) and the
    # headline gated model (03 analyses it once it exists), as `make sweep` would train them.
    extra = {"03_channel_gating": "headline", "04_adversarial_attacks": "resnet20"}
    if notebook.stem in extra:
        from common.data import load_cifar10
        from common.manifest import parse_run
        from common.config import TrainConfig
        from common.train import train

        model, kwargs = parse_run(extra[notebook.stem])
        train(TrainConfig.from_profile("smoke", model=model, model_kwargs=kwargs,
                                       seed=1 if notebook.stem == "04_adversarial_attacks" else 0),
              load_cifar10(smoke_archive), shared / "results", device="cpu", progress=False)
    executed = run_notebook(notebook, shared / "executed", parameters)
    assert executed.exists() and executed.with_suffix(".html").exists()
    number = notebook.name[:2]
    pngs, svgs = list(figures.glob(f"{number}_*.png")), list(figures.glob(f"{number}_*.svg"))
    assert pngs and len(pngs) == len(svgs)
    html = executed.with_suffix(".html").read_text()
    assert "data:image/png;base64" in html  # figures embedded
    assert "Traceback" not in html


# The `paper` profile sweeps one K and no uniform-L0 model (common.manifest.swept): the same
# notebooks on that shape, at smoke cost, on the runs the test above trained.
PAPER_SHAPED = {"02_dynamic_convolution": dict(kernels=[2]),
                "03_channel_gating": dict(l0_weights=[]),
                "04_adversarial_attacks": dict(kernels=[2], l0_weights=[])}


@pytest.mark.parametrize("stem", list(PAPER_SHAPED))
def test_notebook_runs_with_one_k_and_only_the_headline_gated_model(stem, smoke_archive, shared):
    from common.manifest import swept

    assert swept("paper") == {"kernels": (4,), "l0_weights": ()}
    _executed_or_fail(shared)  # the smoke runs these reuse
    parameters = dict(profile="smoke", results_dir=str(shared / "results"), figures_dir=str(shared / "figures-paper"),
                      data_source=str(smoke_archive), device="cpu", **{**OVERRIDES[stem], **PAPER_SHAPED[stem]})
    executed = run_notebook(REPO_ROOT / "notebooks" / f"{stem}.ipynb", shared / "executed-paper", parameters)
    assert "Traceback" not in executed.with_suffix(".html").read_text()


def _executed_or_fail(shared) -> list:
    """The notebooks the test above executed; a missing one fails this test too (not a skip:
    a later check must not pass quietly because an earlier notebook failed)."""
    executed = sorted((shared / "executed").glob("[0-9][0-9]_*.ipynb"))
    missing = sorted({nb.name for nb in NOTEBOOKS} - {p.name for p in executed})
    if missing:
        pytest.fail(f"notebooks did not execute (see their test above): {', '.join(missing)}")
    return executed


def test_combined_report_has_contents_and_provenance(shared):
    executed = _executed_or_fail(shared)
    report = export_report(executed, shared / "report.html", "smoke", "synthetic.tar.gz")
    html = report.read_text()
    for number in [nb.name[:2] for nb in NOTEBOOKS]:
        assert f'href="#nb{number}"' in html and f'id="nb{number}"' in html
    assert "git commit" in html and "synthetic.tar.gz" in html and "torch" in html
    assert html.count("data:image/png;base64") >= len(NOTEBOOKS)
    # it opens on the report's findings, with the code left out and provenance last
    assert html.index('id="nb05"') < html.index('id="Findings"') < html.index('id="nb01"')
    assert html.index('id="nb04"') < html.index('id="provenance"')
    assert "hl-ipython3" not in html  # no code cell's input (nbconvert's highlighted code)


def test_committed_report_was_made_from_a_clean_commit():
    """The committed report's provenance names a commit, not a working copy with changes."""
    report = REPO_ROOT / "results" / "report" / "full" / "report.html"
    commit = re.search(r"git commit</td>\s*<td[^>]*><code>([^<]+)</code>", report.read_text())
    assert commit and "uncommitted" not in commit.group(1), "regenerate it from a clean commit"


def test_executed_notebooks_show_no_paths_or_progress_bars(shared):
    for path in _executed_or_fail(shared):
        nb = nbformat.read(path, as_version=4)
        streams = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
                   if o.output_type == "stream" and o.name == "stderr"]
        assert not [o for o in streams if o.text.startswith("\r")], path.name  # tqdm redraws
        shown = json.dumps([c.get("outputs", []) for c in nb.cells])
        assert "PosixPath(" not in shown, path.name
        assert not Path(nb.metadata["papermill"]["input_path"]).is_absolute()
        assert all(c.metadata["jupyter"]["source_hidden"] for c in nb.cells if c.cell_type == "code"), path.name


def test_committed_executed_notebooks_open_on_their_results():
    """The executed copies under results/report/ open in JupyterLab with their code folded, as
    their HTML shows them (report.tidy_executed); the code to run is in notebooks/."""
    executed = sorted((REPO_ROOT / "results" / "report").glob("*/[0-9][0-9]_*.ipynb"))
    assert executed
    for path in executed:
        cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        assert all(c.metadata.get("jupyter", {}).get("source_hidden") for c in cells), path


def test_report_renders_in_a_browser(shared, tmp_path):
    report = shared / "report.html"
    if not report.exists():
        pytest.fail("the combined report of the test above was not written")
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
