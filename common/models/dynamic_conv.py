"""Dynamic convolution (Chen et al., CVPR 2020): K kernels mixed per sample by attention.

    pi(x) = softmax(FC(ReLU(FC(GAP(x)))) / tau)        # (N, K), pi >= 0, sums to 1
    y     = conv(x, sum_k pi_k(x) W_k)                  # one kernel per sample

Two exact ways to compute y (convolution is linear in the kernel):

* ``"aggregate"``: mix the K kernels per sample, then one grouped convolution over the batch
  (groups = N); costs K*out*in*k*k MACs per sample for the mixing.
* ``"dense"``: run the K kernels as one convolution with K*out output channels, then mix the
  K outputs with pi; costs K times the convolution, but uses the fast dense kernels.

``mode="auto"`` picks between them with the rule in ``choose_mode`` (measured by
``common.bench``). The temperature tau is a buffer, so it is saved with the weights and in
checkpoints; ``set_temperature(model, tau)`` sets it for every layer.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn as nn
import torch.nn.functional as F

MODES = ("auto", "aggregate", "dense")


class DynamicConv2d(nn.Module):
    """A convolution whose kernel is an input-dependent mixture of ``num_kernels`` kernels."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 3, stride: int = 1,
                 padding: int | str = 1, num_kernels: int = 4, reduction: int = 4, bias: bool = False,
                 min_hidden: int = 4, temperature: float = 30.0, final_temperature: float = 1.0,
                 anneal_epochs: float = 10.0, mode: str = "auto"):
        super().__init__()
        problems = []
        if padding == "same":
            if kernel_size % 2 == 0:
                problems.append(f"'same' padding needs an odd kernel_size (got {kernel_size})")
            padding = (kernel_size - 1) // 2
        if num_kernels < 1:
            problems.append(f"num_kernels must be >= 1 (got {num_kernels})")
        if reduction < 1:
            problems.append(f"reduction must be >= 1 (got {reduction})")
        if in_ch < 1 or out_ch < 1 or kernel_size < 1 or stride < 1 or padding < 0:
            problems.append("channels, kernel_size and stride must be >= 1, padding >= 0")
        if temperature <= 0 or final_temperature <= 0 or anneal_epochs < 0:
            problems.append("temperatures must be > 0 and anneal_epochs >= 0")
        if mode not in MODES:
            problems.append(f"mode must be one of {MODES} (got {mode!r})")
        if problems:
            raise ValueError("bad DynamicConv2d: " + "; ".join(problems))
        self.in_ch, self.out_ch, self.kernel_size = in_ch, out_ch, kernel_size
        self.stride, self.padding, self.num_kernels, self.mode = stride, padding, num_kernels, mode
        hidden = max(min_hidden, in_ch // reduction)
        self.attention = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                       nn.Linear(in_ch, hidden), nn.ReLU(inplace=True),
                                       nn.Linear(hidden, num_kernels))
        self.weight = nn.Parameter(torch.empty(num_kernels, out_ch, in_ch, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(num_kernels, out_ch)) if bias else None
        self.register_buffer("temperature", torch.tensor(float(temperature)))
        self.schedule = (float(temperature), float(final_temperature), float(anneal_epochs))
        self.record_attention = False  # set by collect_attention(); keeps pi of the last batch
        self.last_attention: torch.Tensor | None = None
        self.fixed_attention: torch.Tensor | None = None  # (K,): same pi for every image (ablation)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Each kernel initialised like a standard convolution (He normal, fan-in)."""
        for k in range(self.num_kernels):
            nn.init.kaiming_normal_(self.weight[k])

    def update_schedule(self, epoch: float) -> None:
        """Called by the trainer before every step: tau at ``epoch`` by ``self.schedule`` (start,
        end, epochs of the linear anneal; ``temperature_at``)."""
        self.temperature.fill_(temperature_at(epoch, *self.schedule))

    def apply_weight_decay_(self, weight_decay: float) -> None:
        """This layer's weight decay, added to its gradients before each optimizer step (a step
        pre-hook set up by ``common.train.make_optimizer``, which leaves these parameters out of
        the optimizer's own decay).

        Plain decay of every kernel collapses dynamic convolution: while tau is large, pi is
        near-uniform, so the K kernels receive the same gradient and decay only shrinks their
        differences, by the same factor at every step;
        with identical kernels pi has no gradient and the attention weights decay to nothing,
        leaving a static ResNet-20. So: decay only the mean kernel (what the
        layer computes under uniform attention, exactly the static model's decay when K=1) and
        not the attention branch, whose weight scale acts as an inverse temperature.
        """
        if self.weight.grad is not None:
            self.weight.grad.add_(self.weight.detach().mean(0, keepdim=True), alpha=weight_decay)

    def attention_weights(self, x: torch.Tensor) -> torch.Tensor:
        """pi(x): (N, K) softmax over the kernels at the current temperature.

        Computes ``self.attention`` (pool, flatten, FC, ReLU, FC) through its layers' functions:
        at batch 1 the six module calls of the ``nn.Sequential`` cost more than its arithmetic.
        """
        fc1, fc2 = self.attention[2], self.attention[4]
        hidden = F.relu(F.linear(x.mean((2, 3)), fc1.weight, fc1.bias))
        return torch.softmax(F.linear(hidden, fc2.weight, fc2.bias).float() / self.temperature, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fixed_attention is not None:
            pi = self.fixed_attention.to(x.device).expand(len(x), -1)
        else:
            pi = self.attention_weights(x)
        if self.record_attention:
            self.last_attention = pi.detach()
        mode = choose_mode(self.training, x.device.type) if self.mode == "auto" else self.mode
        return self.forward_with(x, pi, mode)

    def forward_with(self, x: torch.Tensor, pi: torch.Tensor, mode: str) -> torch.Tensor:
        """The convolution for given attention ``pi`` (N, K), computed one of the two ways."""
        n = len(x)
        pi = pi.to(x.dtype) if x.dtype in (torch.float16, torch.bfloat16) else pi
        if mode == "aggregate":
            # (N, K) @ (K, out*in*k*k): the N per-image kernels in one matmul
            weight = torch.mm(pi.to(self.weight.dtype), self.weight.view(self.num_kernels, -1))
            if n == 1 and self.bias is None:  # latency path: a plain conv, no grouped reshape
                weight = weight.view(self.weight.shape[1:])
                if x.is_contiguous(memory_format=torch.channels_last):
                    # a kernel in the input's layout: the conv then needs no reordering
                    weight = weight.contiguous(memory_format=torch.channels_last)
                return F.conv2d(x, weight, stride=self.stride, padding=self.padding)
            out = F.conv2d(x.reshape(1, n * self.in_ch, *x.shape[2:]),
                           weight.view(n * self.out_ch, self.in_ch, *self.weight.shape[3:]),
                           stride=self.stride, padding=self.padding, groups=n)
            out = out.view(n, self.out_ch, *out.shape[2:])
            if self.bias is not None:
                out = out + (pi.to(self.bias.dtype) @ self.bias)[:, :, None, None]
            return out
        if mode == "dense":
            weight = self.weight.reshape(self.num_kernels * self.out_ch, self.in_ch,
                                         *self.weight.shape[3:])
            bias = self.bias.reshape(-1) if self.bias is not None else None
            out = F.conv2d(x, weight, bias, stride=self.stride, padding=self.padding)
            out = out.view(n, self.num_kernels, self.out_ch, *out.shape[2:])
            return torch.einsum("nk,nkohw->nohw", pi.to(out.dtype), out)
        raise ValueError(f"mode must be 'aggregate' or 'dense', not {mode!r}")

    def extra_repr(self) -> str:
        return (f"{self.in_ch}, {self.out_ch}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, num_kernels={self.num_kernels}, "
                f"mode={self.mode}")


def choose_mode(training: bool, device_type: str = "cpu") -> str:
    """Which exact computation to run: "dense" for CUDA training, where the grouped convolution
    of N per-sample kernels is slow in cuDNN, "aggregate" everywhere else.

    The rule follows ``python -m common.bench dynamic`` (CPU: ``results/benchmarks/
    dynamic_conv_throughput.json``; CUDA: ``--device cuda`` writes ``..._cuda.json``).
    """
    return "dense" if device_type == "cuda" and training else "aggregate"


def set_temperature(model: nn.Module, temperature: float) -> None:
    """Set tau of every DynamicConv2d in ``model``."""
    for m in model.modules():
        if isinstance(m, DynamicConv2d):
            m.temperature.fill_(temperature)


def temperature_at(epoch: float, start: float = 30.0, end: float = 1.0,
                   anneal_epochs: float = 10.0) -> float:
    """tau annealed linearly from ``start`` to ``end`` over the first ``anneal_epochs`` epochs."""
    if anneal_epochs <= 0:
        return end
    return start + (end - start) * min(1.0, max(0.0, epoch / anneal_epochs))


def kernel_sizes(layer: DynamicConv2d) -> tuple[float, float]:
    """(RMS distance of a kernel from the layer's mean kernel, the mean kernel's RMS): how far
    apart the K kernels are, and how large the part they share is."""
    bank = layer.weight.detach().float()
    mean = bank.mean(0)
    return (bank - mean).pow(2).mean().sqrt().item(), mean.pow(2).mean().sqrt().item()


def kernel_diversity(layer: DynamicConv2d) -> float:
    """How different the K kernels are: ``kernel_sizes``' distance relative to the mean kernel.
    About sqrt(K - 1) at initialisation, 0 when all are identical."""
    spread, mean = kernel_sizes(layer)
    return spread / mean if mean else float("inf") if spread else float("nan")


def dynamic_layers(model: nn.Module) -> dict[str, DynamicConv2d]:
    """The model's DynamicConv2d layers by name, in forward order."""
    return {name: m for name, m in model.named_modules() if isinstance(m, DynamicConv2d)}


@contextlib.contextmanager
def fixed_attention(model: nn.Module, attention: dict[str, torch.Tensor]):
    """Within the block, layer ``name`` uses the attention vector ``attention[name]`` (K,) for
    every image instead of computing pi(x): e.g. the mean pi, to measure what input dependence buys.
    """
    layers = dynamic_layers(model)
    unknown = set(attention) - set(layers)
    if unknown:
        raise KeyError(f"no dynamic layers named {sorted(unknown)}")
    try:
        for name, pi in attention.items():
            layers[name].fixed_attention = pi
        yield model
    finally:
        for name in attention:
            layers[name].fixed_attention = None
