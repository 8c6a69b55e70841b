"""Where the project keeps things, relative to the repository root."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "results"
FIGURES_DIR = REPO_ROOT / "figures"
# Decoded datasets and downloads; git-ignored, safe to delete.
CACHE_DIR = REPO_ROOT / ".cache"
