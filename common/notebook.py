"""What every notebook does first (the figure style and the folders it reads and writes), and how
notebook 05 shows a finding or a table that another notebook wrote."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Optional

import pandas as pd
from IPython import get_ipython
from IPython.display import Markdown, display

from .paths import FIGURES_DIR, RESULTS_DIR, tables_dir
from .plots import set_style
from .study import HANDOFF
from .verdicts import Finding, read_table


class Folders(NamedTuple):
    results: Path  # finished runs
    figures: Path  # this profile's figures
    tables: Path   # tables the notebooks write (and read from each other)


def _html_table(frame: pd.DataFrame) -> str:
    """A DataFrame as the notebook shows it, with "–" for a missing value instead of NaN."""
    return frame.to_html(na_rep="–", notebook=True, max_rows=pd.get_option("display.max_rows"),
                         max_cols=pd.get_option("display.max_columns"), show_dimensions=False)


def setup(profile: str, results_dir: Optional[str | Path] = None,
          figures_dir: Optional[str | Path] = None) -> Folders:
    """Set the figure style and return the notebook's folders: ``results_dir`` (default
    ``results/``), ``figures_dir`` (default ``figures/<profile>/``) and ``<results>/tables``,
    created if missing. Tables then show their cells whole (run folders are provenance), every
    row up to 200 (a table the reader cannot see in full supports nothing) and a missing value
    as "–"."""
    set_style()
    pd.set_option("display.max_colwidth", None)
    pd.set_option("display.max_rows", 200)
    shell = get_ipython()
    if shell is not None:  # inside Jupyter or papermill: how every DataFrame is shown as HTML
        shell.display_formatter.formatters["text/html"].for_type(pd.DataFrame, _html_table)
    results = Path(results_dir or RESULTS_DIR)
    folders = Folders(results, Path(figures_dir or FIGURES_DIR / profile), tables_dir(results))
    folders.tables.mkdir(parents=True, exist_ok=True)
    return folders


def handoff_table(results_dir: str | Path, name: str, **fields) -> Optional[pd.DataFrame]:
    """The table ``name`` (a key of ``study.HANDOFF``, of these ``fields``) that notebooks 02-04
    wrote; None, with a note in the notebook, where that notebook has not run at this profile."""
    found = read_table(results_dir, name, **fields)
    if found is None:
        display(Markdown(f"*Notebook {HANDOFF[name][:2]} has not run at this profile, so this part is not shown.*"))
    return found


def say(finding: Optional[Finding]) -> bool:
    """Show a finding, or a note that there is none yet; whether there is one."""
    display(Markdown(finding.text if finding else "*No finished runs answer this question at this profile.*"))
    return finding is not None
