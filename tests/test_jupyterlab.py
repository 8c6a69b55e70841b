"""JupyterLab as a user meets it, in a real browser.

JupyterLab is started from the project's environment on 127.0.0.1 (a token, no browser of its
own) over a copy of notebook 01 whose parameters point its results at a temporary folder, with
``CIFAR10`` set to a small synthetic archive; headless Chromium, driven by Selenium through
Debian's ``chromium-driver``, opens the notebook, checks that opening it does not mark it
modified, runs Run All from the Run menu (smoke profile), saves, and checks that every cell ran,
nothing failed and the figures rendered. Server and browser are stopped by their process ids.
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


@pytest.fixture()
def lab_server(tmp_path, smoke_archive):
    """A JupyterLab server over ``tmp_path/root``; yields (base url, token, root); stops it."""
    root = tmp_path / "root"
    _with_parameters(REPO_ROOT / "notebooks" / NOTEBOOK, root / "notebooks" / NOTEBOOK,
                     results_dir=str(tmp_path / "results"), figures_dir=str(tmp_path / "figures"))
    port, token = _free_port(), "test-token"
    env = {**os.environ, "CIFAR10": str(smoke_archive),
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


def test_notebook_01_runs_all_in_jupyterlab(lab_server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.common.action_chains import ActionChains

    url, token, root = lab_server
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
        x.startswith("[") and x[1:-2].isdigit() for x in p) and p, RUN_ALL_TIMEOUT,
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
    assert json.loads((tmp_path / "results").joinpath(
        next(p.name for p in (tmp_path / "results").iterdir() if p.name.startswith("resnet20")),
        "metrics.json").read_text())["profile"] == "smoke"
