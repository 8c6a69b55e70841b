"""JupyterLab as a user meets it, in a real browser.

JupyterLab is started from the project's environment on 127.0.0.1 (a token, no browser of its
own) over a copy of notebook 01; headless Chromium, driven by Selenium through Debian's
``chromium-driver``, opens the notebook, checks that opening it does not mark it modified, runs
Run All from the Run menu, saves, and checks that every cell ran, nothing failed and the figures
rendered. Two ways: with the notebook's *default* parameters over the committed study and the
JPEG copy of CIFAR-10 in ``../shared/data`` (what ``make lab`` shows a user: the committed
numbers, nothing trained), and with the smoke profile on a small synthetic archive, its results
in a temporary folder. Server and browser are stopped by their process ids.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from common.paths import REPO_ROOT

NOTEBOOK = "01_baseline_resnet20.ipynb"
RUN_ALL_TIMEOUT = 900  # seconds; the smoke run takes ~1-3 min on 2 cores


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _browser_or_skip():
    """(selenium webdriver module, chromium path, chromedriver path), or skip saying why."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed "
                                    "(it is in requirements.txt: make setup)")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("needs Debian's chromium and chromium-driver "
                    "(apt-get install chromium chromium-driver; .ci/run installs them)")
    return webdriver, chromium, driver


def _with_parameters(source: Path, target: Path, **values) -> None:
    """Copy a notebook, appending assignments to its parameters cell (what a user would edit)."""
    nb = nbformat.read(source, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source += "\n" + "\n".join(f"{k} = {v!r}" for k, v in values.items())
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)


SHARED_DATA = REPO_ROOT.parent / "shared" / "data" / "cifar10-jpeg.tar.gz"


@pytest.fixture()
def smoke_lab(tmp_path, smoke_archive):
    """Notebook 01 on the smoke profile, results and figures in ``tmp_path``."""
    _with_parameters(REPO_ROOT / "notebooks" / NOTEBOOK, tmp_path / "root" / "notebooks" / NOTEBOOK,
                     profile="smoke", results_dir=str(tmp_path / "results"),
                     figures_dir=str(tmp_path / "figures"))
    yield from _lab_server(tmp_path, smoke_archive)


@pytest.fixture()
def study_lab(tmp_path):
    """Notebook 01 with its default parameters over the committed results; only its figures go
    to ``tmp_path`` (so the test leaves the repository's figures alone)."""
    if not SHARED_DATA.exists():
        pytest.skip(f"the committed study needs the JPEG copy of CIFAR-10 at {SHARED_DATA} "
                    f"(CI has ../shared beside its clone)")
    _with_parameters(REPO_ROOT / "notebooks" / NOTEBOOK, tmp_path / "root" / "notebooks" / NOTEBOOK,
                     figures_dir=str(tmp_path / "figures"))
    yield from _lab_server(tmp_path, SHARED_DATA)


def _lab_server(tmp_path, data):
    """A JupyterLab server over ``tmp_path/root``; yields (base url, token, root); stops it."""
    root = tmp_path / "root"
    port, token = _free_port(), "test-token"
    env = {**os.environ, "CIFAR10": str(data),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    log = open(tmp_path / "lab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--allow-root", "--ServerApp.port_retries=0"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("JupyterLab did not start:\n"
                                       + (tmp_path / "lab.log").read_text()[-3000:])
                time.sleep(1)
        yield url, token, root
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server and the kernels it started
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


@pytest.fixture()
def browser(tmp_path):
    webdriver, chromium, driver_path = _browser_or_skip()
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1400,1000", f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(flag)
    service = Service(executable_path=driver_path, popen_kw={"start_new_session": True})
    driver = webdriver.Chrome(service=service, options=options)
    try:
        yield driver
    finally:
        pid = service.process.pid
        try:
            driver.quit()
        finally:
            try:  # chromedriver's session holds chromium; whatever is left goes with it
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _wait(predicate, timeout: float, what: str, poll: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


PROMPTS = """return [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
                  .map(p => p.textContent.trim());"""


def _run_all(lab, browser, tmp_path, timeout: float) -> nbformat.NotebookNode:
    """Open notebook 01 in Lab, Run All, check what the user sees, save; the saved notebook."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.common.action_chains import ActionChains

    url, token, root = lab
    browser.get(f"{url}/lab/tree/notebooks/{NOTEBOOK}?token={token}")
    _wait(lambda: browser.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel .jp-CodeCell"), 120,
          "the notebook to open")
    # The kernel is connected once the toolbar's status says Idle.
    _wait(lambda: browser.execute_script(
        "const s = document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator');"
        "return s && s.getAttribute('data-status') === 'idle';"), 120, "the kernel to be idle")
    time.sleep(2)  # let Lab apply the kernel's metadata, if it would change any
    dirty = browser.find_elements(By.CSS_SELECTOR, ".lm-TabBar-tab.jp-mod-dirty")
    assert not dirty, "opening the notebook marked it modified (unstable notebook metadata)"

    def menu(label: str):
        return _wait(lambda: [e for e in browser.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-itemLabel, .lm-Menu-itemLabel")
                              if e.text == label], 30, f"menu item {label!r}")[0]

    menu("Run").click()
    menu("Run All Cells").click()
    code_cells = len(browser.execute_script(PROMPTS))
    prompts = _wait(lambda: (p := browser.execute_script(PROMPTS)) and all(
        x.startswith("[") and x[1:-2].isdigit() for x in p) and p, timeout,
        "Run All to finish", poll=2)
    assert len(prompts) == code_cells
    browser.save_screenshot(str(tmp_path / "jupyterlab.png"))

    # What the user sees: no error output, figures drawn as images that loaded.
    errors = browser.execute_script(
        "return [...document.querySelectorAll('.jp-OutputArea-output[data-mime-type="
        "\"application/vnd.jupyter.stderr\"]')].map(e => e.textContent).filter(t => "
        "t.includes('Error') || t.includes('Traceback'));")
    assert errors == []
    images = browser.execute_script(
        "return [...document.querySelectorAll('.jp-OutputArea-output img')]"
        ".map(i => i.complete && i.naturalWidth > 0);")
    assert len(images) >= 2 and all(images)

    # Saved, the notebook has every code cell executed and no error output.
    ActionChains(browser).key_down(Keys.CONTROL).send_keys("s").key_up(Keys.CONTROL).perform()
    saved = root / "notebooks" / NOTEBOOK
    _wait(lambda: not browser.find_elements(By.CSS_SELECTOR, ".lm-TabBar-tab.jp-mod-dirty"), 60,
          "the notebook to be saved")
    nb = nbformat.read(saved, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code)
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    assert (tmp_path / "jupyterlab.png").stat().st_size > 10_000
    return nb


def test_notebook_01_opens_on_the_committed_study(study_lab, browser, tmp_path):
    """Run All with the defaults shows the committed ResNet-20 (its test accuracy from
    results/), trains nothing and writes no run folder."""
    from common.config import TrainConfig
    from common.data import load_cifar10
    from common.paths import RESULTS_DIR
    from common.runs import finished_run, load_metrics

    before = sorted(p.name for p in RESULTS_DIR.iterdir())
    nb = _run_all(study_lab, browser, tmp_path, timeout=600)
    shown = "".join(o.get("text", "") + "".join(o.get("data", {}).get("text/markdown", ""))
                    for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    run_dir = finished_run(TrainConfig.from_profile("full", model="resnet20"),
                           load_cifar10(SHARED_DATA).source, RESULTS_DIR)
    assert run_dir is not None, "the committed full-profile ResNet-20 run is missing"
    assert f"**{load_metrics(run_dir)['test_acc']:.2f}% test accuracy**" in shown
    assert "from scratch" not in shown  # no training notice: the committed run was reused
    assert sorted(p.name for p in RESULTS_DIR.iterdir()) == before


def test_notebook_01_runs_all_in_jupyterlab_on_the_smoke_profile(smoke_lab, browser, tmp_path):
    _run_all(smoke_lab, browser, tmp_path, timeout=RUN_ALL_TIMEOUT)
    assert json.loads((tmp_path / "results").joinpath(
        next(p.name for p in (tmp_path / "results").iterdir() if p.name.startswith("resnet20")),
        "metrics.json").read_text())["profile"] == "smoke"
