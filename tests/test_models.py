import pytest
import torch

from common.flops import count_macs, count_params, missing_mac_rules
from common.models import build_model, list_models
from common.runs import load_model
from common.models.resnet import CifarResNet, Normalize


def test_resnet20_matches_he_et_al():
    model = build_model("resnet20")
    assert count_params(model) == 269_722
    assert count_macs(model) == 40_551_040
    assert missing_mac_rules(model) == []


def test_macs_scale_with_image_count_not_batch():
    model = build_model("resnet20")
    assert count_macs(model, (4, 3, 32, 32)) == count_macs(model)


def test_count_macs_leaves_model_untouched():
    model = build_model("resnet20").train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    count_macs(model)
    assert model.training
    assert before.keys() == model.state_dict().keys()
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_forward_shape_and_pixel_space_input():
    model = build_model("resnet20").eval()
    out = model(torch.rand(5, 3, 32, 32))
    assert out.shape == (5, 10)
    norm = Normalize()
    mean = torch.tensor([0.4914, 0.4822, 0.4465]).view(1, 3, 1, 1).expand(1, 3, 4, 4)
    assert torch.allclose(norm(mean), torch.zeros(1, 3, 4, 4), atol=1e-6)


def test_registry_errors():
    assert "resnet20" in list_models()
    with pytest.raises(ValueError, match="unknown model 'resnet21'.*resnet20"):
        build_model("resnet21")
    with pytest.raises(ValueError, match="6n\\+2"):
        CifarResNet(depth=21)


def test_block_takes_a_conv_factory_and_gate():
    """Later model families swap the convolution or add a gate without copying the ResNet."""
    calls = []

    def conv(in_ch, out_ch, kernel_size, stride, padding):
        calls.append((in_ch, out_ch, stride))
        return torch.nn.Conv2d(in_ch, out_ch, kernel_size, stride, padding, bias=False)

    class HalfGate(torch.nn.Module):
        def __init__(self, in_ch, out_ch):
            super().__init__()
            self.out_ch = out_ch

        def forward(self, x):
            return torch.full((len(x), self.out_ch, 1, 1), 0.5)

    model = CifarResNet(depth=20, conv_layer=conv, gate_layer=HalfGate)
    assert len(calls) == 18 and calls[6] == (16, 32, 2)
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 10)


def test_load_model_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a finished run"):
        load_model(tmp_path)
    (tmp_path / "config.json").write_text('{"model": "resnet20"}')
    (tmp_path / "model.pt").write_bytes(b"corrupt")
    with pytest.raises(RuntimeError, match="corrupt .*retrain"):
        load_model(tmp_path)


def test_thin_resnet20_scales_widths_and_macs():
    from common.flops import count_macs
    from common.models import model_settings

    thin = build_model("resnet20", width=0.69)
    assert [s[0].conv1.out_channels for s in thin.stages] == [11, 22, 44]
    assert count_macs(thin) / count_macs(build_model("resnet20")) == pytest.approx(0.475, abs=0.005)
    assert build_model("resnet20", width=1.0).state_dict().keys() == build_model("resnet20").state_dict().keys()
    with pytest.raises(ValueError, match="width"):
        build_model("resnet20", width=0)
    assert model_settings("dy_resnet20", num_kernels=2) == {
        "num_kernels": 2, "reduction": 4, "temperature": 30.0, "anneal_epochs": 10.0, "mode": "auto",
        "num_classes": 10}
    with pytest.raises(TypeError):
        model_settings("resnet20", depth=32)


def test_akamaster_checkpoints_load_as_our_resnet20():
    from common.models.resnet import AKAMASTER_MEAN, akamaster_key, from_akamaster

    torch.manual_seed(0)
    ours = build_model("resnet20").eval()
    for m in ours.modules():  # BatchNorm statistics that differ from the defaults
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    names = {"stem.0.weight": "module.conv1.weight", "stem.1.bias": "module.bn1.bias",
             "stages.1.0.conv1.weight": "module.layer2.0.conv1.weight", "fc.bias": "module.linear.bias"}
    inverse = {}
    for key, value in ours.state_dict().items():
        if key.startswith("normalize.") or key.endswith("num_batches_tracked"):
            continue
        theirs = names.get(key) or "module." + key.replace("stem.0.", "conv1.").replace(
            "stem.1.", "bn1.").replace("fc.", "linear.")
        for i in range(3):
            theirs = theirs.replace(f"module.stages.{i}.", f"module.layer{i + 1}.")
        assert akamaster_key(theirs) == key
        inverse[theirs] = value
    loaded = from_akamaster(inverse).eval()
    assert torch.allclose(loaded.normalize.mean.flatten(), torch.tensor(AKAMASTER_MEAN))
    x = torch.rand(4, 3, 32, 32)
    loaded.normalize, ours.normalize = torch.nn.Identity(), torch.nn.Identity()
    assert torch.allclose(loaded(x), ours(x), atol=1e-5)
    with pytest.raises(ValueError, match="missing"):
        from_akamaster({k: v for k, v in inverse.items() if "layer3.2.bn2" not in k})
    with pytest.raises(ValueError, match="unknown"):
        from_akamaster(inverse | {"module.layer4.0.conv1.weight": torch.zeros(1)})
