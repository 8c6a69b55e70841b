"""Run the numbered notebooks with papermill and export them as HTML (what ``make report`` does).

    python -m common.report --profile full --data ../shared/data/cifar10-jpeg.tar.gz

Executed notebooks and their HTML go to ``results/report/<profile>/``; figures to
``figures/<profile>/``. Finished training runs are reused, so with the committed results the
report regenerates without training.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote

from .config import PROFILES
from .data import ENV_VAR, resolve_source
from .findings import short_answer
from .paths import REPO_ROOT, RESULTS_DIR, portable
from .provenance import provenance
from .readme import update_readme
from .runs import RunFileError, run_status

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"


def numbered_notebooks(notebooks_dir: Path = NOTEBOOKS_DIR) -> list[Path]:
    """``NN_name.ipynb`` files in order."""
    return sorted(p for p in notebooks_dir.glob("[0-9][0-9]_*.ipynb"))


def run_notebook(notebook: Path, output_dir: Path, parameters: dict) -> Path:
    """Execute one notebook with papermill (cwd: its folder), tidy it (``tidy_executed``) and
    export it to HTML."""
    import nbformat
    import papermill as pm

    output_dir.mkdir(parents=True, exist_ok=True)
    executed = output_dir / notebook.name
    pm.execute_notebook(str(notebook), str(executed), parameters=parameters,
                        cwd=str(notebook.parent), kernel_name="python3", progress_bar=False)
    nb = tidy_executed(nbformat.read(executed, 4))
    nbformat.write(nb, executed)
    executed.with_suffix(".html").write_text(to_html(nb), encoding="utf-8")
    return executed


def tidy_executed(nb):
    """What a reader of an executed notebook should not see: progress bars (stderr streams that
    only redraw a tqdm line, empty boxes once finished) and papermill's record of where the
    notebook ran (absolute paths of the build machine, made repository-relative). Its code is
    folded (``jupyter.source_hidden``; one click in JupyterLab unfolds a cell), so the executed
    copy opens on its text and results, as its HTML does; the code to run is in ``notebooks/``."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not (
                o.output_type == "stream" and o.name == "stderr" and o.text.startswith("\r"))]
            cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
    record = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if record.get(key):
            record[key] = portable(record[key])
    return nb


def _anchor(anchor_id: str) -> str:
    return f'<a id="{anchor_id}"></a>\n\n'


REPORT_NOTEBOOK = "05_report.ipynb"  # findings and the answers; the others are its appendix


def combine_notebooks(executed: list[Path], profile: str, data_source: str, info: dict | None = None,
                      runs: dict | None = None, answer: str = ""):
    """One notebook: a title, the study's one-line ``answer`` (``findings.short_answer``; none where
    empty) and a table of contents, then the report notebook (findings first),
    then notebooks 01-04 in order as the detail behind it, then a provenance block (``info``,
    default: ``provenance()`` now; ``runs``, ``record_timing``'s per-notebook commits, listed when
    the notebooks ran at different commits); an anchor before each notebook and each ``##`` section."""
    import nbformat

    executed = sorted(executed, key=lambda p: (p.name != REPORT_NOTEBOOK, p.name))
    toc, cells = [], []
    for path in executed:
        nb = nbformat.read(path, as_version=4)
        number = path.name[:2]
        for j, cell in enumerate(nb.cells):
            if cell.cell_type == "markdown":
                lines = cell.source.splitlines()
                title = next((ln for ln in lines if ln.startswith(("# ", "## "))), None)
                if title and title.startswith("# "):
                    anchor = f"nb{number}"
                    toc.append(f"{len([t for t in toc if not t.startswith(' ')]) + 1}. "
                               f"[{title[2:].strip()}](#{anchor})")
                    cell.source = _anchor(anchor) + cell.source
                elif title:
                    anchor = f"nb{number}-{j}"
                    toc.append(f"    - [{title[3:].strip()}](#{anchor})")
                    cell.source = _anchor(anchor) + cell.source
            cells.append(cell)
    info = info or provenance()
    packages = ", ".join(f"{k} {v}" for k, v in info["packages"].items())
    ran = {path.name for path in executed}
    missing = [path.stem[3:].replace("_", " ") for path in numbered_notebooks() if path.name not in ran]
    title = f"Input-dependent dynamic CNNs on CIFAR-10: the report at {PROFILES[profile]['epochs']} epochs per run"
    head = "\n".join([
        f"# {title}", "", *([answer, ""] if answer else []),
        "The findings and the evidence for each come first (notebook 05); notebooks 01-04 follow with "
        "every analysis in detail. Every number was computed by the notebooks from the runs under "
        "`results/`; the code is in the executed notebooks beside this file."
        + (f" **Not in this report:** {', '.join(missing)}, whose notebook has not run at this "
           "profile because its runs are still training (the training-length finding says where they "
           "stand); the findings that need it are not shown." if missing else ""), "",
        "## Contents", "", *toc, "    - [Provenance](#provenance)"])
    tail = "\n".join([
        _anchor("provenance") + "## Provenance", "",
        "| | |", "|---|---|",
        f"| git commit | `{info['git_commit']}` |", f"| generated | {info['date']} |",
        *(["| notebooks run at | " + "; ".join(f"{name[:2]}: `{run['git_commit']}` ({run['date']})"
                                               for name, run in sorted(runs.items())) + " |"]
          if runs and len({run["git_commit"] for run in runs.values()}) > 1 else []),
        f"| data source | `{data_source}` |", f"| profile | `{profile}` |",
        f"| Python | {info['python']} ({info['machine']}, CUDA: {info['cuda']}) |",
        f"| packages | {packages} |"])
    report = nbformat.v4.new_notebook()
    report.cells = ([nbformat.v4.new_markdown_cell(head)] + cells
                    + [nbformat.v4.new_markdown_cell(tail)])
    report.metadata = nbformat.read(executed[0], as_version=4).metadata if executed else {}
    report.metadata["title"] = title  # the browser tab's title in the HTML page
    return report


def to_html(notebook, code: bool = False) -> str:
    """A notebook as one self-contained HTML page (images embedded); code cells' inputs and
    prompts are left out unless ``code`` (the executed .ipynb files keep them)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(embed_images=True, exclude_input=not code,
                            exclude_input_prompt=not code, exclude_output_prompt=not code)
    page, _ = exporter.from_notebook_node(notebook)
    # nbconvert percent-encodes non-ASCII heading ids (e.g. "01-%C2%B7-Baseline") in the id and
    # the link alike, but a browser decodes the link before looking for the id: decode the ids.
    return re.sub(r'id="([^"]*%[0-9A-Fa-f]{2}[^"]*)"',
                  lambda m: f'id="{html.escape(unquote(m.group(1)))}"', page)


def export_report(executed: list[Path], output: Path, profile: str, data_source: str,
                  info: dict | None = None, runs: dict | None = None, answer: str = "") -> Path:
    """Write the combined report (``combine_notebooks``) as one HTML file, images embedded."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(to_html(combine_notebooks(executed, profile, data_source, info, runs, answer)), encoding="utf-8")
    return output


BROWSER_PROBE = """<script>
window.addEventListener("load", () => {
  const images = [...document.images];
  const broken = images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 60));
  const links = [...document.querySelectorAll('a[href^="#"]')].map(a => a.getAttribute("href").slice(1));
  const dangling = links.filter(id => id && !document.getElementById(decodeURIComponent(id)));
  const toc = [...document.querySelectorAll('a[href^="#nb"]')].length;
  const out = document.createElement("pre");
  out.id = "browser-check";
  out.textContent = JSON.stringify({images: images.length, broken, links: links.length, dangling, toc});
  document.body.appendChild(out);
});
</script>"""


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome binary, or None (Debian: ``apt-get install chromium``)."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def browser_check(report: Path, screenshot: Path | None = None, timeout: int = 120) -> dict | str:
    """Open ``report`` in headless Chromium: count images that failed to load and in-page links
    whose target does not exist, and save a screenshot. Returns a dict, or a string saying why
    no browser ran."""
    chromium = find_chromium()
    if chromium is None:
        return "skipped: no chromium on this machine (Debian: apt-get install chromium)"
    flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--hide-scrollbars"]
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "report.html"
        probe.write_text(report.read_text(encoding="utf-8").replace(
            "</body>", BROWSER_PROBE + "</body>"), encoding="utf-8")
        dom = subprocess.run(flags + ["--virtual-time-budget=15000", "--dump-dom",
                                      probe.as_uri()], capture_output=True, text=True,
                             timeout=timeout).stdout
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(flags + ["--window-size=1280,1800", f"--screenshot={screenshot}",
                                    report.resolve().as_uri()], capture_output=True,
                           timeout=timeout, cwd=tmp)
    found = re.search(r'<pre id="browser-check">(.*?)</pre>', dom, re.S)
    if not found:
        raise RuntimeError(f"the browser did not finish loading {report} (no probe result)")
    return json.loads(html.unescape(found.group(1)))


def notebooks_to_run(only: list[str] | None, notebooks_dir: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The numbered notebooks whose number is in ``only`` (all where None), in order, and the report
    notebook whenever another one runs: it draws its figures and findings from the tables the
    others write, so it would otherwise show the tables they replaced."""
    chosen = [nb for nb in numbered_notebooks(notebooks_dir) if only is None or nb.name[:2] in only]
    if chosen and chosen[-1].name != REPORT_NOTEBOOK:
        chosen += [nb for nb in numbered_notebooks(notebooks_dir) if nb.name == REPORT_NOTEBOOK]
    return chosen


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="full", choices=list(PROFILES))
    parser.add_argument("--data", default=None,
                        help=f"CIFAR-10 source (default: ${ENV_VAR}, else torchvision)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--only", nargs="*", default=None,
                        help="run only notebooks whose number is listed, e.g. --only 01")
    args = parser.parse_args(argv)
    try:  # every run file readable, before any notebook runs (they would stop half-way)
        run_status(RESULTS_DIR)
    except RunFileError as err:
        sys.exit(f"error: {err}")
    # Repository-relative, as the executed notebooks record it (resolve_source finds it from
    # notebooks/ too); torchvision specs pass through.
    data_source = resolve_source(args.data)
    if not data_source.startswith("torchvision"):
        data_source = portable(data_source)
    output_dir = RESULTS_DIR / "report" / args.profile
    notebooks = notebooks_to_run(args.only)
    if not notebooks:
        raise SystemExit(f"no notebooks to run in {NOTEBOOKS_DIR}")
    # Taken before the notebooks run: what they write (figures, tables) is not a change to the code.
    info = provenance()
    timing, executed = {}, []
    for nb in notebooks:
        started = time.perf_counter()
        print(f"[report] running {nb.name} (profile={args.profile}, data={data_source})",
              flush=True)
        parameters = dict(profile=args.profile)
        if nb.name != REPORT_NOTEBOOK:  # it reads results/ only
            parameters.update(seed=0, data_source=data_source, device=args.device)
        executed.append(run_notebook(nb, output_dir, parameters))
        timing[nb.name] = round(time.perf_counter() - started, 1)
        print(f"[report] {nb.name} done in {timing[nb.name]:.0f} s", flush=True)
    # the numbered notebooks of the repository, executed now or before (--only): no stale file
    combined = [output_dir / nb.name for nb in numbered_notebooks() if (output_dir / nb.name).exists()]
    ran = record_timing(output_dir / "timing.json", timing, info)["notebooks"]
    report = export_report(combined, output_dir / "report.html",
                           args.profile, data_source, info, ran, short_answer())
    update_readme()
    check = browser_check(report, output_dir / "report.png")
    print(f"[report] {report} ({len(executed)} notebooks run in {sum(timing.values()) / 60:.1f} min); "
          f"browser check: {check}; README tables updated")


def record_timing(path: Path, seconds: dict[str, float], info: dict) -> dict:
    """Write how long each notebook of the report took, and at which commit and date it ran.
    A partial run (``--only``) replaces only its own notebooks' entries, so the file always
    describes every notebook behind the current report."""
    previous = json.loads(path.read_text()) if path.exists() else {}
    notebooks = previous.get("notebooks", {})
    if "seconds" in previous:  # the older layout: one provenance for all notebooks
        notebooks = {name: {"seconds": value, "git_commit": previous["provenance"]["git_commit"],
                            "date": previous["provenance"]["date"]}
                     for name, value in previous["seconds"].items() if name != "total"}
    for name, value in seconds.items():
        notebooks[name] = {"seconds": value, "git_commit": info["git_commit"], "date": info["date"]}
    record = {"notebooks": dict(sorted(notebooks.items())),
              "total_seconds": round(sum(nb["seconds"] for nb in notebooks.values()), 1),
              "provenance": info}
    path.write_text(json.dumps(record, indent=2))
    return record


if __name__ == "__main__":
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # quiet debugpy warning
    main()
