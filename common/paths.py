"""Where the project keeps things, relative to the repository root."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "results"
FIGURES_DIR = REPO_ROOT / "figures"
BENCH_DIR = RESULTS_DIR / "benchmarks"  # speed measurements (``common.benchmarks``)
# Decoded datasets and downloads; git-ignored, safe to delete.
CACHE_DIR = REPO_ROOT / ".cache"


def portable(path) -> str:
    """``path`` as committed files record it: relative to the repository root (e.g.
    ``../shared/data/cifar10-jpeg.tar.gz``), so a clone neither shows nor depends on where it
    was made. Relative paths and non-paths (``torchvision``) come back unchanged."""
    import os

    path = Path(path)
    return os.path.relpath(path, REPO_ROOT) if path.is_absolute() else str(path)

def tables_dir(results_dir) -> Path:
    """Where the notebooks write their tables inside a results folder."""
    return Path(results_dir) / "tables"


# Inside a results folder: a published ResNet-20 (trained on the original images) evaluated on
# each CIFAR-10 copy used (written by ``common.published``, read by the findings).
PUBLISHED_CHECK = Path("published") / "akamaster_resnet20.json"
