"""Energy attacks on executed compute, the MAC budget that bounds it, and the gates'
straight-through gradient the attacks rely on. Small models, random images: CPU, no dataset."""

import pytest
import torch
import torch.nn as nn

from common.attacks import ENERGY_SETS, Attack, attack_images, budget_curve, energy, energy_sweep, uniform_noise
from common.evaluation import predict_logits
from common.flops import count_macs, executed_macs, mac_budget
from common.models.gating import ChannelGate, GateBudget, GatedResNet, channel_gates, force_gates, gate_budget, straight_through_gates
from common.evaluation import collect_gates

EPS = 8 / 255


@pytest.fixture(scope="module")
def sensitive():
    """A 3-block gated ResNet whose gates are easy to sway, and 16 images it has not seen.

    Gate biases at 0 put the clean gates on both sides of the threshold, and BatchNorm's
    statistics taken from one batch of random images (momentum None: exactly that batch) make
    each gate's BN divide by the tiny spread of those images' pooled features, so a coherent
    shift of the input moves the logits far, while independent pixel noise averages out.
    """
    torch.manual_seed(0)
    model = GatedResNet(depth=8)
    for gate in channel_gates(model):
        nn.init.zeros_(gate.fc2.bias)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.momentum = None
            m.reset_running_stats()
    with torch.no_grad():
        model.train()(torch.rand(64, 3, 32, 32))
    images = torch.rand(16, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    return model.eval(), images


def gated_macs(model):
    """MACs of all gated channels: the span between every gate off and every gate on."""
    x = torch.zeros(1, 3, 32, 32)
    with force_gates(model, 0.0):
        low = executed_macs(model, x).item()
    return count_macs(model) - low


def test_energy_attack_raises_executed_macs_where_random_noise_does_not(sensitive):
    model, x = sensitive
    generator = torch.Generator().manual_seed(0)
    clean = executed_macs(model, x)
    noise = (x + (2 * torch.rand(x.shape, generator=generator) - 1) * EPS).clamp(0, 1)
    attacked = executed_macs(model, energy(model, x, EPS, EPS / 4, 10, generator=generator))
    span = gated_macs(model)
    assert (executed_macs(model, noise) - clean).mean().abs() < 0.03 * span  # observed: < 0.015
    assert (attacked - clean).mean() > 0.05 * span  # observed: about 0.13
    assert (attacked >= clean).all()  # the clean image is an iterate: never fewer MACs


@pytest.mark.parametrize("norm, eps", [("linf", EPS), ("l2", 0.5)])
@pytest.mark.parametrize("stealthy", [False, True], ids=["plain", "stealthy"])
def test_energy_attack_stays_in_the_ball_and_in_range(sensitive, norm, eps, stealthy):
    model, x = sensitive
    attack = Attack("energy", eps=eps, alpha=eps / 4, steps=4, restarts=2, norm=norm,
                    stealthy=stealthy)
    assert attack.label.startswith("Energy PGD-4×2")
    adversarial = attack_images(model, x, torch.zeros(len(x), dtype=torch.long), attack,
                                batch_size=8, progress=False)
    assert adversarial.min() >= 0 and adversarial.max() <= 1
    delta = (adversarial - x).flatten(1)
    if norm == "linf":
        assert delta.abs().max() <= eps + 1e-6
    else:
        assert delta.norm(dim=1).max() <= eps + 1e-5
    assert delta.abs().max() > 0


def test_eps_zero_changes_nothing(sensitive):
    model, x = sensitive
    for stealthy in (False, True):
        assert torch.equal(energy(model, x, 0.0, 0.01, 5, stealthy=stealthy), x)
        attack = Attack("energy", eps=0.0, steps=3, stealthy=stealthy)
        assert torch.equal(attack_images(model, x, torch.zeros(len(x)), attack, progress=False), x)


def test_stealthy_variant_keeps_the_predicted_labels(sensitive):
    model, x = sensitive
    clean = predict_logits(model, x).argmax(1)
    stealthy = energy(model, x, EPS, EPS / 4, 10, stealthy=True,
                      generator=torch.Generator().manual_seed(0))
    assert torch.equal(predict_logits(model, stealthy).argmax(1), clean)
    plain = energy(model, x, EPS, EPS / 4, 10, generator=torch.Generator().manual_seed(0))
    assert (predict_logits(model, plain).argmax(1) != clean).any()  # so keeping them is work
    assert (executed_macs(model, stealthy) >= executed_macs(model, x)).all()
    assert executed_macs(model, stealthy).mean() > executed_macs(model, x).mean()


def test_energy_attack_needs_gates_and_sane_parameters(sensitive):
    model, x = sensitive
    plain = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))
    with pytest.raises(ValueError, match="channel gates"):
        energy(plain, x, EPS, EPS / 4, 2)
    with pytest.raises(ValueError, match="momentum"):
        energy(model, x, EPS, EPS / 4, 2, momentum=1.0)
    with pytest.raises(ValueError, match="stealthy"):
        Attack("pgd", stealthy=True)
    with pytest.raises(ValueError, match="stop_when_fooled"):
        Attack("energy", stop_when_fooled=True)


def test_executed_macs_take_float_images_as_uint8_ones(sensitive):
    model, _ = sensitive
    as_uint8 = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8)
    assert torch.equal(executed_macs(model, as_uint8), executed_macs(model, as_uint8 / 255))


def test_the_budget_holds_on_energy_attacked_images(sensitive):
    model, x = sensitive
    clean = executed_macs(model, x)
    cap = clean.median().item()
    attacked = energy(model, x, EPS, EPS / 4, 10, generator=torch.Generator().manual_seed(0))
    assert (executed_macs(model, attacked) > cap).sum() > len(x) // 2  # the attack does break it
    with mac_budget(model, cap):
        assert (executed_macs(model, attacked) <= cap).all()
        clean_capped = executed_macs(model, x)
        # the attack made against the capped model itself, with gradients through the gates
        with straight_through_gates(model):
            adaptive = energy(model, x, EPS, EPS / 4, 10, restarts=2,
                              generator=torch.Generator().manual_seed(0))
        capped = executed_macs(model, adaptive)
    assert (capped <= cap).all() and capped.mean() > clean_capped.mean()  # it still bites
    assert all(g.budget is None for g in channel_gates(model))  # the budget is lifted afterwards


def test_images_within_the_budget_run_unchanged(sensitive):
    model, x = sensitive
    clean = executed_macs(model, x)
    cap = clean.median().item()
    logits, gates = predict_logits(model, x), collect_gates(model, x)
    with mac_budget(model, cap):
        capped_logits, capped_gates = predict_logits(model, x), collect_gates(model, x)
    within = clean <= cap
    assert within.any() and (~within).any()
    assert torch.equal(capped_logits[within], logits[within])
    for name in gates:
        assert torch.equal(capped_gates[name]["gates"][within], gates[name]["gates"][within])
    with mac_budget(model, clean.max().item()):  # a budget nothing exceeds changes nothing
        assert torch.equal(predict_logits(model, x), logits)
    with pytest.raises(ValueError, match="every gate off"):
        mac_budget(model, 1000.0)


def test_a_gate_over_budget_keeps_its_highest_logits():
    """Two gates of cost 10 share a budget of 25 per image: the first spends it on its highest
    on-logits, the second gets what is left."""
    pool = {"macs": 25.0, "left": None}
    first, second = GateBudget(pool, 10, first=True), GateBudget(pool, 10, first=False)
    hard = torch.tensor([[1.0, 1.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0]])
    logits = torch.tensor([[0.5, 2.0, 1.0, -3.0], [-1.0, 0.2, -2.0, -0.1]])
    assert torch.equal(first.cap(hard, logits), torch.tensor([[0.0, 1.0, 1.0, 0.0],
                                                             [0.0, 1.0, 0.0, 0.0]]))
    assert torch.equal(pool["left"], torch.tensor([5.0, 15.0], dtype=torch.float64))
    assert torch.equal(second.cap(torch.ones(2, 4), logits), torch.tensor([[0.0, 0.0, 0.0, 0.0],
                                                                           [0.0, 1.0, 0.0, 0.0]]))
    first.cap(hard, logits)  # the next forward pass starts with the full budget again
    assert torch.equal(pool["left"], torch.tensor([5.0, 15.0], dtype=torch.float64))
    with pytest.raises(ValueError, match=">= 0"):
        with gate_budget(GatedResNet(depth=8), -1.0):
            pass


def hand_built_gate(logits):
    """An eval-mode gate whose logits are ``logits`` for every input (fc2 weight 0, bias set)."""
    gate = ChannelGate(4, len(logits)).eval()
    nn.init.zeros_(gate.fc2.weight)
    with torch.no_grad():
        gate.fc2.bias.copy_(torch.tensor(logits))
    return gate


def test_a_gate_is_on_only_for_a_logit_above_zero():
    gate = hand_built_gate([-1.0, 0.0, 1e-6, 2.0])
    out = gate(torch.randn(3, 4, 5, 5))
    assert torch.equal(out.flatten(1), torch.tensor([[0.0, 0.0, 1.0, 1.0]]).expand(3, -1))
    assert torch.equal(gate.last_logits, torch.tensor([[-1.0, 0.0, 1e-6, 2.0]]).expand(3, -1))


def test_straight_through_gradient_is_the_tempered_sigmoids():
    """d gate / d logit = sigmoid'(l / tau) / tau with tau = 2/3: the hard forward pass, the
    soft backward pass."""
    logits = [-2.0, -0.5, 0.0, 0.5, 3.0]
    gate = hand_built_gate(logits)
    gate.straight_through = True
    out = gate(torch.randn(1, 4, 5, 5))
    gate.last_logits.retain_grad()
    out.sum().backward()
    tau = gate.temperature
    soft = torch.sigmoid(torch.tensor([logits]) / tau)
    assert torch.equal(out.flatten(1), torch.tensor([[0.0, 0.0, 0.0, 1.0, 1.0]]))
    assert torch.allclose(gate.last_logits.grad, soft * (1 - soft) / tau, rtol=1e-6, atol=0)
    # at l = 0 the slope is 1 / (4 tau) = 0.375
    assert gate.last_logits.grad[0, 2].item() == pytest.approx(0.375, rel=1e-6)


def plain_cnn():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(4, 10)).eval()


def test_uniform_noise_is_a_random_point_of_the_ball(sensitive):
    _, x = sensitive
    noisy = uniform_noise(x, EPS, torch.Generator().manual_seed(0))
    assert noisy.min() >= 0 and noisy.max() <= 1
    assert (noisy - x).abs().max() <= EPS + 1e-6 and (noisy - x).abs().mean() > EPS / 4


def test_energy_sweep_rows_and_invariants(sensitive):
    """Own rows: clean once, noise and energy at every eps, stealthy where asked; stealthy keeps
    every prediction (so its accuracy is the clean one); a model without gates, measured on the
    same images, executes the same MACs on all of them."""
    model, x = sensitive
    labels = predict_logits(model, x).argmax(1).roll(1)  # some right, some wrong
    plain = plain_cnn()
    clean_macs = executed_macs(model, x)
    static = clean_macs.median().item()
    rows = energy_sweep(model, x, labels, [2 / 255, EPS], steps=4, stealthy_eps=[EPS],
                        static_macs=static, targets={"plain": plain}, batch_size=8,
                        progress=False)
    assert {"eps", "eps_255", "attack", "target", "macs_mean", "macs_median", "macs_max",
            "above_static", "acc", "kept", "seconds"} <= set(rows.columns)
    assert set(rows["attack"]) == set(ENERGY_SETS)
    own = rows[rows["target"].isna()].set_index(["attack", "eps_255"])
    assert sorted(own.index) == sorted([("clean", 0.0), ("noise", 2.0), ("noise", 8.0),
                                        ("energy", 2.0), ("energy", 8.0),
                                        ("energy stealthy", 8.0)])
    assert (rows[["macs_mean", "macs_median", "macs_max"]] >= 0).all().all()
    assert rows["above_static"].between(0, 100).all()
    clean = own.loc[("clean", 0.0)]
    assert clean["macs_mean"] == pytest.approx(clean_macs.mean().item())
    assert clean["above_static"] == pytest.approx(100 * (clean_macs > static).double().mean().item())
    assert clean["kept"] == 100
    assert own.loc[("energy", 8.0), "macs_mean"] > clean["macs_mean"]
    assert own.loc[("energy", 8.0), "macs_max"] >= own.loc[("energy", 8.0), "macs_median"]
    stealthy = own.loc[("energy stealthy", 8.0)]
    assert stealthy["kept"] == 100 and stealthy["acc"] == pytest.approx(clean["acc"])
    assert stealthy["macs_mean"] >= clean["macs_mean"]
    on = [c for c in rows.columns if c.startswith("on ")]
    assert len(on) == 3 and own[on].stack().between(0, 1).all()
    reference = rows[rows["target"] == "plain"]
    assert set(reference["attack"]) == set(ENERGY_SETS)
    assert (reference[["macs_mean", "macs_median", "macs_max"]] == count_macs(plain)).all().all()
    assert reference[on].isna().all().all()


def test_energy_sweep_of_a_model_without_gates_has_clean_and_noise_only():
    plain = plain_cnn()
    x = torch.rand(6, 3, 32, 32)
    rows = energy_sweep(plain, x, torch.zeros(6, dtype=torch.long), [EPS], steps=2,
                        progress=False)
    assert list(rows["attack"]) == ["clean", "noise"]
    assert (rows["macs_max"] == count_macs(plain)).all()


def test_budget_curve_never_exceeds_its_caps(sensitive):
    model, x = sensitive
    labels = predict_logits(model, x).argmax(1)
    clean = executed_macs(model, x)
    caps = [None, clean.quantile(0.25).item(), clean.median().item(), clean.max().item()]
    attack = Attack("energy", eps=EPS, alpha=EPS / 4, steps=4, straight_through=True)
    curve = budget_curve(model, x, labels, caps, attack, batch_size=8, progress=False)
    assert curve["cap"].isna().tolist() == [True, False, False, False]
    capped = curve.dropna(subset=["cap"])
    assert (capped["macs_max"] <= capped["cap"]).all()
    assert (capped["attacked_macs_max"] <= capped["cap"]).all()
    assert curve.loc[0, "macs_mean"] == pytest.approx(clean.mean().item())
    assert curve.loc[0, "capped"] == 0 and curve.loc[0, "acc"] == 100
    assert curve["capped"].iloc[1] >= curve["capped"].iloc[2] > curve["capped"].iloc[3] == 0
    # the attack made against the uncapped model raises its MACs above the median cap
    assert curve.loc[0, "attacked_macs_mean"] > curve.loc[0, "macs_mean"]
    assert all(g.budget is None for g in channel_gates(model))


def test_budget_figure_reads_in_plain_numbers_and_shows_the_uncapped_attack():
    import matplotlib
    matplotlib.use("Agg")
    import pandas as pd

    from common.analysis_plots import plot_budget_curve

    caps = [10.2e6, 11.2e6, 12.7e6, 15.3e6, 20.4e6]
    summary = pd.DataFrame({"cap_mean": caps, "acc_mean": [81.4, 83.3, 83.8, 83.8, 83.8],
                            "acc_std": 0.2, "macs_mean_mean": [9.8e6, 10.1e6, 10.2e6, 10.2e6, 10.2e6],
                            "macs_mean_std": 0.3e6, "attacked_macs_mean_mean": [10.2e6, 11.2e6, 12.7e6, 15e6, 17e6],
                            "attacked_macs_mean_std": 0.5e6, "attacked_macs_max_mean": caps})
    frontier = pd.DataFrame({"macs": [8.5e6, 10.3e6, 40.6e6], "acc": [82.5, 83.3, 87.1],
                             "width": [0.45, 0.5, 1.0]})
    fig = plot_budget_curve(summary, frontier, 83.8, 10.2e6, "cap", uncapped_attacked=17.1e6)
    left, right = fig.axes[:2]
    assert [t.get_text() for t in left.get_xticklabels()] == ["7.5", "10", "12.5", "15", "20", "25", "30", "40"]
    assert "energy attack without a cap, mean" in right.get_legend_handles_labels()[1]
    assert any(line.get_ydata()[0] == pytest.approx(17.1) for line in right.get_lines() if line.get_linestyle() == ":")
