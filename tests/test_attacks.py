import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from common.attacks import (Attack, accuracy, attack_images, fgsm, pgd, robust_accuracy, robust_per_image,
                            robustness_sweep, transfer_matrix)
from common.data import load_cifar10, to_float
from common.models import build_model
from common.models.gating import channel_gates


@pytest.fixture(scope="module")
def trained(tiny_folder, tmp_path_factory):
    """A small CNN trained to ~100% on the synthetic images, and those images."""
    data = load_cifar10(tiny_folder, cache_dir=tmp_path_factory.mktemp("cache"))
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4),
                          nn.Flatten(), nn.Linear(128, 10))
    x, y = to_float(data.train_images), data.train_labels
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(150):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    model.eval()
    assert accuracy(model, x, y) > 90
    return model, x, y


@pytest.mark.parametrize("attack", [
    Attack("fgsm", eps=4 / 255),
    Attack("pgd", eps=4 / 255, alpha=1 / 255, steps=5),
    Attack("pgd", eps=0.5, alpha=0.1, steps=5, norm="l2", restarts=2),
], ids=lambda a: a.label)
def test_adversarial_images_stay_in_the_ball_and_in_range(trained, attack):
    model, x, y = trained
    adversarial = attack_images(model, x, y, attack, batch_size=16, progress=False)
    assert adversarial.shape == x.shape
    assert adversarial.min() >= 0 and adversarial.max() <= 1
    delta = (adversarial - x).flatten(1)
    if attack.norm == "linf":
        assert delta.abs().max() <= attack.eps + 1e-6
    else:
        assert delta.norm(dim=1).max() <= attack.eps + 1e-5
    assert delta.abs().max() > 0


def test_eps_zero_gives_clean_accuracy(trained):
    model, x, y = trained
    clean = accuracy(model, x, y)
    for attack in (Attack("fgsm", eps=0), Attack("pgd", eps=0, steps=3)):
        assert robust_accuracy(model, x, y, attack, progress=False) == clean


def test_pgd_is_at_least_as_strong_as_fgsm_and_accuracy_falls_with_eps(trained):
    model, x, y = trained
    fgsm_acc, pgd_acc = [], []
    for eps in (0, 2 / 255, 8 / 255, 32 / 255):
        fgsm_acc.append(robust_accuracy(model, x, y, Attack("fgsm", eps=eps), progress=False))
        pgd_acc.append(robust_accuracy(model, x, y, Attack("pgd", eps=eps, alpha=eps / 4 + 1e-6,
                                                           steps=10), progress=False))
    assert all(p <= f for p, f in zip(pgd_acc, fgsm_acc))
    assert all(a >= b for a, b in zip(pgd_acc, pgd_acc[1:]))
    assert pgd_acc[-1] < pgd_acc[0]  # the attack does something


def test_results_are_reproducible_with_a_seed(trained):
    model, x, y = trained
    attack = Attack("pgd", eps=8 / 255, alpha=2 / 255, steps=3)
    a = attack_images(model, x, y, attack, seed=1, progress=False)
    b = attack_images(model, x, y, attack, seed=1, progress=False)
    c = attack_images(model, x, y, attack, seed=2, progress=False)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_uint8_images_are_attacked_in_pixel_space(trained, tiny_folder):
    model, x, y = trained
    as_uint8 = (x * 255).round().to(torch.uint8)
    attack = Attack("fgsm", eps=2 / 255)
    assert torch.allclose(attack_images(model, as_uint8, y, attack, progress=False),
                          attack_images(model, x, y, attack, progress=False))


def test_model_mode_is_restored(trained):
    model, x, y = trained
    model.train()
    attack_images(model, x[:4], y[:4], Attack("fgsm"), progress=False)
    assert model.training
    model.eval()


def test_straight_through_attack_sees_the_gates():
    torch.manual_seed(0)
    model = build_model("gated_resnet20")
    for gate in channel_gates(model):
        nn.init.normal_(gate.fc2.bias, 0.0, 1.0)
    model.eval()
    x, y = torch.rand(4, 3, 32, 32), torch.randint(0, 10, (4,))
    naive = fgsm(model, x, y, 4 / 255)
    adaptive = Attack("fgsm", eps=4 / 255, straight_through=True)(model, x, y)
    assert not torch.equal(naive, adaptive)  # the gates' relaxation changes the gradient
    assert not any(g.straight_through for g in channel_gates(model))


@pytest.mark.parametrize("call, message", [
    (lambda m, x, y: fgsm(m, x, y, eps=-0.1), "eps must be >= 0"),
    (lambda m, x, y: pgd(m, x, y, eps=0.1, alpha=0.01, steps=0), "steps must be >= 1"),
    (lambda m, x, y: pgd(m, x, y, eps=0.1, alpha=0.0, steps=2), "alpha"),
    (lambda m, x, y: pgd(m, x, y, eps=0.1, alpha=0.01, steps=2, norm="l1"), "norm"),
    (lambda m, x, y: fgsm(m, x * 2, y, eps=0.1), "must lie in \\[0, 1\\]"),
    (lambda m, x, y: fgsm(m, (x * 255).to(torch.uint8), y, eps=0.1), "must be float"),
    (lambda m, x, y: Attack("fgsm", norm="l2"), "L-inf"),
    (lambda m, x, y: Attack("cw"), "method"),
])
def test_bad_parameters(trained, call, message):
    model, x, y = trained
    with pytest.raises(ValueError, match=message):
        call(model, x[:2] + 0.0, y[:2])


def test_stopping_when_fooled_is_at_least_as_strong(trained):
    model, x, y = trained
    full = Attack("pgd", eps=4 / 255, alpha=1 / 255, steps=10, restarts=2)
    early = Attack("pgd", eps=4 / 255, alpha=1 / 255, steps=10, restarts=2, stop_when_fooled=True)
    adversarial = attack_images(model, x, y, early, progress=False)
    assert (adversarial - x).abs().max() <= 4 / 255 + 1e-6
    assert accuracy(model, adversarial, y) <= robust_accuracy(model, x, y, full, progress=False)


def test_sweep_rows_and_transfer_diagonal(trained):
    model, x, y = trained
    sweep = robustness_sweep({"a": model, "b": model}, x, y, [0, 32 / 255], pgd_steps=(3,),
                             straight_through_models=("b",), progress=False)
    # per model: 2 eps x (FGSM, PGD-3); "b" again with the straight-through variants
    assert len(sweep) == 4 + 8 and (sweep["seconds"] > 0).all()
    assert (sweep["images"] == len(y)).all()  # what each accuracy's binomial error needs
    assert sweep["attack"].str.contains("straight-through").sum() == 4
    clean = accuracy(model, x, y)
    assert (sweep.loc[sweep["eps"] == 0, "robust_acc"] == clean).all()
    assert (sweep.loc[sweep["eps"] > 0, "robust_acc"] < clean).all()

    attack = Attack("pgd", eps=8 / 255, alpha=2 / 255, steps=3)
    matrix = transfer_matrix({"a": model, "b": model}, x, y, attack, progress=False)
    white_box = robust_accuracy(model, x, y, attack, progress=False)
    assert matrix.shape == (2, 2) and (matrix.to_numpy() == white_box).all()  # same model everywhere


def test_the_per_image_worst_case_is_each_attack_image_by_image(trained):
    model, x, y = trained
    attacks = [Attack("fgsm", eps=4 / 255), Attack("pgd", eps=4 / 255, alpha=1 / 255, steps=5)]
    robust = robust_per_image(model, x, y, attacks, batch_size=16, progress=False)
    each = [robust_accuracy(model, x, y, attack, batch_size=16, progress=False) for attack in attacks]
    assert robust.dtype == torch.bool and robust.shape == y.shape
    assert 100 * robust.float().mean() <= min(each)  # survives every attack: at most the strongest one's
    alone = robust_per_image(model, x, y, attacks[1:], batch_size=16, progress=False)
    assert 100 * alone.float().mean().item() == pytest.approx(each[1])  # same seed: the same images
