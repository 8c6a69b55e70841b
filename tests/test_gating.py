import pytest
import torch

from common.flops import count_macs, executed_macs, missing_mac_rules
from common.models import build_model
from common.models.gating import ChannelGate, block_channel_costs, channel_gates, force_gates, forward_active_channels, gated_blocks, straight_through_gates
from common.evaluation import collect_gates

RESNET20_MACS = 40_551_040
# (block input channels, input height = width, output channels) of ResNet-20's nine blocks
BLOCKS = [(16, 32, 16)] * 3 + [(16, 32, 32), (32, 16, 32), (32, 16, 32),
                               (32, 16, 64), (64, 8, 64), (64, 8, 64)]


def gated_model(seed: int = 0, bias_std: float = 2.0):
    """A gated ResNet-20 whose gates are a random mix of on and off (not all on, as at init)."""
    torch.manual_seed(seed)
    model = build_model("gated_resnet20")
    for gate in channel_gates(model):
        torch.nn.init.normal_(gate.fc2.bias, 0.0, bias_std)
    # settle BN statistics so eval mode is meaningful
    with torch.no_grad():
        model.train()(torch.rand(64, 3, 32, 32))
    return model.eval()


def test_all_gates_on_is_resnet20_with_the_same_weights():
    torch.manual_seed(0)
    gated = gated_model()
    static = build_model("resnet20").eval()
    missing, unexpected = static.load_state_dict(gated.state_dict(), strict=False)
    assert not missing and all(".gate." in k for k in unexpected)
    x = torch.rand(8, 3, 32, 32)
    with force_gates(gated, 1.0):
        assert torch.allclose(gated(x), static(x), atol=1e-5)
    assert not torch.allclose(gated(x), static(x), atol=1e-3)  # the real gates do switch


def test_training_gates_are_hard_with_a_straight_through_gradient():
    gate = ChannelGate(8, 6).train()
    torch.nn.init.zeros_(gate.fc2.bias)
    x = torch.randn(32, 8, 4, 4, requires_grad=True)
    out = gate(x)
    assert out.shape == (32, 6, 1, 1)
    assert set(out.detach().unique().tolist()) == {0.0, 1.0}
    out.sum().backward()
    assert gate.fc2.weight.grad.abs().sum() > 0 and x.grad.abs().sum() > 0
    # the logistic noise makes training gates random, eval gates deterministic
    assert not torch.equal(gate(x), gate(x))
    gate.eval()
    assert torch.equal(gate(x), gate(x))
    assert torch.equal(gate(x).flatten(1), (torch.sigmoid(gate.logits(x)) > 0.5).float())


def test_eval_gates_have_zero_gradient_unless_straight_through():
    model = gated_model()
    x = torch.rand(4, 3, 32, 32, requires_grad=True)
    gate_params = [p for g in channel_gates(model) for p in g.parameters()]
    model(x).sum().backward()
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in gate_params)
    with straight_through_gates(model):
        hard = model(x)
        hard.sum().backward()
    assert torch.allclose(hard, model(x))  # the forward pass is unchanged
    assert sum(p.grad.abs().sum() for p in gate_params if p.grad is not None) > 0


def test_gate_macs_by_hand():
    gate_macs = sum(c * hw * hw + c * 16 + 16 * out for c, hw, out in BLOCKS)
    assert count_macs(build_model("gated_resnet20")) == RESNET20_MACS + gate_macs
    assert missing_mac_rules(build_model("gated_resnet20")) == []


def test_executed_macs_by_hand():
    model = gated_model()
    images = torch.randint(0, 256, (5, 3, 32, 32), dtype=torch.uint8)
    full = count_macs(model)
    with force_gates(model, 1.0):
        assert torch.equal(executed_macs(model, images), torch.full((5,), full, dtype=torch.float64))
    # all off: only the stem, the classifier and the gates themselves remain
    stem, classifier = 16 * 3 * 9 * 32 * 32, 64 * 10
    gate_macs = sum(c * hw * hw + c * 16 + 16 * out for c, hw, out in BLOCKS)
    with force_gates(model, 0.0):
        assert executed_macs(model, images)[0].item() == stem + classifier + gate_macs
    # real gates: each off channel saves its conv1 filter and conv2 input slice
    costs = {(c, out, hw): (hw // (out // c)) ** 2 * 9 * (c + out) for c, hw, out in BLOCKS}
    assert list(block_channel_costs(model).values()) == [costs[(c, out, hw)]
                                                         for c, hw, out in BLOCKS]
    gates = collect_gates(model, images)
    expected = full - sum((1 - record["gates"]).sum(1).double() * costs[(c, out, hw)]
                          for record, (c, hw, out) in zip(gates.values(), BLOCKS))
    measured = executed_macs(model, images)
    assert torch.equal(measured, expected)
    assert (measured < full).all() and (measured > stem).all()


def test_forward_active_channels_matches_the_dense_forward():
    model = gated_model()
    blocks = list(gated_blocks(model).values())
    torch.nn.init.constant_(blocks[4].gate.fc2.bias, -50.0)  # one block entirely off
    for seed in range(3):
        x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(seed))
        assert torch.allclose(forward_active_channels(model, x), model(x), atol=1e-4)
    with pytest.raises(ValueError, match="one image"):
        forward_active_channels(model, torch.rand(2, 3, 32, 32))
    with pytest.raises(ValueError, match="eval mode"):
        forward_active_channels(model.train(), torch.rand(1, 3, 32, 32))


def test_regularizer_follows_the_schedule():
    model = build_model("gated_resnet20", l0_weight=0.5).train()
    model(torch.rand(16, 3, 32, 32))
    early, late = model.regularizer(0.0), model.regularizer(1.0)
    assert early["batch_shaping"] > 0 and early["l0"] == 0
    assert late["batch_shaping"] == 0 and late["l0"] > 0


def test_model_is_copyable_after_a_training_step():
    model = build_model("gated_resnet20").train()
    model(torch.rand(4, 3, 32, 32))  # leaves probabilities with an autograd graph behind
    assert count_macs(model) > RESNET20_MACS


@pytest.mark.parametrize("kwargs, message", [
    (dict(prior=(1.5, 0.4)), "in \\(0, 1\\)"),
    (dict(l0_weight=-0.1), "must be >= 0"),
])
def test_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_model("gated_resnet20", **kwargs)
    with pytest.raises(ValueError, match="hidden must be >= 1"):
        ChannelGate(8, 8, hidden=0)


def test_the_l0_costs_are_the_executed_mac_costs_per_channel():
    model = gated_model()
    costs = block_channel_costs(model)
    expected = torch.cat([torch.full((block.gate.out_ch,), float(costs[name]))
                          for name, block in gated_blocks(model).items()])
    assert torch.equal(model.gate_costs, expected)
    assert model.gate_costs[0] == 4 * model.gate_costs[-1]  # a stage-1 channel costs 4x stage 3
    assert "gate_costs" not in model.state_dict()  # committed weights load unchanged


def test_mac_weighted_l0_charges_expensive_channels_more():
    from common.losses import l0_loss

    model = build_model("gated_resnet20", l0_cost="macs").train()
    model(torch.rand(8, 3, 32, 32))
    probs = torch.cat([g.last_probs for g in channel_gates(model)], dim=1)
    weighted = (probs.mean(0) * model.gate_costs).sum() / model.gate_costs.sum()
    assert model.regularizer(1.0)["l0"].item() == pytest.approx(2.0 * weighted.item(), rel=1e-5)
    stage1_on = torch.zeros(1, len(model.gate_costs))
    stage1_on[0, :48] = 1  # the 48 channels of stage 1's three blocks
    stage3_on = torch.zeros_like(stage1_on)
    stage3_on[0, -48:] = 1
    assert l0_loss(stage1_on) == l0_loss(stage3_on)  # uniform: a channel is a channel
    assert l0_loss(stage1_on, model.gate_costs) > 3 * l0_loss(stage3_on, model.gate_costs)
    with pytest.raises(ValueError, match="l0_cost"):
        build_model("gated_resnet20", l0_cost="flops")


def test_batch_shaping_can_be_held_for_the_whole_run():
    from common.losses import gating_loss_weights

    assert gating_loss_weights(0.9, bs_weight=0.75, l0_weight=2.0, bs_until=None)[0] == 0.75
    assert gating_loss_weights(0.9, bs_weight=0.75, l0_weight=2.0, bs_until=0.2)[0] == 0.0
    model = build_model("gated_resnet20", bs_until=None).train()
    model(torch.rand(8, 3, 32, 32))
    assert model.regularizer(0.95)["batch_shaping"].item() > 0
    model = build_model("gated_resnet20").train()
    model(torch.rand(8, 3, 32, 32))
    assert model.regularizer(0.95)["batch_shaping"].item() == 0


def test_gate_kinds_use_the_10_to_90_percent_range():
    from common.models.gating import gate_kinds

    kinds = gate_kinds(torch.tensor([0.0, 0.05, 0.1, 0.5, 0.9, 0.95, 1.0]))
    assert kinds["always off"].tolist() == [True, True, False, False, False, False, False]
    assert kinds["conditional"].tolist() == [False, False, True, True, True, False, False]
    assert kinds["always on"].tolist() == [False, False, False, False, False, True, True]


def test_frozen_gates_use_each_channels_majority_for_every_image():
    from common.models.gating import frozen_gates
    from common.evaluation import gate_on_rates

    model = gated_model()
    images = (torch.rand(40, 3, 32, 32) * 255).to(torch.uint8)
    rates = gate_on_rates(model, images)
    with frozen_gates(model, rates):
        frozen = collect_gates(model, images)
    for name, record in frozen.items():
        assert torch.equal(record["gates"], (rates[name] > 0.5).float().expand(40, -1))
    # afterwards the gates depend on the image again
    assert any(((r > 0) & (r < 1)).any() for r in gate_on_rates(model, images).values())
    assert not all(torch.equal(a["gates"], b["gates"]) for a, b in
                   zip(collect_gates(model, images).values(), frozen.values()))
    with pytest.raises(ValueError, match="every gated block"):
        with frozen_gates(model, {}):
            pass


def test_gating_statistics_summarise_conditional_gates_and_mac_spread():
    from common.flops import gating_statistics

    model = gated_model()
    images = (torch.rand(60, 3, 32, 32) * 255).to(torch.uint8)
    stats = gating_statistics(model, images)
    kinds = stats["gates_always_on"] + stats["gates_conditional"] + stats["gates_always_off"]
    assert kinds == pytest.approx(1.0)
    macs = executed_macs(model, images)
    assert stats["macs_mean"] == pytest.approx(macs.mean().item())
    assert stats["macs_cv"] == pytest.approx((macs.std() / macs.mean()).item())
    live = stats["gates_always_on"] + stats["gates_conditional"]
    assert stats["live_conditional"] == pytest.approx(stats["gates_conditional"] / live)
    with force_gates(model, 1.0):
        static = gating_statistics(model, images)
    assert static["gates_always_on"] == 1.0 and static["macs_cv"] == 0.0
    assert gating_statistics(build_model("resnet20"), images) == {}


def test_gating_dependence_matches_the_slow_path():
    from common.analysis import gating_dependence
    from common.evaluation import evaluate
    from common.flops import gating_statistics
    from common.evaluation import predict_logits
    from common.models.gating import frozen_gates
    from common.evaluation import gate_on_rates, gated_eval

    model = gated_model()
    images = (torch.rand(50, 3, 32, 32) * 255).to(torch.uint8)
    labels = torch.randint(0, 10, (50,))
    freeze = (torch.rand(30, 3, 32, 32) * 255).to(torch.uint8)
    fast = gating_dependence(model, freeze, images, labels)
    stats = gating_statistics(model, images)
    assert fast["acc"] == pytest.approx(evaluate(model, images, labels)["acc"])
    assert fast["macs"] == pytest.approx(stats["macs_mean"])
    assert fast["live_conditional"] == pytest.approx(stats["live_conditional"])
    assert fast["macs_cv"] == pytest.approx(stats["macs_cv"])
    with frozen_gates(model, gate_on_rates(model, freeze)):
        assert fast["frozen_acc"] == pytest.approx(evaluate(model, images, labels)["acc"])
        assert fast["frozen_macs"] == pytest.approx(executed_macs(model, images).mean().item())
    evaluated = gated_eval(model, images)  # one pass that a notebook reuses: the same answers
    assert torch.allclose(evaluated[0], predict_logits(model, images))
    assert gating_dependence(model, freeze, images, labels, evaluated=evaluated) == fast
