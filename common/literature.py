"""Published numbers the study is compared with, each with its source. These are citations, not
results of this repository: the report prints them beside its own runs and never mixes them in.
"""

from __future__ import annotations

from typing import NamedTuple


class Published(NamedTuple):
    source: str
    network: str
    setting: str
    static_acc: float  # CIFAR-10 test accuracy (%) of the static network
    dynamic_acc: float = float("nan")  # of its dynamic-convolution version, where there is one

    @property
    def gain(self) -> float:
        return self.dynamic_acc - self.static_acc


# ResNet-20 on CIFAR-10: the paper, and two public re-trainings with recipes close to ours.
RESNET20 = [
    Published("He et al. 2016 (Table 6)", "ResNet-20", "original images, 64k iterations (~164 epochs)",
              91.25),
    Published("akamaster/pytorch_resnet_cifar10", "ResNet-20", "200 epochs, step schedule", 91.73),
    Published("chenyaofo/pytorch-cifar-models", "ResNet-20",
              "200 epochs, cosine, lr 0.1, wd 5e-4, Nesterov", 92.60),
]
HE_RESNET20_ACC = RESNET20[0].static_acc

# Dynamic convolution re-implemented on CIFAR-10, each network without and with it: DyRes's README
# CIFAR-10 table as last shown (github.com/Nyquixt/DyRes, 2020-09; its "Basic" and "DyConv" columns)
# and kaijieshi7/Dynamic-convolution-Pytorch's README (CIFAR-10 is its main.py's default dataset).
DY_REIMPLEMENTATIONS = [
    Published("DyRes (github.com/Nyquixt/DyRes)", "AlexNet", "CIFAR-10", 86.26, 86.89),
    Published("DyRes (github.com/Nyquixt/DyRes)", "ResNet-18", "CIFAR-10", 94.12, 94.24),
    Published("DyRes (github.com/Nyquixt/DyRes)", "MobileNetV2", "CIFAR-10", 92.99, 93.52),
    Published("kaijieshi7 (github.com/kaijieshi7/Dynamic-convolution-Pytorch)", "VGG-11", "CIFAR-10", 89.29, 90.33),
]


def dy_gain_range() -> tuple[float, float]:
    """The smallest and largest gain (points) of ``DY_REIMPLEMENTATIONS``."""
    gains = [p.gain for p in DY_REIMPLEMENTATIONS]
    return min(gains), max(gains)


def dy_gains_text() -> str:
    """"+0.04 to +0.66 points (DyRes (github.com/Nyquixt/DyRes): LeNet (BN) +0.04, …)", for prose."""
    low, high = dy_gain_range()
    sources = dict.fromkeys(p.source for p in DY_REIMPLEMENTATIONS)
    return (f"{low:+.2f} to {high:+.2f} points ("
            + "; ".join(f"{source}: " + ", ".join(f"{p.network} {p.gain:+.2f}"
                                                  for p in DY_REIMPLEMENTATIONS if p.source == source)
                        for source in sources) + ")")
