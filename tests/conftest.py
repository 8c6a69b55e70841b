"""Synthetic CIFAR-10-shaped data: tests never need the real dataset."""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from common.data import CLASSES


def make_image_folder(root: Path, train_per_class: int = 6, test_per_class: int = 2,
                      seed: int = 0, fmt: str = "png") -> Path:
    """Write ``root/train/<class>/*`` and ``root/test/<class>/*``: noisy class-coloured images.

    Each class has its own mean colour and a bright stripe at a class-dependent row, so a small
    CNN can learn them in a few steps.
    """
    rng = np.random.default_rng(seed)
    for split, per_class in (("train", train_per_class), ("test", test_per_class)):
        for label, cls in enumerate(CLASSES):
            folder = root / split / cls
            folder.mkdir(parents=True, exist_ok=True)
            colour = np.array([(label * 70) % 256, (label * 130 + 60) % 256, (label * 40 + 20) % 256])
            for i in range(per_class):
                img = colour + rng.normal(0, 25, (32, 32, 3))
                img[3 * label: 3 * label + 2] = 255
                Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / f"{i:04d}.{fmt}")
    return root


def make_archive(folder: Path, archive: Path, top: str = "cifar10-synthetic") -> Path:
    """Pack an image folder as ``.tar.gz`` with one top-level folder, like the shared copy."""
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=top)
    return archive


@pytest.fixture(scope="session")
def tiny_folder(tmp_path_factory) -> Path:
    """60 train + 20 test images."""
    return make_image_folder(tmp_path_factory.mktemp("tiny") / "cifar")


@pytest.fixture(scope="session")
def smoke_archive(tmp_path_factory) -> Path:
    """An archive big enough for the smoke profile (2,000 train, 200 test images)."""
    root = tmp_path_factory.mktemp("smoke")
    folder = make_image_folder(root / "cifar", train_per_class=200, test_per_class=20, seed=1)
    return make_archive(folder, root / "cifar-synthetic.tar.gz")


@pytest.fixture()
def cache_dir(tmp_path) -> Path:
    return tmp_path / "cache"


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every figure a test left open: pyplot keeps them, and the whole suite would hold them."""
    yield
    import sys
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
