import shutil
import tarfile

import pytest
import torch
from PIL import Image

from common.data import (CLASSES, DataError, augment_batch, iterate_batches, load_cifar10,
                         random_partition, resolve_source, to_float)
from conftest import make_archive, make_image_folder


def test_folder_loads_in_class_order(tiny_folder, cache_dir):
    data = load_cifar10(tiny_folder, cache_dir=cache_dir)
    assert data.train_images.shape == (60, 3, 32, 32) and data.train_images.dtype == torch.uint8
    assert data.test_images.shape == (20, 3, 32, 32)
    assert data.train_labels.tolist() == [c for c in range(10) for _ in range(6)]
    assert data.source["kind"] == "image-folder"
    assert data.source["fingerprint"].startswith("sha256:")
    # the stripe conftest draws at row 3*label is white in every channel
    assert (data.train_images[6 * 4, :, 12] == 255).all()


def test_archive_equals_folder(tiny_folder, tmp_path, cache_dir):
    archive = make_archive(tiny_folder, tmp_path / "c.tar.gz")
    from_folder = load_cifar10(tiny_folder, cache_dir=cache_dir)
    from_archive = load_cifar10(archive, cache_dir=cache_dir)
    for a, b in zip(from_folder[:4], from_archive[:4]):
        assert torch.equal(a, b)
    assert from_archive.source["fingerprint"] != from_folder.source["fingerprint"]


def test_second_load_comes_from_cache(tiny_folder, tmp_path, cache_dir, monkeypatch):
    archive = make_archive(tiny_folder, tmp_path / "c.tar")
    first = load_cifar10(archive, cache_dir=cache_dir)
    assert len(list(cache_dir.glob("cifar10-*.pt"))) == 1

    def no_decoding(*args):
        raise AssertionError("decoded again instead of using the cache")

    monkeypatch.setattr("common.data._decode_entries", no_decoding)
    again = load_cifar10(archive, cache_dir=cache_dir)
    assert torch.equal(first.train_images, again.train_images)
    monkeypatch.undo()
    # a corrupt cache is a derived file: it is rebuilt, not an error
    next(cache_dir.glob("cifar10-*.pt")).write_bytes(b"garbage")
    assert torch.equal(first.train_images, load_cifar10(archive, cache_dir=cache_dir).train_images)


def test_cache_is_keyed_by_content(tmp_path, cache_dir):
    folder = make_image_folder(tmp_path / "a", seed=0)
    first = load_cifar10(folder, cache_dir=cache_dir)
    make_image_folder(folder, seed=5)  # same names, new pixels
    second = load_cifar10(folder, cache_dir=cache_dir)
    assert first.source["fingerprint"] != second.source["fingerprint"]
    assert not torch.equal(first.train_images, second.train_images)


def test_source_from_environment(tiny_folder, monkeypatch):
    monkeypatch.setenv("CIFAR10", str(tiny_folder))
    assert resolve_source(None) == str(tiny_folder)
    assert resolve_source("torchvision") == "torchvision"
    monkeypatch.delenv("CIFAR10")
    assert resolve_source(None) == "torchvision"


def test_offline_torchvision_names_alternatives(tmp_path):
    with pytest.raises(DataError, match="CIFAR10=") as err:
        load_cifar10(f"torchvision:{tmp_path}", download=False)
    assert str(tmp_path) in str(err.value)


# ---------------------------------------------------------------- bad input, one clear error each

def _copy(tiny_folder, tmp_path):
    return shutil.copytree(tiny_folder, tmp_path / "copy")


def test_missing_path(tmp_path, cache_dir):
    with pytest.raises(DataError, match="does not exist"):
        load_cifar10(tmp_path / "nowhere", cache_dir=cache_dir)


def test_file_that_is_not_an_archive(tmp_path, cache_dir):
    bogus = tmp_path / "cifar.tar.gz"
    bogus.write_text("not a tar file")
    with pytest.raises(DataError, match="not a .tar"):
        load_cifar10(bogus, cache_dir=cache_dir)


def test_truncated_archive(tiny_folder, tmp_path, cache_dir):
    archive = make_archive(tiny_folder, tmp_path / "c.tar")
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="c.tar"):
        load_cifar10(archive, cache_dir=cache_dir)


def test_wrong_layout(tiny_folder, tmp_path, cache_dir):
    root = _copy(tiny_folder, tmp_path)
    (root / "train" / "cat" / "nested").mkdir()
    shutil.copy(root / "train" / "cat" / "0000.png", root / "train" / "cat" / "nested" / "x.png")
    with pytest.raises(DataError, match="unexpected entry train/cat/nested/x.png"):
        load_cifar10(root, cache_dir=cache_dir)


def test_missing_class_folder(tiny_folder, tmp_path, cache_dir):
    root = _copy(tiny_folder, tmp_path)
    shutil.rmtree(root / "test" / "frog")
    with pytest.raises(DataError, match=r"test/ must hold .*missing \['frog'\]"):
        load_cifar10(root, cache_dir=cache_dir)


def test_extra_class_folder(tiny_folder, tmp_path, cache_dir):
    root = _copy(tiny_folder, tmp_path)
    shutil.copytree(root / "train" / "cat", root / "train" / "kitten")
    with pytest.raises(DataError, match=r"unexpected \['kitten'\]"):
        load_cifar10(root, cache_dir=cache_dir)


def test_unreadable_image(tiny_folder, tmp_path, cache_dir):
    root = _copy(tiny_folder, tmp_path)
    (root / "train" / "dog" / "0003.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(DataError, match="train/dog/0003.png is not a readable image"):
        load_cifar10(root, cache_dir=cache_dir)


def test_wrongly_sized_image(tiny_folder, tmp_path, cache_dir):
    root = _copy(tiny_folder, tmp_path)
    Image.new("RGB", (64, 48)).save(root / "test" / "ship" / "0001.png")
    with pytest.raises(DataError, match="test/ship/0001.png is 64x48"):
        load_cifar10(root, cache_dir=cache_dir)


def test_empty_split(tiny_folder, tmp_path, cache_dir):
    root = _copy(tiny_folder, tmp_path)
    shutil.rmtree(root / "test")
    with pytest.raises(DataError, match="test split is empty"):
        load_cifar10(root, cache_dir=cache_dir)


def test_two_top_level_folders_in_archive(tiny_folder, tmp_path, cache_dir):
    archive = tmp_path / "two.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(tiny_folder, arcname="a")
        tar.add(tiny_folder, arcname="b")
    with pytest.raises(DataError, match="more than one top-level folder"):
        load_cifar10(archive, cache_dir=cache_dir)


def test_hidden_files_are_ignored(tiny_folder, tmp_path, cache_dir):
    root = _copy(tiny_folder, tmp_path)
    (root / "train" / "cat" / ".DS_Store").write_bytes(b"junk")
    assert len(load_cifar10(root, cache_dir=cache_dir).train_labels) == 60


# ---------------------------------------------------------------- batches and augmentation

def test_augment_is_a_shifted_flipped_crop():
    images = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    out = augment_batch(images, torch.Generator().manual_seed(0))
    assert out.shape == images.shape and out.dtype == torch.uint8
    for img, aug in zip(images, out):
        # some shift (dy, dx) in [-4, 4]^2, possibly flipped, reproduces the crop's interior
        candidates = [aug, aug.flip(2)]
        padded = torch.nn.functional.pad(img, (4, 4, 4, 4))
        assert any(torch.equal(padded[:, dy:dy + 32, dx:dx + 32], c)
                   for c in candidates for dy in range(9) for dx in range(9))


def test_augment_flips_about_half_and_pads_four_pixels():
    """The crop offsets span the whole 4-pixel padding (zero rows or columns of up to 4 pixels
    show at every edge) and about half the images are mirrored: never flipping, or padding
    by 2, fails here."""
    images = torch.full((2000, 3, 32, 32), 255, dtype=torch.uint8)
    images[:, :, :, :16] = 100  # a left half that tells a flipped image from an unflipped one
    out = augment_batch(images, torch.Generator().manual_seed(0))
    # column 8 shows original columns 4..12 (left half) unflipped, 19..27 (right half) flipped
    flipped = (out[:, 0, 16, 8] == 255).float().mean().item()
    assert 0.45 < flipped < 0.55
    zero_rows_top = (out[:, 0, :, 16] == 0).int().cumprod(1).sum(1)  # padding seen at the top
    zero_cols_left = (out[:, 0, 16, :] == 0).int().cumprod(1).sum(1)
    assert zero_rows_top.max() == 4 and zero_cols_left.max() == 4
    assert set(zero_rows_top.tolist()) == set(range(5))  # every offset 0..4 occurs
    assert ((out[:, 0, -1, 16] == 0).float().mean() > 0.3)  # and at the bottom


def test_augment_is_seeded_and_varied():
    images = torch.randint(0, 256, (128, 3, 32, 32), dtype=torch.uint8)
    a = augment_batch(images, torch.Generator().manual_seed(1))
    b = augment_batch(images, torch.Generator().manual_seed(1))
    c = augment_batch(images, torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert (a != images).flatten(1).any(1).float().mean() > 0.8  # nearly all images changed


def test_iterate_batches_covers_everything_once():
    images = torch.arange(10).view(10, 1, 1, 1).expand(10, 3, 32, 32).to(torch.uint8)
    labels = torch.arange(10)
    seen = torch.cat([y for _, y in iterate_batches(images, labels, 4,
                                                      torch.Generator().manual_seed(0))])
    assert sorted(seen.tolist()) == list(range(10)) and seen.tolist() != list(range(10))
    dropped = [len(y) for _, y in iterate_batches(images, labels, 4, drop_last=True)]
    assert dropped == [4, 4]


def test_to_float_range_and_layout():
    x = to_float(torch.tensor([0, 255], dtype=torch.uint8).view(1, 1, 1, 2).expand(2, 3, 2, 2))
    assert x.min() == 0 and x.max() == 1 and x.is_contiguous(memory_format=torch.channels_last)


def test_random_partition_is_disjoint():
    a, b = random_partition(100, [10, 50], seed=3)
    assert len(set(a.tolist()) | set(b.tolist())) == 60
    with pytest.raises(ValueError):
        random_partition(10, [8, 8], seed=0)


def test_classes_are_cifar_order():
    assert CLASSES[0] == "airplane" and CLASSES[-1] == "truck" and len(CLASSES) == 10
