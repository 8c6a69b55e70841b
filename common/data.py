"""CIFAR-10 as in-memory uint8 tensors, plus batched GPU/CPU-friendly augmentation.

Two sources:

* ``"torchvision"`` (or ``"torchvision:/some/root"``): the original python batches through
  ``torchvision.datasets.CIFAR10``, downloaded when online.
* a path to an **image-folder copy** — ``train/<class>/*`` and ``test/<class>/*`` — either a
  folder or a ``.tar`` / ``.tar.gz`` archive (one top-level folder inside is allowed), e.g.
  ``../shared/data/cifar10-jpeg.tar.gz``.

The source is the ``source`` argument, else the ``CIFAR10`` environment variable, else
``"torchvision"``. Image folders are decoded once and cached under ``.cache/`` keyed by a
fingerprint of the source's bytes, so the next load takes about a second.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from functools import partial
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

import torch
import torch.nn.functional as F

from .paths import CACHE_DIR, REPO_ROOT, portable

CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
           "dog", "frog", "horse", "ship", "truck")
SPLITS = ("train", "test")
ENV_VAR = "CIFAR10"
IMAGE_SIZE = 32
# Per-channel statistics of the original CIFAR-10 training set (models normalise inside).
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
# Bump when the cache format or decoding changes, so stale caches are not reused.
_CACHE_VERSION = 1


class DataError(ValueError):
    """A data source is missing or malformed; the message names the path and the fix."""


class CifarData(NamedTuple):
    """The four tensors and where they came from.

    Images are ``(N, 3, 32, 32)`` uint8, labels ``(N,)`` int64 in CIFAR-10's class order.
    ``source`` is a JSON-able description: ``name``, ``kind``, ``path``, ``fingerprint``.
    """

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    source: dict


def resolve_source(source: str | os.PathLike | None = None) -> str:
    """The source spec in force: the argument, else ``$CIFAR10``, else ``"torchvision"``.

    A relative path is taken from the current directory or, failing that, from the repository
    root, so ``CIFAR10=../shared/...`` works from a notebook in ``notebooks/`` too. An existing
    path comes back absolute, so it can be handed to a process with another working directory.
    """
    spec = str(source).strip() if source is not None else ""
    spec = spec or os.environ.get(ENV_VAR, "").strip() or "torchvision"
    if spec.startswith("torchvision"):
        return spec
    path = Path(spec).expanduser()
    if not path.is_absolute() and not path.exists() and (REPO_ROOT / path).exists():
        path = REPO_ROOT / path
    return str(path.resolve()) if path.exists() else str(path)


def load_cifar10(source: str | os.PathLike | None = None, cache_dir: Path = CACHE_DIR,
                 download: bool = True) -> CifarData:
    """Load CIFAR-10 from ``source`` (see the module docstring) as uint8 tensors."""
    spec = resolve_source(source)
    if spec == "torchvision" or spec.startswith("torchvision:"):
        root = Path(spec.partition(":")[2] or cache_dir / "torchvision")
        return _load_torchvision(root, download)
    return _load_image_folder(Path(spec).expanduser(), Path(cache_dir))


# --------------------------------------------------------------------------- torchvision

_TORCHVISION_ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"  # torchvision's own check


def _load_torchvision(root: Path, download: bool) -> CifarData:
    from torchvision.datasets import CIFAR10

    try:
        splits = [CIFAR10(str(root), train=train, download=download) for train in (True, False)]
    except Exception as err:  # no network, no files, corrupt files: one clear message
        raise DataError(
            f"Could not load the original CIFAR-10 through torchvision from {root} ({err}).\n"
            f"Alternatives: put the python batches (cifar-10-batches-py) under {root}, or point "
            f"{ENV_VAR}= (or the data_source parameter) at an image-folder copy — a folder or "
            f".tar.gz with train/<class>/ and test/<class>/, e.g. "
            f"{ENV_VAR}=../shared/data/cifar10-jpeg.tar.gz") from err
    tensors = []
    for ds in splits:
        if list(ds.classes) != list(CLASSES):
            raise DataError(f"{root}: unexpected class list {ds.classes}")
        tensors += [torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous(),
                    torch.tensor(ds.targets, dtype=torch.int64)]
    source = {"name": "CIFAR-10 (original, torchvision)", "kind": "torchvision",
              "path": portable(root), "fingerprint": f"md5:{_TORCHVISION_ARCHIVE_MD5}"}
    return CifarData(*tensors, source)


# --------------------------------------------------------------------------- image folder

_Entry = tuple[tuple[str, ...], Callable[[], bytes]]  # (relative path parts, read bytes)


def _load_image_folder(path: Path, cache_dir: Path) -> CifarData:
    if not path.exists():
        raise DataError(
            f"CIFAR-10 source {path} does not exist. Point {ENV_VAR}= (or the data_source "
            f"parameter) at an image folder or .tar/.tar.gz archive with train/<class>/ and "
            f"test/<class>/, or use 'torchvision' for the original.")
    if path.is_file() and not tarfile.is_tarfile(path):
        raise DataError(f"{path} is a file but not a .tar/.tar.gz archive; expected a folder or "
                        f"an archive with train/<class>/ and test/<class>/.")
    fingerprint = _fingerprint(path)
    source = {"name": f"{path.name} (image folder)", "kind": "image-folder",
              "path": portable(path), "fingerprint": f"sha256:{fingerprint}"}
    cache = cache_dir / f"cifar10-{fingerprint[:20]}-v{_CACHE_VERSION}.pt"
    if cache.exists():
        try:
            t = torch.load(cache, weights_only=True)
            return CifarData(t["train_images"], t["train_labels"], t["test_images"],
                             t["test_labels"], source)
        except Exception:  # a derived file: rebuild it rather than fail
            cache.unlink(missing_ok=True)
    entries = _archive_entries(path) if path.is_file() else _folder_entries(path)
    tensors = _decode_entries(entries, path)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")  # per process: two runs may decode at once
    torch.save(dict(zip(("train_images", "train_labels", "test_images", "test_labels"), tensors)),
               tmp)
    tmp.replace(cache)  # atomic: an interrupted write never leaves a half cache
    return CifarData(*tensors, source)


def _fingerprint(path: Path) -> str:
    """sha256 of the archive's bytes, or of a folder's relative paths and file contents."""
    h = hashlib.sha256()
    if path.is_file():
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(str(file.relative_to(path).as_posix()).encode() + b"\0")
        h.update(file.read_bytes())
    return h.hexdigest()


def _folder_entries(root: Path) -> Iterator[_Entry]:
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        yield file.relative_to(root).parts, file.read_bytes


def _archive_entries(archive: Path) -> Iterator[_Entry]:
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                if member.isfile():
                    data = tar.extractfile(member).read()
                    yield tuple(Path(member.name).parts), (lambda d=data: d)
    except (tarfile.TarError, EOFError, OSError) as err:
        raise DataError(f"{archive}: the archive is unreadable or truncated ({err}).") from err


def _decode_entries(entries: Iterator[_Entry], origin: Path) -> tuple[torch.Tensor, ...]:
    """Check the layout and decode every image; errors name the offending file."""
    from PIL import Image

    found: dict[str, dict[str, list[tuple[str, bytes]]]] = {s: {} for s in SPLITS}
    prefix = None  # an optional single top-level folder, e.g. cifar10-jpeg/
    for parts, read in entries:
        if any(p.startswith(".") for p in parts):
            continue  # hidden files (.DS_Store, ._foo) are not images
        if parts[0] not in SPLITS and len(parts) == 4:
            if prefix not in (None, parts[0]):
                raise DataError(f"{origin}: more than one top-level folder ({prefix}/, "
                                f"{parts[0]}/); expected train/ and test/ (optionally inside "
                                f"one folder).")
            prefix, parts = parts[0], parts[1:]
        if len(parts) != 3 or parts[0] not in SPLITS:
            raise DataError(f"{origin}: unexpected entry {'/'.join(parts)}; expected the "
                            f"layout train/<class>/<image> and test/<class>/<image>.")
        split, cls, name = parts
        found[split].setdefault(cls, []).append((name, read()))

    tensors = []
    for split in SPLITS:
        classes = found[split]
        if not classes:
            raise DataError(f"{origin}: the {split} split is empty (no {split}/<class>/ images).")
        missing = [c for c in CLASSES if c not in classes]
        extra = sorted(set(classes) - set(CLASSES))
        if missing or extra:
            raise DataError(f"{origin}: {split}/ must hold exactly the 10 CIFAR-10 class folders "
                            f"{list(CLASSES)}; missing {missing}, unexpected {extra}.")
        images, labels = [], []
        for label, cls in enumerate(CLASSES):
            for name, data in sorted(classes[cls]):
                where = f"{origin}: {split}/{cls}/{name}"
                try:
                    with Image.open(io.BytesIO(data)) as img:
                        rgb = img.convert("RGB")
                except Exception as err:
                    raise DataError(f"{where} is not a readable image ({err}).") from err
                if rgb.size != (IMAGE_SIZE, IMAGE_SIZE):
                    raise DataError(f"{where} is {rgb.size[0]}x{rgb.size[1]}; CIFAR-10 images "
                                    f"are {IMAGE_SIZE}x{IMAGE_SIZE}.")
                images.append(torch.frombuffer(bytearray(rgb.tobytes()), dtype=torch.uint8))
                labels.append(label)
        tensors += [torch.stack(images).view(-1, IMAGE_SIZE, IMAGE_SIZE, 3)
                    .permute(0, 3, 1, 2).contiguous(), torch.tensor(labels, dtype=torch.int64)]
    return tuple(tensors)


# --------------------------------------------------------------------------- batches

def random_partition(n_total: int, sizes: list[int], seed: int) -> list[torch.Tensor]:
    """Disjoint random index sets of the given sizes (e.g. a validation hold-out)."""
    if sum(sizes) > n_total or min(sizes, default=0) < 0:
        raise ValueError(f"cannot take sizes {sizes} from {n_total} items")
    perm = torch.randperm(n_total, generator=torch.Generator().manual_seed(seed))
    return list(torch.split(perm[:sum(sizes)], sizes))


def augment_batch(images: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random ``pad``-pixel zero-padded crop and horizontal flip of a whole uint8 batch.

    The offsets and flips are drawn from ``generator`` on the CPU (a few hundred integers), then
    applied where the images are: the same batch on any device, and nothing crosses to the host.
    """
    n, c, h, w = images.shape
    padded = F.pad(images, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    flip = torch.rand(n, generator=generator) < 0.5
    dy, dx, flip = (t.to(images.device, non_blocking=True) for t in (dy, dx, flip))
    arange = partial(torch.arange, device=images.device)
    rows = (dy[:, None] + arange(h))[:, None, :, None]
    cols = (dx[:, None] + arange(w))[:, None, None, :]
    out = padded[arange(n)[:, None, None, None], arange(c)[None, :, None, None], rows, cols]
    return torch.where(flip[:, None, None, None], out.flip(3), out)


def iterate_batches(images: torch.Tensor, labels: torch.Tensor | None, batch_size: int,
                    generator: torch.Generator | None = None, augment: bool = False,
                    drop_last: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield ``(uint8 images, labels)`` batches; shuffled and augmented when a generator is given.

    The generator alone decides order and augmentation, so a run seeded per epoch replays
    exactly after a resume.
    """
    n = len(images)
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    order = order.to(images.device, non_blocking=True)  # images may live on the GPU
    stop = n - n % batch_size if drop_last and n > batch_size else n
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        x = images[idx]
        if augment:
            x = augment_batch(x, generator)
        yield x, (labels[idx.to(labels.device)] if labels is not None else None)


def to_float(images: torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 (N, 3, H, W) -> float in [0, 1], channels_last, on ``device``.

    Float images (e.g. adversarial ones) are taken to be in [0, 1] already and only moved.
    """
    images = images.to(device, non_blocking=True)
    if not images.is_floating_point():
        images = images.float().div_(255)
    return images.contiguous(memory_format=torch.channels_last)
