"""The published ResNet-20 (trained on the original images) that `python -m common.published`
evaluates on the data in use: its committed weights load into our network, a changed file is
refused, and each data source keeps one entry."""

import json

import pytest
import torch

from common import published
from common.data import CifarData


def test_the_committed_weights_load_into_our_resnet20():
    model = published.load_published()
    checkpoint = torch.load(published.WEIGHTS, map_location="cpu", weights_only=True)["state_dict"]
    assert torch.equal(model.stages[2][1].conv2.weight, checkpoint["module.layer3.1.conv2.weight"])
    assert sum(p.numel() for p in model.parameters()) == 269_722  # ResNet-20, as He et al.
    assert not model.training


def test_a_changed_weights_file_is_refused(tmp_path):
    changed = tmp_path / "resnet20.th"
    changed.write_bytes(published.WEIGHTS.read_bytes() + b"\0")
    with pytest.raises(ValueError, match="not the published checkpoint"):
        published.load_published(changed)


def test_measure_and_record_keep_one_entry_per_data_source(tmp_path):
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (20, 3, 32, 32), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 10, (20,), generator=g)
    data = CifarData(images, labels, images[:8], labels[:8], {"name": "noise", "fingerprint": "sha256:1"})
    entry = published.measure(published.load_published(), data)
    assert (entry["train_images"], entry["test_images"]) == (20, 8)
    assert 0 <= entry["test_acc"] <= 100
    path = tmp_path / "published.json"
    published.record(entry, data.source, path)
    published.record(entry | {"test_acc": 50.0}, data.source, path)
    published.record(entry, {"fingerprint": "sha256:2"}, path)
    found = json.loads(path.read_text())
    assert sorted(found) == ["sha256:1", "sha256:2"]
    assert found["sha256:1"]["test_acc"] == 50.0 and found["sha256:1"]["data_source"]["name"] == "noise"


def test_finetuning_trains_the_network_with_the_settings_it_reports():
    g = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (40, 3, 32, 32), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 10, (40,), generator=g)
    data = CifarData(images, labels, images[:10], labels[:10], {"name": "noise", "fingerprint": "sha256:1"})
    model = published.load_published()
    before = model.fc.weight.clone()
    found = published.finetune(model, data, device="cpu", epochs=1)
    assert not torch.equal(model.fc.weight, before)
    assert (found["epochs"], found["lr"], found["warmup_epochs"]) == (1, published.FINETUNE["lr"], 0.0)
    assert published.FINETUNE["lr"] == pytest.approx(0.02)  # a tenth of the study's peak
    assert found["train_images"] == 40 and 0 <= found["test_acc"] <= 100
