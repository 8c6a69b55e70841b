"""What every notebook does first: the figure style and the folders it reads and writes."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Optional

from .paths import FIGURES_DIR, RESULTS_DIR
from .plots import set_style


class Folders(NamedTuple):
    results: Path  # finished runs
    figures: Path  # this profile's figures
    tables: Path   # tables the notebooks write (and read from each other)


def setup(profile: str, results_dir: Optional[str | Path] = None,
          figures_dir: Optional[str | Path] = None) -> Folders:
    """Set the figure style and return the notebook's folders: ``results_dir`` (default
    ``results/``), ``figures_dir`` (default ``figures/<profile>/``) and ``<results>/tables``,
    created if missing."""
    set_style()
    results = Path(results_dir or RESULTS_DIR)
    folders = Folders(results, Path(figures_dir or FIGURES_DIR / profile), results / "tables")
    folders.tables.mkdir(parents=True, exist_ok=True)
    return folders
