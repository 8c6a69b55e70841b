"""Training losses of the channel-gated models: batch-shaping and L0, and their schedules.

Batch-shaping (Bejnordi et al., ICLR 2020) pushes the distribution of every gate's
probability *over a batch* towards a Beta(a, b) prior with a, b < 1 (U-shaped): each gate is
then on for some images and off for others, i.e. truly conditional, instead of always on or
always off. For one gate with batch probabilities sorted x_(1) <= ... <= x_(N):

    L_BS = 1/N * sum_i (F_Beta(x_(i)) - i / (N + 1))^2

The Beta CDF (the regularized incomplete beta function) has no torch operator, so ``beta_cdf``
evaluates its continued fraction with torch operations on the gates' own device: training never
waits for the host. Its gradient is the Beta pdf clipped to [1e-3, 100] (the pdf is infinite at 0
and 1 when a, b < 1).
"""

from __future__ import annotations

import math
from functools import partial

import torch

PDF_CLIP = (1e-3, 100.0)
# Terms of the continued fraction: 20 agree with scipy's betainc to 1e-15 for the U-shaped priors
# (tests/test_losses.py checks the depth against scipy).
CDF_TERMS = 20


def check_prior(a: float, b: float) -> None:
    """Raise a clear error unless Beta(a, b) is a U-shaped prior (0 < a, b < 1)."""
    if not (0 < a < 1 and 0 < b < 1):
        raise ValueError(f"the batch-shaping prior Beta(a, b) needs a and b in (0, 1) "
                         f"(a U-shaped prior), got a={a}, b={b}")


def beta_pdf(x: torch.Tensor, a: float, b: float) -> torch.Tensor:
    """Density of Beta(a, b) at ``x`` in (0, 1)."""
    log_norm = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    return torch.exp(log_norm + (a - 1) * torch.log(x) + (b - 1) * torch.log1p(-x))


def _fraction_coefficients(a: float, b: float, terms: int) -> list[float]:
    """d_j / x of the continued fraction I_x(a, b) = x^a (1-x)^b / (a B(a, b)) / (1 + d_1 / (1 +
    d_2 / (1 + ...))), with d_2m+1 = -(a+m)(a+b+m) x / ((a+2m)(a+2m+1)) and d_2m = m(b-m) x /
    ((a+2m-1)(a+2m)) (Numerical Recipes, section 6.4)."""
    coefficients = []
    for j in range(1, terms + 1):
        m = j // 2
        coefficients.append(-(a + m) * (a + b + m) / ((a + 2 * m) * (a + 2 * m + 1)) if j % 2 else
                            m * (b - m) / ((a + 2 * m - 1) * (a + 2 * m)))
    return coefficients


def beta_cdf(x: torch.Tensor, a: float, b: float, terms: int = CDF_TERMS) -> torch.Tensor:
    """F_Beta(x; a, b) elementwise, in float64, on ``x``'s device (no host round trip).

    The continued fraction converges fast for x < (a+1)/(a+b+2); above that it is evaluated as
    1 - I_(1-x)(b, a). A fixed number of terms, evaluated from the tail, keeps it branch-free.
    """
    x = x.double()
    swap = x > (a + 1) / (a + b + 2)
    side = swap.long()  # 0: I_x(a, b); 1: 1 - I_(1-x)(b, a)
    table = partial(torch.tensor, dtype=torch.float64, device=x.device)
    coefficients = table([_fraction_coefficients(a, b, terms), _fraction_coefficients(b, a, terms)])[side]
    log_beta = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    log_scale = table([-log_beta - math.log(a), -log_beta - math.log(b)])[side]
    first, second = table([a, b])[side], table([b, a])[side]
    z = torch.where(swap, 1 - x, x).clamp(0, 1)
    fraction = torch.ones_like(z)
    for j in range(terms - 1, -1, -1):
        fraction = 1 + coefficients[..., j] * z / fraction
    lower = torch.exp(log_scale + first * torch.log(z) + second * torch.log1p(-z)) / fraction
    return torch.where(swap, 1 - lower, lower)


class BetaCDF(torch.autograd.Function):
    """F_Beta(x; a, b) with the clipped pdf as its gradient."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, a: float, b: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.prior = (a, b)
        return beta_cdf(x.detach(), a, b).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        (x,) = ctx.saved_tensors
        eps = torch.finfo(x.dtype).eps
        pdf = beta_pdf(x.clamp(eps, 1 - eps), *ctx.prior).clamp(*PDF_CLIP)
        return grad_output * pdf, None, None


def _check_probs(probs: torch.Tensor, validate: bool) -> None:
    if probs.ndim != 2:
        raise ValueError(f"probs must have shape (batch, gates), got {tuple(probs.shape)}")
    if validate and len(probs) > 0 and (probs.min() < 0 or probs.max() > 1):
        raise ValueError("probs must be probabilities in [0, 1] (apply sigmoid to the logits)")


def batch_shaping_loss(probs: torch.Tensor, a: float = 0.6, b: float = 0.4,
                       validate: bool = True) -> torch.Tensor:
    """Batch-shaping loss of gate probabilities ``probs`` (batch, gates), averaged over gates.

    ``validate=False`` skips the check that the values lie in [0, 1] (as torch.distributions'
    ``validate_args``): reading them makes the host wait for the device, which the training step,
    whose probabilities are sigmoids, must not do.
    """
    check_prior(a, b)
    _check_probs(probs, validate)
    n = len(probs)
    if n < 2:
        raise ValueError(f"batch-shaping compares a distribution over the batch: needs a batch "
                         f"of at least 2, got {n}")
    sorted_probs, _ = torch.sort(probs.float(), dim=0)
    empirical = torch.arange(1, n + 1, device=probs.device, dtype=torch.float32) / (n + 1)
    cdf = BetaCDF.apply(sorted_probs, a, b)
    return ((cdf - empirical[:, None]) ** 2).sum(dim=0).div(n).mean()


def l0_loss(probs: torch.Tensor, costs: torch.Tensor | None = None,
            validate: bool = True) -> torch.Tensor:
    """The expected fraction of gates that are on: mean of P(gate on) over batch and gates.

    With ``costs`` (one per gate, e.g. the MACs its channel costs) each gate counts by its cost,
    so the loss is the expected fraction of the gated MACs executed: compute itself, not the
    channel count, is what the penalty prices. ``validate`` as in ``batch_shaping_loss``.
    """
    _check_probs(probs, validate)
    if costs is None:
        return probs.float().mean()
    if costs.shape != probs.shape[1:] or (validate and (costs < 0).any()):
        raise ValueError(f"costs must be one non-negative value per gate, shape "
                         f"{tuple(probs.shape[1:])}, got {tuple(costs.shape)}")
    return (probs.float().mean(0) * costs).sum() / costs.sum()


def gating_loss_weights(progress: float, bs_weight: float, l0_weight: float,
                        bs_until: float | None = 0.2, l0_start: float = 0.2,
                        l0_full: float = 0.6) -> tuple[float, float]:
    """(batch-shaping weight, L0 weight) at ``progress`` (fraction of training, 0..1).

    Batch-shaping starts at ``bs_weight`` and decays linearly to 0 by ``bs_until`` (``None``:
    held at ``bs_weight`` throughout, so the gates keep being pushed to be conditional); L0 is 0
    until ``l0_start``, rises linearly to ``l0_weight`` by ``l0_full``, then stays there. First
    the gates learn to be conditional, then L0 switches the unneeded ones off.
    """
    if bs_weight < 0 or l0_weight < 0:
        raise ValueError(f"loss weights must be >= 0 (got bs_weight={bs_weight}, "
                         f"l0_weight={l0_weight})")
    if not 0 <= l0_start < l0_full <= 1 or not (bs_until is None or 0 < bs_until <= 1):
        raise ValueError("schedule points must satisfy 0 < bs_until <= 1 (or None) and "
                         "0 <= l0_start < l0_full <= 1")
    progress = min(1.0, max(0.0, progress))
    bs = bs_weight if bs_until is None else bs_weight * max(0.0, 1 - progress / bs_until)
    l0 = l0_weight * min(1.0, max(0.0, (progress - l0_start) / (l0_full - l0_start)))
    return bs, l0
