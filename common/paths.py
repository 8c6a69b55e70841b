"""Where the project keeps things, relative to the repository root."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "results"
FIGURES_DIR = REPO_ROOT / "figures"
# Decoded datasets and downloads; git-ignored, safe to delete.
CACHE_DIR = REPO_ROOT / ".cache"


def portable(path) -> str:
    """``path`` as committed files record it: relative to the repository root (e.g.
    ``../shared/data/cifar10-jpeg.tar.gz``), so a clone neither shows nor depends on where it
    was made. Relative paths and non-paths (``torchvision``) come back unchanged."""
    import os

    path = Path(path)
    return os.path.relpath(path, REPO_ROOT) if path.is_absolute() else str(path)
