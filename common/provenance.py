"""Provenance: where and with what a result was made (git commit, date, machine, packages)."""

from __future__ import annotations

import platform
import subprocess
from datetime import datetime, timezone

import torch

from .paths import REPO_ROOT

PACKAGES = ("torch", "torchvision", "numpy", "pandas", "matplotlib", "seaborn", "sklearn", "thop",
            "papermill")


# What computes the results: a change here marks a result as made by uncommitted code. Results,
# figures and the README are what it writes, and untracked files (runs still training, logs) are
# not read as code, so neither marks it.
CODE = ("common", "notebooks", "Makefile", "pyproject.toml", "requirements.txt", "environment.yml")


def git_commit() -> str:
    """The short commit of the working tree, marked when its code (``CODE``) differs from it."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", *CODE],
                                    cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+uncommitted changes" if dirty else "")


def provenance() -> dict:
    """Where and with what a report or benchmark was made: git commit, date, machine, package
    versions."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = __import__(name).__version__
        except (ImportError, AttributeError):
            versions[name] = "missing"
    return {"git_commit": git_commit(),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "python": platform.python_version(), "machine": platform.machine(),
            "cuda": torch.cuda.is_available(), "packages": versions}
