import pytest
import torch
import torch.nn as nn

from common.flops import count_macs, count_params, missing_mac_rules
from common.models import build_model
from common.models.dynamic_conv import (DynamicConv2d, kernel_diversity, set_temperature,
                                        temperature_at)
from common.config import TrainConfig
from common.train import make_optimizer


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("batch", [1, 128])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("bias", [True, False])  # batch 1 without bias takes the latency path
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_aggregate_equals_dense(stride, batch, training, bias, layout):
    torch.manual_seed(0)
    layer = DynamicConv2d(16, 32, 3, stride, 1, num_kernels=4, bias=bias).train(training)
    set_temperature(layer, 2.0)
    x = torch.randn(batch, 16, 8, 8).contiguous(memory_format=layout)
    pi = layer.attention_weights(x)
    a = layer.forward_with(x, pi, "aggregate")
    b = layer.forward_with(x, pi, "dense")
    assert a.shape == (batch, 32, 8 // stride, 8 // stride)
    assert torch.allclose(a, b, atol=1e-4, rtol=1e-4)


def test_gradients_agree_between_modes():
    torch.manual_seed(0)
    x = torch.randn(4, 8, 6, 6)
    grads = []
    for mode in ("aggregate", "dense"):
        torch.manual_seed(1)
        layer = DynamicConv2d(8, 8, mode=mode, temperature=1.0)
        layer(x).square().sum().backward()
        grads.append((layer.weight.grad.clone(), layer.attention[2].weight.grad.clone()))
    assert all(torch.allclose(g1, g2, atol=1e-4, rtol=1e-4) for g1, g2 in zip(*grads))


def test_attention_is_a_distribution():
    layer = DynamicConv2d(8, 8, num_kernels=5, temperature=1.0)
    pi = layer.attention_weights(torch.randn(10, 8, 4, 4))
    assert pi.shape == (10, 5) and (pi >= 0).all()
    assert torch.allclose(pi.sum(1), torch.ones(10))
    # the functional fast path computes the layer's nn.Sequential (pool, FC, ReLU, FC), softmax(z / tau)
    set_temperature(layer, 3.0)
    x = torch.randn(10, 8, 4, 4).contiguous(memory_format=torch.channels_last)
    expected = torch.softmax(layer.attention(x) / 3.0, dim=1)
    assert torch.allclose(layer.attention_weights(x), expected, atol=1e-6)


def test_eval_output_does_not_depend_on_the_batch():
    torch.manual_seed(0)
    model = build_model("dy_resnet20", num_kernels=3).eval()
    set_temperature(model, 1.0)
    x = torch.rand(6, 3, 32, 32)
    together = model(x)
    alone = torch.cat([model(x[i:i + 1]) for i in range(6)])
    assert torch.allclose(together, alone, atol=1e-4, rtol=1e-4)


def test_k1_is_resnet20_with_the_same_weights():
    torch.manual_seed(0)
    static = build_model("resnet20").eval()
    dynamic = build_model("dy_resnet20", num_kernels=1).eval()
    state = dynamic.state_dict()
    for name, value in static.state_dict().items():
        # block convolutions hold their single kernel as (1, out, in, k, k)
        state[name] = value.view_as(state[name])
    dynamic.load_state_dict(state)
    x = torch.rand(4, 3, 32, 32)
    assert torch.allclose(static(x), dynamic(x), atol=1e-5)


def test_temperature_schedule():
    assert temperature_at(0) == 30 and temperature_at(5) == pytest.approx(15.5)
    assert temperature_at(10) == 1 and temperature_at(25) == 1
    layer = DynamicConv2d(4, 4)
    layer.update_schedule(2.5)
    assert layer.temperature.item() == pytest.approx(temperature_at(2.5))
    assert "temperature" in layer.state_dict()  # saved in checkpoints


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_kernels=0), "num_kernels"), (dict(reduction=0), "reduction"),
    (dict(kernel_size=4, padding="same"), "odd kernel_size"), (dict(mode="fast"), "mode"),
    (dict(temperature=0), "temperatures"),
])
def test_bad_parameters(kwargs, message):
    args = dict(in_ch=4, out_ch=4, **kwargs)
    with pytest.raises(ValueError, match=message):
        DynamicConv2d(**args)


def test_macs_and_params_by_hand():
    k, c_in, c_out, h = 3, 16, 32, 8
    layer = DynamicConv2d(c_in, c_out, 3, 1, 1, num_kernels=k)
    hidden = max(4, c_in // 4)
    kernel = c_out * c_in * 9
    expected = c_in * h * h + c_in * hidden + hidden * k + k * kernel + h * h * kernel
    assert count_macs(layer, (1, c_in, h, h)) == expected
    assert count_params(layer) == k * kernel + c_in * hidden + hidden + hidden * k + k


@pytest.mark.parametrize("k, lo, hi", [(1, 40.9e6, 41.1e6), (5, 42.0e6, 42.2e6)])
def test_dy_resnet20_macs(k, lo, hi):
    model = build_model("dy_resnet20", num_kernels=k)
    assert lo < count_macs(model) < hi
    assert missing_mac_rules(model) == []


def test_a_new_kind_of_dynamic_convolution_needs_its_own_mac_rule():
    """thop matches rules by exact type and counts a module without one through its children only:
    a subclass of DynamicConv2d would count its router and not its convolution."""
    class RoutedConv2d(DynamicConv2d):
        pass

    model = nn.Sequential(RoutedConv2d(8, 8), nn.ReLU())
    assert missing_mac_rules(model) == ["RoutedConv2d"]
    with pytest.raises(ValueError, match="no MAC rule for RoutedConv2d"):
        count_macs(model, (1, 8, 16, 16))


def test_collect_attention_leaves_the_output_alone():
    from common.evaluation import collect_attention
    from common.models.dynamic_conv import dynamic_layers
    torch.manual_seed(0)
    model = build_model("dy_resnet20", num_kernels=2).eval()
    set_temperature(model, 1.0)
    images = torch.randint(0, 256, (7, 3, 32, 32), dtype=torch.uint8)
    x = images.float() / 255
    before = model(x)
    attention = collect_attention(model, images, batch_size=3)
    assert list(attention) == list(dynamic_layers(model)) and len(attention) == 18
    assert all(a.shape == (7, 2) for a in attention.values())
    assert torch.allclose(model(x), before)
    first = next(iter(dynamic_layers(model).values()))
    assert torch.allclose(attention["stages.0.0.conv1"], first.attention_weights(
        model.stem(model.normalize(x))))
    assert not first.record_attention and first.last_attention is None


def test_fixed_attention_ablation():
    from common.evaluation import collect_attention
    from common.models.dynamic_conv import dynamic_layers, fixed_attention
    torch.manual_seed(0)
    model = build_model("dy_resnet20", num_kernels=3).eval()
    set_temperature(model, 0.2)  # sharp attention: fixing it must change the output
    images = torch.randint(0, 256, (5, 3, 32, 32), dtype=torch.uint8)
    x = images.float() / 255
    attention = collect_attention(model, images)
    own = {name: a[0] for name, a in attention.items()}  # image 0's own attention
    with fixed_attention(model, own):
        fixed = model(x)
    assert torch.allclose(fixed[0], model(x[:1])[0], atol=1e-4)
    assert not torch.allclose(fixed[1:], model(x[1:]), atol=1e-3)
    assert all(layer.fixed_attention is None for layer in dynamic_layers(model).values())
    with pytest.raises(KeyError, match="nowhere"):
        with fixed_attention(model, {"nowhere": own["stages.0.0.conv1"]}):
            pass


def test_weight_decay_shrinks_the_mean_kernel_not_the_differences():
    # Uniform attention gives every kernel the same gradient; per-kernel decay would then erase
    # their differences and with them the attention's gradient (a static model in disguise).
    layer = DynamicConv2d(4, 4, num_kernels=3)
    model = nn.Sequential(layer)
    optimizer = make_optimizer(model, TrainConfig(lr=0.1, momentum=0.0, nesterov=False,
                                                  weight_decay=0.5))
    assert all(g["weight_decay"] == 0 for g in optimizer.param_groups
               if any(p is layer.weight for p in g["params"]))
    bank = layer.weight.detach().clone()
    diversity = kernel_diversity(layer)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()  # the layer's own decay runs inside the step
    mean = bank.mean(0)
    assert torch.allclose(layer.weight - layer.weight.mean(0), bank - mean, atol=1e-6)
    assert torch.allclose(layer.weight.mean(0), mean * (1 - 0.1 * 0.5), atol=1e-6)
    assert kernel_diversity(layer) > diversity


def test_with_one_kernel_the_decay_is_the_usual_one():
    layer = DynamicConv2d(4, 4, num_kernels=1)
    layer.weight.grad = torch.zeros_like(layer.weight)
    layer.apply_weight_decay_(0.25)
    assert torch.equal(layer.weight.grad, 0.25 * layer.weight.detach())


def test_kernel_diversity():
    layer = DynamicConv2d(8, 8, num_kernels=4)
    assert 1.4 < kernel_diversity(layer) < 2.1  # about sqrt(K - 1) for independent kernels
    with torch.no_grad():
        layer.weight.copy_(layer.weight[:1].expand_as(layer.weight))
    assert kernel_diversity(layer) == pytest.approx(0.0, abs=1e-6)


def test_attention_layer_statistics_tell_static_from_dynamic():
    from common.analysis import attention_layer_statistics

    uniform = torch.full((50, 4), 0.25)
    peaked_but_constant = torch.tensor([[0.7, 0.1, 0.1, 0.1]]).expand(50, 4)
    varying = torch.softmax(torch.randn(50, 4, generator=torch.Generator().manual_seed(0)) * 3, 1)
    layers = {name: DynamicConv2d(4, 4, num_kernels=4) for name in ("uniform", "constant", "varying")}
    with torch.no_grad():
        layers["constant"].weight.copy_(layers["constant"].weight[:1].expand_as(layers["constant"].weight))
        layers["varying"].weight.sub_(layers["varying"].weight.mean(0))  # kernels that cancel in their mean
    stats = attention_layer_statistics(
        {"uniform": uniform, "constant": peaked_but_constant, "varying": varying}, layers).set_index("layer")
    assert stats.loc["uniform", "normalized_entropy"] == pytest.approx(1.0)
    assert stats.loc["constant", "normalized_entropy"] < 0.8
    assert stats.loc["uniform", "spread_over_images"] == 0
    assert stats.loc["constant", "spread_over_images"] == 0
    assert stats.loc["varying", "spread_over_images"] > 0.1
    assert stats.loc["constant", "kernel_diversity"] == pytest.approx(0.0, abs=1e-6)
    assert stats.loc["constant", "kernel_spread"] == pytest.approx(0.0, abs=1e-7)
    # a huge ratio from a vanishing mean kernel, told apart by the two sizes it is made of
    assert stats.loc["varying", "kernel_diversity"] > 1e3 and stats.loc["varying", "mean_kernel_rms"] < 1e-6
    assert stats.loc["varying", "kernel_spread"] == pytest.approx(stats.loc["uniform", "kernel_spread"], rel=0.5)


def test_mode_rule_is_per_device():
    from common.models.dynamic_conv import choose_mode

    assert choose_mode(True, "cuda") == "dense"  # CUDA training only
    assert choose_mode(False, "cuda") == "aggregate"
    assert {choose_mode(t, "cpu") for t in (True, False)} == {"aggregate"}
