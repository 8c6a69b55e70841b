"""Adversarial attacks in [0, 1] pixel space: FGSM, PGD (L-inf and L2), robust accuracy, and
the energy attack on executed compute.

Every model of the project takes images in [0, 1] and normalises inside, so the threat model
is the usual one: a perturbation of at most eps per pixel (L-inf) or eps in Euclidean norm
(L2), with the adversarial image clipped back to [0, 1]. Models are attacked in eval mode.

Gradient masking: channel gates are hard in eval mode, so their gradient is zero and a naive
attack cannot "see" that changing the input would change the gates. ``Attack(...,
straight_through=True)`` computes gradients with the gates' straight-through sigmoid
relaxation (forward pass unchanged): the adaptive attack. For models without gates it is the
same as the naive attack.

Energy attack: a gated model is sold on its average executed MACs, and ``energy`` perturbs
images within the same threat model to make it execute as many as possible (optionally
keeping its predictions, ``stealthy``). ``common.flops.executed_macs`` measures the result,
and ``common.flops.mac_budget`` is the defence that bounds it. ``energy_sweep`` measures a
model's executed MACs on clean, noisy and energy-attacked images over a range of eps (and on
other models, a black-box attacker's targets); ``budget_curve`` does the same under MAC caps.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Optional

import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from .data import iterate_batches, to_float
from .evaluation import evaluate, gated_eval, predict_logits
from .flops import executed_macs, mac_budget
from .models.gating import ChannelGate, block_channel_costs, gated_blocks, straight_through_gates

NORMS = ("linf", "l2")
METHODS = ("fgsm", "pgd", "energy")
FOOLED = 1e6  # score bonus of a misclassified image when pgd chooses between restarts


def _check_images(images: torch.Tensor) -> None:
    if not images.is_floating_point():
        raise ValueError(f"images must be float in [0, 1] (got {images.dtype}); convert uint8 "
                         f"images with common.data.to_float")
    if len(images) and (images.min() < 0 or images.max() > 1):
        raise ValueError(f"images must lie in [0, 1] (got min {images.min().item():.3g}, max "
                         f"{images.max().item():.3g}); the models normalise inside")


def _check(eps: float, alpha: Optional[float] = None, steps: int = 1, restarts: int = 1,
           norm: str = "linf") -> None:
    problems = []
    if eps < 0:
        problems.append(f"eps must be >= 0 (got {eps})")
    if alpha is not None and alpha <= 0:
        problems.append(f"alpha (step size) must be > 0 (got {alpha})")
    if steps < 1:
        problems.append(f"steps must be >= 1 (got {steps})")
    if restarts < 1:
        problems.append(f"restarts must be >= 1 (got {restarts})")
    if norm not in NORMS:
        problems.append(f"norm must be one of {NORMS} (got {norm!r})")
    if problems:
        raise ValueError("bad attack parameters: " + "; ".join(problems))


def _loss_gradient(model: nn.Module, x: torch.Tensor, labels: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """(gradient of the summed cross-entropy w.r.t. x, the logits), model in eval mode."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = model(x).float()
        (grad,) = torch.autograd.grad(F.cross_entropy(logits, labels, reduction="sum"), x)
    return grad, logits.detach()


def _per_image_norm(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (t.ndim - 1)))


def _project(delta: torch.Tensor, eps: float, norm: str) -> torch.Tensor:
    if norm == "linf":
        return delta.clamp(-eps, eps)
    return delta * (eps / _per_image_norm(delta)).clamp(max=1.0)


def _random_start(images: torch.Tensor, eps: float, norm: str,
                  generator: Optional[torch.Generator]) -> torch.Tensor:
    """A random perturbation in the eps-ball that keeps the images in [0, 1]: uniform per pixel
    (L-inf), or a random direction at a random radius in [0, eps] (L2)."""
    noise = torch.rand(images.shape, generator=generator, dtype=images.dtype).to(images.device)
    if norm == "linf":
        delta = (2 * noise - 1) * eps
    else:
        direction = torch.randn(images.shape, generator=generator).to(images)
        radius = torch.rand(len(images), generator=generator).to(images)
        delta = direction / _per_image_norm(direction) * eps * radius.view(-1, 1, 1, 1)
    return (images + delta).clamp(0, 1) - images


def _ascent_step(images: torch.Tensor, delta: torch.Tensor, grad: torch.Tensor, alpha: float,
                 eps: float, norm: str) -> torch.Tensor:
    """One projected ascent step on ``delta``: ``alpha`` times the gradient's sign (L-inf) or
    its unit direction (L2), projected back onto the eps-ball and [0, 1]."""
    step = grad.sign() if norm == "linf" else grad / _per_image_norm(grad)
    moved = _project(delta + alpha * step, eps, norm)
    return (images + moved).clamp(0, 1) - images


def fgsm(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, eps: float) -> torch.Tensor:
    """Fast gradient sign method (Goodfellow et al. 2015): one L-inf step of size eps."""
    _check(eps)
    _check_images(images)
    if eps == 0:
        return images.clone()
    grad, _ = _loss_gradient(model, images, labels)
    return (images + eps * grad.sign()).clamp(0, 1).detach()


def pgd(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, eps: float, alpha: float,
        steps: int, random_start: bool = True, restarts: int = 1, norm: str = "linf",
        generator: Optional[torch.Generator] = None, stop_when_fooled: bool = False) -> torch.Tensor:
    """Projected gradient descent (Madry et al. 2018) under L-inf or L2.

    Each restart starts at a random point of the eps-ball (if ``random_start``), takes
    ``steps`` steps of size ``alpha`` (sign of the gradient for L-inf, the normalised gradient
    for L2) and projects back onto the ball and [0, 1]. Per image the result of the restart
    with the highest loss is kept (a misclassifying one whenever any restart finds one).

    ``stop_when_fooled`` freezes an image as soon as its iterate is misclassified (and skips
    it in later restarts): the same or lower robust accuracy for a fraction of the compute,
    but barely-adversarial images, so leave it off when the images are reused (transfer).
    """
    _check(eps, alpha, steps, restarts, norm)
    _check_images(images)
    if eps == 0:
        return images.clone()
    best = images.clone()
    best_score = torch.full((len(images),), -float("inf"), device=images.device)
    for _ in range(restarts):
        delta = (_random_start(images, eps, norm, generator) if random_start
                 else torch.zeros_like(images))
        active = (best_score < FOOLED if stop_when_fooled
                  else torch.ones(len(images), dtype=torch.bool, device=images.device))
        for _ in range(steps):
            idx = active.nonzero().flatten()
            if len(idx) == 0:
                break
            grad, logits = _loss_gradient(model, images[idx] + delta[idx], labels[idx])
            if stop_when_fooled:
                fooled = logits.argmax(1) != labels[idx]
                active[idx[fooled]] = False
                idx, grad = idx[~fooled], grad[~fooled]
            delta[idx] = _ascent_step(images[idx], delta[idx], grad, alpha, eps, norm)
        adversarial = (images + delta).detach()
        with torch.no_grad():
            logits = model(adversarial).float()
        loss = F.cross_entropy(logits, labels, reduction="none")
        # a misclassified image beats any correctly classified one, then the higher loss wins
        score = loss + FOOLED * (logits.argmax(1) != labels).float()
        better = score > best_score
        best[better], best_score[better] = adversarial[better], score[better]
    return best


# A stealthy energy attack keeps the clean prediction's logit margin at least this large while it
# climbs, so that rounding in the last step cannot flip the label.
STEALTH_MARGIN = 1.0


def _gate_costs(model: nn.Module, image_size: int) -> list[tuple[ChannelGate, float]]:
    """(gate, MACs one of its active channels costs) for every gated block, in forward order."""
    blocks = gated_blocks(model)
    if not blocks:
        raise ValueError("the energy attack needs a model with channel gates "
                         "(common.models.gating.GatedResNet)")
    costs = block_channel_costs(model, image_size)
    return [(block.gate, float(costs[name])) for name, block in blocks.items()]


def _channel_macs(gate_costs: list[tuple[ChannelGate, float]]) -> torch.Tensor:
    """Per image, the MACs of the gated channels the last forward pass executed (hard gates):
    ``executed_macs`` less a constant, so it ranks the iterates of an image the same way."""
    return sum(gate.last_gates.double().sum(1) * cost for gate, cost in gate_costs)


def _expected_macs(gate_costs: list[tuple[ChannelGate, float]]) -> torch.Tensor:
    """Per image, sum_g cost_g * sigmoid(logit_g) over the last forward pass's gates, as a share
    of all gated channels' MACs: the smooth surrogate of the executed MACs."""
    total = sum(cost * gate.out_ch for gate, cost in gate_costs)
    return sum(torch.sigmoid(gate.last_logits.float()).sum(1) * cost
               for gate, cost in gate_costs) / total


def _class_margin(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Logit of ``labels`` minus the largest other logit: > 0 iff ``labels`` is predicted."""
    own = logits.gather(1, labels[:, None]).squeeze(1)
    others = logits.scatter(1, labels[:, None], -float("inf"))
    return own - others.max(1).values


def energy(model: nn.Module, images: torch.Tensor, eps: float, alpha: float, steps: int,
           random_start: bool = True, restarts: int = 1, norm: str = "linf",
           generator: Optional[torch.Generator] = None, stealthy: bool = False,
           momentum: float = 0.75) -> torch.Tensor:
    """Energy (compute-exhausting) attack on a channel-gated model, in eval mode: PGD that
    maximises the MACs each image executes.

    Ascends the expected executed MACs, sum_g cost_g * sigmoid(logit_g) over every channel gate
    (``block_channel_costs``), with momentum (MI-FGSM: the steps follow a decaying sum of
    per-image normalised gradients). The result is chosen by the real thing: the
    hard-gate executed MACs of every iterate (each step of each restart, the clean image too)
    are scored and the best is kept per image, so the attack never lowers them. (The sigmoid,
    not a MAC-weighted hinge sum_g cost_g * min(logit_g, 1): the hinge keeps pulling at gates too
    far below 0 to switch, and it raised the headline's MACs less.)

    ``stealthy``: keep the model's clean prediction. Per image, ascend that prediction's logit
    margin instead whenever it is below ``STEALTH_MARGIN``, and keep an iterate only if the
    prediction is unchanged (so the result's is, exactly). The labels of ``pgd`` are not needed.
    Wrap in ``straight_through_gates`` (``Attack(..., straight_through=True)``) to also pass
    gradients through the hard gates of earlier blocks; the logits themselves are
    differentiable either way.
    """
    _check(eps, alpha, steps, restarts, norm)
    _check_images(images)
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1) (got {momentum})")
    if eps == 0:
        return images.clone()
    gate_costs = _gate_costs(model, images.shape[-1])
    with torch.no_grad():
        clean_prediction = model(images).float().argmax(1)
    best, best_score = images.clone(), _channel_macs(gate_costs)

    def keep_if_better(x: torch.Tensor, logits: torch.Tensor) -> None:
        score = _channel_macs(gate_costs)  # of the forward pass that gave ``logits``
        better = score > best_score
        if stealthy:
            better &= logits.argmax(1) == clean_prediction
        best[better], best_score[better] = x[better], score[better]

    for _ in range(restarts):
        delta = (_random_start(images, eps, norm, generator) if random_start
                 else torch.zeros_like(images))
        velocity = torch.zeros_like(images)
        for _ in range(steps):
            x = (images + delta).requires_grad_(True)
            with torch.enable_grad():
                logits = model(x).float()
                objective = _expected_macs(gate_costs)
                if stealthy:  # back to a safe margin first, then more MACs
                    margin = _class_margin(logits, clean_prediction)
                    objective = torch.where(margin < STEALTH_MARGIN, margin, objective)
                (grad,) = torch.autograd.grad(objective.sum(), x)
            keep_if_better(x.detach(), logits.detach())
            velocity = momentum * velocity + grad / _per_image_norm(grad)
            delta = _ascent_step(images, delta, velocity, alpha, eps, norm)
        with torch.no_grad():
            x = images + delta
            keep_if_better(x, model(x).float())
    return best


@dataclass(frozen=True)
class Attack:
    """One attack configuration, e.g. ``Attack("pgd", eps=8/255, alpha=2/255, steps=10)``.

    ``straight_through`` computes gradients through the gates' straight-through relaxation
    (the adaptive attack on gated models; no effect on other models). ``stop_when_fooled``:
    see ``pgd``. ``method="energy"`` maximises a gated model's executed MACs instead of its
    loss (``energy``; ``stealthy`` keeps its predictions).
    """

    method: str = "pgd"  # "fgsm", "pgd" or "energy"
    eps: float = 8 / 255
    alpha: float = 2 / 255
    steps: int = 10
    restarts: int = 1
    norm: str = "linf"
    random_start: bool = True
    straight_through: bool = False
    stop_when_fooled: bool = False
    stealthy: bool = False

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS} (got {self.method!r})")
        if self.method == "fgsm" and self.norm != "linf":
            raise ValueError("FGSM is an L-inf attack; use method='pgd' for norm='l2'")
        if self.stealthy and self.method != "energy":
            raise ValueError("stealthy is an option of the energy attack (method='energy')")
        if self.stop_when_fooled and self.method == "energy":
            raise ValueError("stop_when_fooled does not apply to the energy attack, which "
                             "does not aim at the label")
        _check(self.eps, self.alpha, self.steps, self.restarts, self.norm)

    @property
    def label(self) -> str:
        if self.method == "fgsm":
            name = "FGSM"
        else:
            name = f"PGD-{self.steps}" + (f"×{self.restarts}" if self.restarts > 1 else "")
            name += " L2" if self.norm == "l2" else ""
        if self.method == "energy":
            name = "Energy " + name + (" stealthy" if self.stealthy else "")
        return name + (" (straight-through)" if self.straight_through else "")

    def __call__(self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                 generator: Optional[torch.Generator] = None) -> torch.Tensor:
        context = straight_through_gates(model) if self.straight_through else nullcontext()
        with context:
            if self.method == "fgsm":
                return fgsm(model, images, labels, self.eps)
            if self.method == "energy":
                return energy(model, images, self.eps, self.alpha, self.steps, self.random_start,
                              self.restarts, self.norm, generator, self.stealthy)
            return pgd(model, images, labels, self.eps, self.alpha, self.steps,
                       self.random_start, self.restarts, self.norm, generator,
                       self.stop_when_fooled)


def attack_images(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, attack: Attack,
                  batch_size: int = 250, device: torch.device | str = "cpu", seed: int = 0,
                  progress: bool = True) -> torch.Tensor:
    """Adversarial versions (float, [0, 1], on the CPU) of uint8 or float ``images``, batched.

    The model is put in eval mode for the attack and restored afterwards; ``seed`` fixes the
    random starts, so the result is reproducible.
    """
    if images.is_floating_point():
        _check_images(images)
    generator = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    parts = []
    try:
        batches = iterate_batches(images, labels, batch_size)
        for x, y in tqdm(batches, total=-(-len(images) // batch_size), disable=not progress,
                         desc=f"{attack.label} eps={attack.eps * 255:.3g}/255", leave=False):
            parts.append(attack(model, to_float(x, device), y.to(device), generator).cpu())
    finally:
        model.train(was_training)
    return torch.cat(parts) if parts else torch.zeros(0, *images.shape[1:])


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
             device: torch.device | str = "cpu") -> float:
    """Accuracy (percent) of ``model`` in eval mode on uint8 images or float ones in [0, 1]."""
    return evaluate(model, images, labels, device)["acc"]


def robust_accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                    attack: Attack, batch_size: int = 250, device: torch.device | str = "cpu",
                    seed: int = 0, progress: bool = True) -> float:
    """Accuracy (percent) of ``model`` on ``attack``'s adversarial versions of ``images``."""
    adversarial = attack_images(model, images, labels, attack, batch_size, device, seed, progress)
    return accuracy(model, adversarial, labels, device=device)


def robust_per_image(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                     attacks: list[Attack], batch_size: int = 250, device: torch.device | str = "cpu",
                     seed: int = 0, progress: bool = True) -> torch.Tensor:
    """Per image (bool, on the CPU): still classified correctly under every one of ``attacks``,
    each run as ``robust_accuracy`` runs it (same ``seed``, so the same adversarial images): the
    per-image worst case, which pairs two models attacked on the same images."""
    robust = torch.ones(len(labels), dtype=torch.bool)
    for attack in attacks:
        adversarial = attack_images(model, images, labels, attack, batch_size, device, seed, progress)
        robust &= predict_logits(model, adversarial, device).argmax(1) == labels.cpu()
    return robust


def pgd_attack(eps: float, steps: int, straight_through: bool = False,
               stop_when_fooled: bool = False) -> Attack:
    """PGD-``steps``, L-inf, random start, step 2.5·eps/steps (Madry et al.). With
    ``stop_when_fooled`` an image stops at its first fooling iterate (enough for robust
    accuracy); without, every image takes all steps (transfer sources, compute shifts)."""
    return Attack("pgd", eps=eps, alpha=max(2.5 * eps / steps, 1e-8), steps=steps,
                  straight_through=straight_through, stop_when_fooled=stop_when_fooled)


def standard_attacks(eps: float, pgd_steps=(10, 20), straight_through: bool = False
                     ) -> list[Attack]:
    """FGSM and PGD-n (``pgd_attack``) at ``eps``. PGD stops per image once it is fooled: the
    robust accuracy is what counts here."""
    return [Attack("fgsm", eps=eps, straight_through=straight_through)] + [
        pgd_attack(eps, steps, straight_through, stop_when_fooled=True) for steps in pgd_steps]


def robustness_sweep(models: dict[str, nn.Module], images: torch.Tensor, labels: torch.Tensor,
                     eps_values, pgd_steps=(10, 20), straight_through_models=(), seed: int = 0,
                     device: torch.device | str = "cpu", progress: bool = True):
    """Robust accuracy of every model under FGSM and PGD-n at every eps: a long DataFrame
    (model, attack, eps, eps_255, robust_acc, images, seconds); ``images`` (how many were
    attacked) gives each accuracy its binomial error. Models named in
    ``straight_through_models`` (the gated ones) are attacked twice: naively and with the
    straight-through relaxation. ``seconds`` is the wall time of each row's attack and scoring,
    so a stored sweep still says what recomputing it costs."""
    rows = []
    for name, model in models.items():
        variants = (False, True) if name in straight_through_models else (False,)
        for straight_through in variants:
            for eps in eps_values:
                for attack in standard_attacks(eps, pgd_steps, straight_through):
                    started = time.perf_counter()
                    acc = robust_accuracy(model, images, labels, attack, device=device, seed=seed,
                                          progress=progress)
                    rows.append({"model": name, "attack": attack.label, "eps": eps,
                                 "eps_255": round(eps * 255, 3), "robust_acc": acc,
                                 "images": len(labels), "seconds": time.perf_counter() - started})
    return pd.DataFrame(rows)


def transfer_matrix(models: dict[str, nn.Module], images: torch.Tensor, labels: torch.Tensor,
                    attack: Attack, seed: int = 0, device: torch.device | str = "cpu",
                    progress: bool = True):
    """Accuracy (percent) of each target model (columns) on adversarial images made on each
    source model (rows) with ``attack``; the diagonal is the white-box attack."""
    table = {}
    for source, model in models.items():
        adversarial = attack_images(model, images, labels, attack, device=device, seed=seed,
                                    progress=progress)
        table[source] = {target: accuracy(other, adversarial, labels, device=device)
                         for target, other in models.items()}
    return pd.DataFrame.from_dict(table, orient="index")[list(models)]


# The image sets an energy sweep measures, in the order its rows list them.
ENERGY_SETS = ("clean", "noise", "energy", "energy stealthy")


def uniform_noise(images: torch.Tensor, eps: float,
                  generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """``images`` (float in [0, 1]) plus independent uniform noise in [-eps, eps] on every pixel,
    clipped to [0, 1]: a random point of the L-inf ball, the control for an attack of equal eps."""
    _check(eps)
    _check_images(images)
    return images + _random_start(images, eps, "linf", generator)


def _run(model: nn.Module, images: torch.Tensor, batch_size: int, device
         ) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """(executed MACs per image, predictions, gate records) of one eval-mode pass."""
    logits, gates = gated_eval(model, images, batch_size, device)
    return executed_macs(model, images, gates=gates), logits.argmax(1), gates


def _macs_summary(macs: torch.Tensor, prefix: str = "") -> dict:
    return {f"{prefix}macs_mean": macs.mean().item(), f"{prefix}macs_median": macs.quantile(0.5).item(),
            f"{prefix}macs_max": macs.max().item()}


def _share(mask: torch.Tensor) -> float:
    """Percent of True in ``mask``."""
    return 100.0 * mask.double().mean().item()


def energy_sweep(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, eps_values,
                 steps: int = 20, restarts: int = 1, step_share: float = 0.25,
                 stealthy_eps=None, straight_through: bool = False,
                 static_macs: Optional[float] = None, targets: Optional[dict] = None,
                 seed: int = 0, batch_size: int = 250, device: torch.device | str = "cpu",
                 progress: bool = True):
    """What an attacker can make ``model`` execute: a long DataFrame, one row per image set and
    model measured on it.

    Image sets (column ``attack``, ``ENERGY_SETS``): the clean ``images`` (eps 0), and at every
    eps of ``eps_values`` (L-inf) uniform noise of that eps (``uniform_noise``), the energy
    attack (``energy``: ``steps`` steps of ``step_share`` * eps, ``restarts``, momentum) and its
    stealthy variant (only at the eps of ``stealthy_eps``; None: all), all made on ``model``.
    A model without gates has nothing to ascend: it gets clean and noise rows only.

    Every set is measured on ``model`` (column ``target`` None) and on each of ``targets``
    ({name: model}, the name in ``target``): images made on one model and run on another are a
    black-box (transfer) attack, and a model without gates shows its constant cost. Columns:
    ``macs_mean``, ``macs_median``, ``macs_max`` (``common.flops.executed_macs`` per image),
    ``above_static`` (percent of images executing more than ``static_macs``; NaN without),
    ``acc`` (percent), ``kept`` (percent of predictions equal to the measured model's clean
    ones), ``seconds`` (making the set, on the rows of ``model``) and ``on <block>`` (the block's
    mean gate on-rate, gated models).
    """
    if not 0 < step_share:
        raise ValueError(f"step_share must be > 0 (got {step_share})")
    x = to_float(images).contiguous()
    labels = labels.cpu()
    measured = {None: model, **(targets or {})}
    clean_predictions: dict = {}
    rows = []

    def measure(adversarial: torch.Tensor, attack: str, eps: float, seconds: float) -> None:
        for target, other in measured.items():
            macs, prediction, gates = _run(other, adversarial, 2 * batch_size, device)
            clean_predictions.setdefault(target, prediction)
            rows.append({"eps": eps, "eps_255": round(eps * 255, 3), "attack": attack,
                         "target": target, **_macs_summary(macs),
                         "above_static": _share(macs > static_macs) if static_macs else float("nan"),
                         "acc": _share(prediction == labels),
                         "kept": _share(prediction == clean_predictions[target]),
                         "seconds": seconds if target is None else float("nan"),
                         **{f"on {name}": record["gates"].float().mean().item()
                            for name, record in gates.items()}})

    measure(x, "clean", 0.0, 0.0)
    generator = torch.Generator().manual_seed(seed)
    gated = bool(gated_blocks(model))
    for eps in eps_values:
        started = time.perf_counter()
        measure(uniform_noise(x, eps, generator), "noise", eps, time.perf_counter() - started)
        if not gated:
            continue
        for stealthy in (False, True):
            if stealthy and stealthy_eps is not None and \
                    not any(abs(eps - e) < 1e-9 for e in stealthy_eps):
                continue
            attack = Attack("energy", eps=eps, alpha=max(step_share * eps, 1e-8), steps=steps,
                            restarts=restarts, straight_through=straight_through,
                            stealthy=stealthy)
            started = time.perf_counter()
            adversarial = attack_images(model, x, labels, attack, batch_size, device, seed,
                                        progress)
            measure(adversarial, "energy stealthy" if stealthy else "energy", eps,
                    time.perf_counter() - started)
    return pd.DataFrame(rows)


def budget_curve(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, caps,
                 attack: Optional[Attack] = None, seed: int = 0, batch_size: int = 250,
                 device: torch.device | str = "cpu", progress: bool = True):
    """A gated model under per-image MAC caps (``common.flops.mac_budget``): one row per cap of
    ``caps`` (MACs per image; None: uncapped) with the executed MACs (``macs_mean``,
    ``macs_median``, ``macs_max``), accuracy (``acc``, percent) and ``capped`` (percent of
    images the cap makes execute fewer MACs than uncapped) on ``images``.

    With ``attack`` (e.g. ``Attack("energy", ..., straight_through=True)``: gradients through
    the capped gates' relaxation), it is made against the capped model itself and the same is
    measured on its images: ``attacked_macs_mean`` / ``_median`` / ``_max``, ``attacked_acc``,
    and ``seconds`` (the attack's wall time).
    """
    x = to_float(images).contiguous()
    labels = labels.cpu()
    uncapped, uncapped_prediction, _ = _run(model, x, 2 * batch_size, device)
    rows = []
    for cap in caps:
        with mac_budget(model, cap, x.shape[-1]) if cap is not None else nullcontext():
            macs, prediction = ((uncapped, uncapped_prediction) if cap is None
                                else _run(model, x, 2 * batch_size, device)[:2])
            row = {"cap": float("nan") if cap is None else float(cap), **_macs_summary(macs),
                   "acc": _share(prediction == labels), "capped": _share(macs < uncapped)}
            if attack is not None:
                started = time.perf_counter()
                adversarial = attack_images(model, x, labels, attack, batch_size, device, seed,
                                            progress)
                seconds = time.perf_counter() - started
                macs, prediction, _ = _run(model, adversarial, 2 * batch_size, device)
                row |= {**_macs_summary(macs, "attacked_"),
                        "attacked_acc": _share(prediction == labels), "seconds": seconds}
        rows.append(row)
    return pd.DataFrame(rows)
