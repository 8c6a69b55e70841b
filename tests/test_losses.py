import numpy as np
import pytest
import torch
from scipy import stats

from common.losses import CDF_TERMS, batch_shaping_loss, beta_cdf, beta_pdf, gating_loss_weights, l0_loss


def reference_batch_shaping(probs: np.ndarray, a: float, b: float) -> float:
    """The loss written out with scipy.stats, one gate at a time."""
    n, gates = probs.shape
    total = 0.0
    for j in range(gates):
        x = np.sort(probs[:, j])
        empirical = np.arange(1, n + 1) / (n + 1)
        total += np.sum((stats.beta(a, b).cdf(x) - empirical) ** 2) / n
    return total / gates


def test_value_matches_an_independent_computation():
    probs = torch.rand(64, 7, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for a, b in [(0.6, 0.4), (0.3, 0.8)]:
        expected = reference_batch_shaping(probs.numpy(), a, b)
        assert batch_shaping_loss(probs, a, b).item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("a, b", [(0.6, 0.4), (0.3, 0.8), (0.1, 0.1), (0.95, 0.95), (0.99, 0.01)])
def test_beta_cdf_matches_scipy_over_the_unit_interval(a, b):
    """The continued fraction at its fixed depth against scipy's betainc: everywhere in [0, 1]
    (the ends, the switch point (a+1)/(a+b+2) and next to it, a fine grid), and a depth of a
    quarter of the terms is measurably worse (so the depth is doing the work)."""
    from scipy.special import betainc

    switch = (a + 1) / (a + b + 2)
    x = torch.cat([torch.linspace(0, 1, 20_001, dtype=torch.float64),
                   torch.tensor([1e-30, 1e-9, 1 - 1e-9, switch, switch - 1e-9, switch + 1e-9],
                                dtype=torch.float64)])
    expected = torch.from_numpy(betainc(a, b, x.numpy()))
    assert (beta_cdf(x, a, b) - expected).abs().max() < 1e-12
    assert (beta_cdf(x, a, b, terms=CDF_TERMS // 4) - expected).abs().max() > 1e-9
    assert beta_cdf(torch.tensor([0.0, 1.0]), a, b).tolist() == [0.0, 1.0]


def test_gradient_matches_finite_differences():
    # away from 0 and 1 the clipped pdf is the true derivative of the CDF
    probs = (0.05 + 0.9 * torch.rand(16, 3, generator=torch.Generator().manual_seed(1),
                                     dtype=torch.float64)).requires_grad_()
    loss = batch_shaping_loss(probs)
    (grad,) = torch.autograd.grad(loss, probs)
    eps, numeric = 1e-6, torch.zeros_like(probs)
    for idx in np.ndindex(*probs.shape):
        shifted = probs.detach().clone()
        shifted[idx] += eps
        up = reference_batch_shaping(shifted.numpy(), 0.6, 0.4)
        shifted[idx] -= 2 * eps
        down = reference_batch_shaping(shifted.numpy(), 0.6, 0.4)
        numeric[idx] = (up - down) / (2 * eps)
    assert torch.allclose(grad, numeric, rtol=1e-4, atol=1e-7)


def test_gradient_is_clipped_near_zero_and_one():
    probs = torch.tensor([[0.0], [1e-12], [0.5], [1.0]], requires_grad=True)
    batch_shaping_loss(probs).backward()
    assert torch.isfinite(probs.grad).all()
    pdf = beta_pdf(torch.tensor([1e-12, 0.5]), 0.6, 0.4)
    assert pdf[0] > 100 and 1e-3 < pdf[1] < 100  # so the first needs the clip


def test_loss_prefers_the_u_shaped_prior():
    rng = np.random.default_rng(0)
    from_prior = torch.tensor(rng.beta(0.6, 0.4, size=(256, 4)))
    always_on = torch.full((256, 4), 0.99, dtype=torch.float64)
    half = torch.full((256, 4), 0.5, dtype=torch.float64)
    assert batch_shaping_loss(from_prior) < 0.01
    assert batch_shaping_loss(from_prior) < batch_shaping_loss(half) < batch_shaping_loss(always_on)


def test_l0_is_the_mean_on_probability():
    probs = torch.tensor([[0.0, 1.0], [0.5, 0.5]])
    assert l0_loss(probs).item() == pytest.approx(0.5)


def test_schedules():
    weights = {p: gating_loss_weights(p, bs_weight=0.75, l0_weight=0.2)
               for p in (0.0, 0.1, 0.2, 0.4, 0.6, 0.9, 1.0)}
    assert weights[0.0] == (0.75, 0.0)
    assert weights[0.1] == pytest.approx((0.375, 0.0))
    assert weights[0.2] == pytest.approx((0.0, 0.0))
    assert weights[0.4] == pytest.approx((0.0, 0.1))
    assert weights[0.6] == pytest.approx((0.0, 0.2))
    assert weights[0.9] == weights[1.0] == pytest.approx((0.0, 0.2))


@pytest.mark.parametrize("call, message", [
    (lambda: batch_shaping_loss(torch.rand(8, 2), a=1.5), "a and b in \\(0, 1\\)"),
    (lambda: batch_shaping_loss(torch.rand(8, 2), b=0.0), "a and b in \\(0, 1\\)"),
    (lambda: batch_shaping_loss(torch.rand(8)), "shape \\(batch, gates\\)"),
    (lambda: batch_shaping_loss(torch.rand(8, 2) * 3), "probabilities in \\[0, 1\\]"),
    (lambda: batch_shaping_loss(torch.rand(1, 2)), "at least 2"),
    (lambda: l0_loss(-torch.rand(4, 2)), "probabilities"),
    (lambda: gating_loss_weights(0.5, bs_weight=-1.0, l0_weight=1.0), "must be >= 0"),
    (lambda: gating_loss_weights(0.5, 0.75, 1.0, l0_start=0.7, l0_full=0.6), "schedule points"),
])
def test_bad_parameters(call, message):
    with pytest.raises(ValueError, match=message):
        call()
