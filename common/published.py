"""A published ResNet-20, trained on the original CIFAR-10 images, evaluated on the data in use.

    python -m common.published --data ../shared/data/cifar10-jpeg.tar.gz

akamaster/pytorch_resnet_cifar10's ResNet-20 (91.73% on the original test images, its README)
is our network under other names, so its weights load unchanged (``from_akamaster``). On the
original images the command reproduces that accuracy, a check of the conversion; on another copy
of CIFAR-10 it measures how far that copy moves a network that never saw it. Then it fine-tunes
the network on the copy's training images (``FINETUNE``, fixed before it ever ran: 10 epochs of
the study's recipe at a tenth of its peak learning rate, no warm-up) and scores the last epoch on
the test images, which choose nothing: how high a ResNet-20 that learnt from the original images
gets on the copy. Each data source gets its own entry in
``results/published/akamaster_resnet20.json``, keyed by its fingerprint. The weights and their
licence are committed beside it (``results/published/``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import torch

from .config import TrainConfig, resolve_device, resolve_precision
from .data import load_cifar10
from .evaluation import evaluate
from .literature import RESNET20
from .models.resnet import CifarResNet, from_akamaster
from .paths import PUBLISHED_CHECK, RESULTS_DIR, portable
from .provenance import provenance
from .train import Schedule, fit_epoch, make_optimizer, to_device

WEIGHTS = RESULTS_DIR / "published" / "resnet20-12fca82f.th"
URL = ("https://github.com/akamaster/pytorch_resnet_cifar10/raw/master/pretrained_models/"
       "resnet20-12fca82f.th")
SHA256 = "12fca82f0bebc4135bf1f32f6e3710e61d5108578464b84fd6d7f5c1b04036c8"
SOURCE = RESNET20[1]  # the literature entry these weights belong to
FINETUNE = dict(epochs=10, lr=TrainConfig.lr / 10, warmup_epochs=0.0)


def load_published(path: Path = WEIGHTS) -> CifarResNet:
    """The published ResNet-20 from its checkpoint file, after checking the file's sha256."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    if digest != SHA256:
        raise ValueError(f"{path} is not the published checkpoint (sha256 {digest[:12]}…, expected "
                         f"{SHA256[:12]}…); download it again from {URL}")
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    return from_akamaster(checkpoint["state_dict"]).eval()


def measure(model: torch.nn.Module, data, device: str = "cpu") -> dict:
    """Test and training accuracy (%) of ``model`` on ``data`` (a ``CifarData``), in fp32."""
    return {"test_acc": evaluate(model, data.test_images, data.test_labels, device=device)["acc"],
            "train_acc": evaluate(model, data.train_images, data.train_labels, device=device)["acc"],
            "test_images": len(data.test_labels), "train_images": len(data.train_labels)}


def finetune(model: torch.nn.Module, data, device: str = "auto", seed: int = 0, **settings) -> dict:
    """Fine-tune ``model`` in place on ``data``'s training images with the study's recipe and
    ``FINETUNE`` (``settings`` override it), then ``measure`` it; with the settings used."""
    config = TrainConfig.from_profile("full", seed=seed, **(FINETUNE | settings))
    dev = resolve_device(device)
    precision = resolve_precision(config.precision, dev)
    model = to_device(model, dev)
    optimizer = make_optimizer(model, config)
    schedule = Schedule.of(config, len(data.train_labels))
    criterion = torch.nn.CrossEntropyLoss()
    torch.manual_seed(seed)
    for epoch in range(config.epochs):
        fit_epoch(model, optimizer, criterion, data.train_images, data.train_labels, config, epoch,
                  schedule, dev, precision)
    return measure(model.eval(), data, dev) | {
        "epochs": config.epochs, "lr": config.lr, "warmup_epochs": config.warmup_epochs,
        "seed": seed, "precision": precision, "device": dev.type}


def record(entry: dict, data_source: dict, path: Path) -> dict:
    """Add ``entry`` for ``data_source`` to the file at ``path`` (one entry per fingerprint)."""
    found = json.loads(path.read_text()) if path.exists() else {}
    found[data_source["fingerprint"]] = entry | {"data_source": data_source}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(found, indent=2, sort_keys=True) + "\n")
    return found


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="CIFAR-10 source (default: $CIFAR10, else torchvision)")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    data = load_cifar10(args.data)
    entry = measure(load_published(), data) | {
        "network": SOURCE.network, "source": SOURCE.source, "weights": URL, "sha256": SHA256,
        "published_test_acc": SOURCE.static_acc, "published_setting": SOURCE.setting,
        "provenance": provenance()}
    print(f"{SOURCE.source}'s {SOURCE.network} on {data.source['name']}: test {entry['test_acc']:.2f}% "
          f"(published {SOURCE.static_acc:.2f}% on the original images), training images "
          f"{entry['train_acc']:.2f}%", flush=True)
    entry["finetuned"] = finetune(load_published(), data, args.device)
    path = args.results / PUBLISHED_CHECK
    record(entry, data.source, path)
    print(f"fine-tuned on its training images ({FINETUNE['epochs']} epochs): test "
          f"{entry['finetuned']['test_acc']:.2f}%, training images {entry['finetuned']['train_acc']:.2f}%; "
          f"wrote {portable(path)}")


if __name__ == "__main__":
    main()
