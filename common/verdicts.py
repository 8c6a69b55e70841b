"""How the study's numbers become its words, each rule once: a difference paired by seed (ahead,
behind, not distinguishable; no verdict on one seed: ``seeds.interval_word``), equal cost,
following the vehicle/animal split and being learnt, gates that decide per image, models that
differ or are robust under attack, the MAC cap, how much more an attack on compute makes a model
spend; and the readers of what those rules apply to (the finished runs over seeds,
``load_overview``; the tables notebooks 02-04 write). ``findings`` (one finding per question) and
``lengths`` (the training-length tables) both read the results through this module, so a rule
cannot say one thing in one and another in the other. ``findings.reading_rules`` states the rules
for the reader; ``Finding`` is what both produce.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Optional

import pandas as pd

from . import seeds
from .attack_results import differing, direction_words, smallest_attack_eps, strongest_pgd
from .analysis import TRAINED, TWINS, UNTRAINED_STATIC, control_partials, follows_split, partial_column
from .manifest import ANALYSIS_K, DY_LABEL, HEADLINE_LABEL, SEEDS, STUDY_LABELS
from .names import FAMILIES
from .paths import RESULTS_DIR, tables_dir
from .selection import decides_per_image
from .study import handoff_path


class Finding(NamedTuple):
    """One answer of the study: a heading, its text (a lead sentence, then "- " sub-bullets on
    lines of their own) and the figure that shows it."""
    topic: str
    text: str
    figure: Optional[str]  # file name under figures/<profile>/


def read_table(results_dir: Path, table: str, **fields) -> Optional[pd.DataFrame]:
    """The shared table ``table`` (a key of ``study.HANDOFF``) a notebook wrote, its first column
    the index, or None where that notebook has not run: a finding that needs it is then left out."""
    path = handoff_path(tables_dir(results_dir), table, **fields)
    return pd.read_csv(path, index_col=0) if path.exists() else None


def read_attention_controls(results_dir: Path, profile: str) -> Optional[pd.DataFrame]:
    """Notebook 02's similarity controls of DY K=``ANALYSIS_K``'s attention (seed 0)."""
    return read_table(results_dir, "attention_controls", profile=profile, k=ANALYSIS_K)


def read_attention_layers(results_dir: Path, profile: str) -> Optional[pd.DataFrame]:
    """Notebook 02's per-layer statistics of DY K=``ANALYSIS_K``'s attention on the test images
    (seed 0): normalised entropy, spread over images, kernel diversity."""
    return read_table(results_dir, "attention_layers", profile=profile, k=ANALYSIS_K)


def read_attention_ablation(results_dir: Path, profile: str) -> Optional[pd.DataFrame]:
    """Notebook 02's mean-attention ablation of DY K=``ANALYSIS_K`` (seed 0): test accuracy with
    per-image attention and with every image's attention replaced by its mean over training images."""
    return read_table(results_dir, "attention_ablation", profile=profile, k=ANALYSIS_K)


def read_gating_controls(results_dir: Path, profile: str) -> Optional[pd.DataFrame]:
    """Notebook 03's similarity controls of the headline gated model's channel usage (seed 0)."""
    return read_table(results_dir, "gating_controls", profile=profile)


def read_attention_seeds(results_dir: Path, profile: str) -> Optional[pd.DataFrame]:
    """Notebook 02's similarity controls of DY K=``ANALYSIS_K``'s attention, one row per seed."""
    return read_table(results_dir, "attention_seeds", profile=profile, k=ANALYSIS_K)


def read_gating_seeds(results_dir: Path, profile: str) -> Optional[pd.DataFrame]:
    """Notebook 03's similarity controls of the headline gated model's channel usage, one row per seed."""
    return read_table(results_dir, "gating_seeds", profile=profile)


def read_input_dependence(results_dir: Path, profile: str) -> Optional[pd.DataFrame]:
    """Notebook 03's input-dependence table of the gated models (seed 0), by model."""
    return read_table(results_dir, "gating_input_dependence", profile=profile)


def read_mac_caps(results_dir: Path, profile: str) -> Optional[pd.DataFrame]:
    """Notebook 04's MAC-cap table of the headline gated model, one row per cap."""
    return read_table(results_dir, "mac_cap", profile=profile)


def spans_zero(row: pd.Series, prefix: str) -> Optional[bool]:
    """Whether a ``seeds.overview`` row's ``prefix`` difference is not distinguishable from 0
    (``seeds.verdict_word``); None with fewer than two paired seeds (no verdict)."""
    word = seeds.verdict_word(row, prefix)
    return None if word in ("no comparison", "one seed") else word == "not distinguishable"


def settled(n: float) -> bool:
    """Whether a comparison over ``n`` paired seeds of the study's models has its verdict: all the
    study's seeds (``manifest.SEEDS``) compared. With fewer its interval is shown and the verdict
    waits (two seeds give a t-interval of one degree of freedom). The sweeps over K and the L0
    weight, trained with fewer seeds, are read on the seeds they have (``seeds.interval_word``)."""
    return n == n and n >= len(SEEDS)


def waiting(n: float) -> str:
    """The words of a comparison that is not ``settled``: "one seed: no verdict", "2 of 3 seeds:
    no verdict yet"."""
    return "one seed: no verdict" if not n >= 2 else f"{n:.0f} of {len(SEEDS)} seeds: no verdict yet"


def waits(words: str) -> bool:
    """Whether a conclusion's ``words`` are ``waiting``'s: no verdict for want of seeds."""
    return words.endswith(("one seed: no verdict", "seeds: no verdict yet"))


def supported(label: str, row: pd.Series, prefix: str) -> str:
    """What the difference ``prefix`` ("delta", "margin") of ``load_overview``'s row ``label``
    supports (``seeds.verdict``), under the seed-count rule: a comparison of the study's models
    over fewer than all seeds waits (``waiting``); the sweeps' models are read on the seeds they have."""
    n = row[f"{prefix}_n"]
    if label in STUDY_LABELS and n >= 1 and not settled(n):
        return waiting(n)
    return seeds.verdict(row, prefix)


def accuracy_text(row: pd.Series) -> str:
    """"87.50 ± 0.25% (3 seeds)", or "91.50% (1 seed)" where there is no spread."""
    n = int(row["n"])
    return seeds.plus_minus(row["test_acc"], row["test_acc_std"], unit="%") + (f" ({n} seeds)" if n > 1 else "")


def load_overview(results_dir: str | Path = RESULTS_DIR, profile: str = "full"
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every finished run of ``profile`` (``seeds.seed_table``) and its table over seeds
    (``seeds.overview``; empty without runs): what the findings are computed from."""
    table = seeds.seed_table(seeds.load_runs(results_dir, profile))
    return table, (seeds.overview(table) if not table.empty else pd.DataFrame())


_D_KEYS = ("seeds", "n", "mean", "ci_low", "ci_high")  # what a comparison's ``d_`` dict carries


def paired_by_seed(table: pd.DataFrame, label: str, reference: str, column: str = "test_acc") -> dict:
    """``label`` minus ``reference`` paired by seed in one profile's ``seed_table``, as the
    ``d_``-prefixed n / mean / 95% interval that ``seeds.signed`` and ``seeds.verdict_word`` read."""
    diffs = seeds.paired_differences(table[table["label"].isin([label, reference])], reference, column)
    row = diffs.loc[label] if label in diffs.index else dict.fromkeys(_D_KEYS, float("nan")) | {"seeds": "", "n": 0}
    return {f"d_{key}": row[key] for key in _D_KEYS}


def against_constant(values: pd.Series, constant: float) -> dict:
    """The mean of ``values`` minus ``constant``, with the 95% interval of that mean."""
    found = seeds.interval(values - constant)
    return {f"d_{key}": found[key] for key in ("n", "mean", "ci_low", "ci_high")}


def over_frontier(table: pd.DataFrame, label: str) -> dict:
    """``label``'s accuracy minus the static frontier's at its own MACs, seed by seed
    (``seeds.frontier_margins``), as ``paired_by_seed``'s ``d_`` dict (n = 0 where no frontier of
    the profile brackets its MACs), with ``d_outside``: how many of its finished seeds no frontier
    of their seed brackets (they wait for a static width on their other side)."""
    static = table.loc[table["family"] == FAMILIES["resnet20"], "label"].unique().tolist()
    found = seeds.frontier_margins(table, static, [label])
    row = found.loc[label] if label in found.index else {"n": 0}
    outside = (table["label"] == label).sum() - (row["n"] if row["n"] == row["n"] else 0)
    return {f"d_{key}": row.get(key, float("nan")) for key in _D_KEYS} | {"d_outside": int(outside)}


COST_TOLERANCE = 0.05  # two networks whose MACs differ by at most this share cost the same


def same_cost(macs: float, other: float) -> bool:
    """Whether two networks cost the same: MACs within ``COST_TOLERANCE`` of each other."""
    return abs(macs / other - 1) <= COST_TOLERANCE


# What the study's question compares each dynamic model with, as the columns of its difference in
# ``seeds.overview``: "delta" against ResNet-20, "nearest" against the static network nearest in MACs.
QUESTION_COLUMNS = {DY_LABEL: "delta", HEADLINE_LABEL: "nearest"}


def compared_with(label: str, row: pd.Series) -> str:
    """The network ``label`` (``row``: its row over seeds) is compared with: its nearest static network
    where ``QUESTION_COLUMNS`` says so, else ResNet-20."""
    return row["nearest_static"] if QUESTION_COLUMNS.get(label) == "nearest" else seeds.REFERENCE


class Controls(NamedTuple):
    """What a similarity-controls table (``analysis.similarity_controls``) says of its feature."""
    own: pd.Series  # the feature's row (attention or channel usage)
    static: pd.Series  # the static ResNet-20 features' row
    agreement: float  # the static features' class similarity against the feature's (r)
    partial: float  # the feature's partial correlation with the vehicle/animal split given the static features


def read_controls(table: Optional[pd.DataFrame]) -> Optional[Controls]:
    """A similarity-controls table as notebook 02 or 03 wrote it (its first row the feature's, its
    second the static ResNet-20 features'), read into ``Controls``; None without both rows."""
    if table is None or len(table) < 2:
        return None
    own, static = table.iloc[0], table.iloc[1]
    agreement = next(c for c in table.columns if c.startswith("agreement with")
                     and "vehicles" not in c)
    return Controls(own, static, table[agreement].iloc[1], own[partial_column(table)])


# A trained feature's partial agreement with the vehicle/animal split (given ResNet-20's features)
# must exceed its untrained twin's by this much to count as learnt.
LEARNT_MARGIN = 0.2


def is_learnt(untrained: float, trained: float) -> bool:
    """Whether a trained feature's partial correlation beats its untrained twin's by more than
    ``LEARNT_MARGIN``."""
    return untrained < trained - LEARNT_MARGIN


def untrained_twins(table: pd.DataFrame) -> dict[str, float]:
    """The untrained twins' partial correlations in a similarity-controls table, by
    ``analysis.TWINS`` (the rate-matched one only for gated models)."""
    partials = control_partials(table)
    return {twin: partials[twin] for twin in TWINS if twin in partials}


def learnt(table: pd.DataFrame, partial: float) -> Optional[bool]:
    """Whether the trained feature's ``partial`` correlation in a similarity-controls table is
    learnt: ``is_learnt`` against the larger of its untrained twins' (the stricter control);
    None where the table has no untrained twin."""
    twins = untrained_twins(table)
    return is_learnt(max(twins.values()), partial) if twins else None


def learnt_by_seed(table: pd.DataFrame) -> pd.Series:
    """Per seed of a per-seed controls table (``analysis.controls_by_seed``, index seed): the trained
    partial correlation minus the stricter of its untrained twins', where ``is_learnt``; the seeds
    where it is not learnt are left out."""
    stricter = table[[c for c in TWINS if c in table]].max(axis=1)
    margin = table[TRAINED] - stricter
    return margin[[is_learnt(twin, value) for twin, value in zip(stricter, table[TRAINED])]]


def like_random(table: pd.DataFrame, partial: float) -> bool:
    """Whether an untrained ResNet-20's pooled features follow the split too, within
    ``LEARNT_MARGIN`` of the trained feature's ``partial``: then following it says nothing of
    the feature's own."""
    value = control_partials(table).get(UNTRAINED_STATIC)
    return value is not None and follows_split(value) and partial - value <= LEARNT_MARGIN


def gates_per_image(d: pd.Series) -> bool:
    """Whether a row of notebook 03's input-dependence table meets the selection rule's
    per-image criteria (``selection.GOALS``: share of live gates conditional, per-image MACs spread)."""
    return bool(decides_per_image(d["live gates conditional (%)"] / 100, d["MACs spread (%)"] / 100))


TEST_IMAGES = 10_000  # CIFAR-10's test split, which notebook 03's frozen-gate ablation evaluates whole
ROBUST_ACC = 10.0  # accuracy (%) under the strongest PGD at the largest ε from which a model counts as robust


def binomial_differ(a: float, b: float, images: int) -> bool:
    """Whether two accuracies (%) on ``images`` test images each differ beyond the 95% interval of
    a difference of two binomial proportions (unpaired normal approximation: conservative for two
    evaluations of the same images, as in the frozen-gate ablation)."""
    p, q = a / 100, b / 100
    return abs(a - b) > 100 * 1.96 * ((p * (1 - p) + q * (1 - q)) / images) ** 0.5


class Robustness(NamedTuple):
    """Notebook 04's robustness sweep, read once for the findings and the analyses."""
    sweep: pd.DataFrame
    eps: float  # the smallest ε attacked (/255)
    strongest: pd.Series  # accuracy (%) under the strongest PGD at ``eps`` (per image, with ``paired``), by model
    largest: float  # the largest ε attacked (/255)
    most: float  # the highest accuracy (%) under PGD at ``largest`` of any model
    images: Optional[int]  # test images attacked (None in sweeps that do not record it)
    paired: Optional[pd.DataFrame]  # notebook 04's differences from ResNet-20 paired by image at ``eps``

    def differ(self, labels) -> list[str]:
        """Those of ``labels`` whose accuracy under the per-image strongest PGD differs from
        ResNet-20's: the 95% interval of the difference, paired by image, excludes 0 (none
        without notebook 04's paired table)."""
        found = differing(self.paired) if self.paired is not None else []
        return [label for label in labels if label in found]

    def differ_words(self, labels, name=str, verb: str = "") -> list[str]:
        """``differ``'s models as "<name> more robust" or "<name> less robust" (than the ResNet-20
        it is paired with), with ``verb`` between: "DY K=4 is more robust"."""
        return direction_words(self.paired, labels, seeds.REFERENCE, name, verb) if self.paired is not None else []


def read_robustness(results_dir: Path, profile: str) -> Optional[Robustness]:
    """Notebook 04's robustness sweep at ``profile`` and its image-paired differences, or None
    where notebook 04 has not run."""
    path = handoff_path(tables_dir(results_dir), "robustness", profile=profile)
    if not path.exists():
        return None
    sweep = pd.read_csv(path)
    eps, largest = smallest_attack_eps(sweep), sweep["eps_255"].max()
    most = sweep[(sweep["eps_255"] == largest) & sweep["attack"].str.startswith("PGD")]["robust_acc"].max()
    paired = handoff_path(tables_dir(results_dir), "attack_paired", profile=profile)
    paired = pd.read_csv(paired) if paired.exists() else None
    # one measure for the accuracies and their differences: per image, every PGD variant
    strongest = (paired.set_index("model")["robust acc (%)"] if paired is not None
                 else strongest_pgd(sweep, eps))
    return Robustness(sweep, eps, strongest, largest, most,
                      int(sweep["images"].iloc[0]) if "images" in sweep else None,
                      paired)


CAP_INTERVAL = ("capped − static: 95% CI low", "capped − static: 95% CI high")  # notebook 04's columns
CAP_SEEDS = "capped − static: seeds"  # the seeds whose frontier reaches the cap (notebook 04's column)
# What a per-image MAC cap is asked for (notebook 04): a guaranteed worst case of CAP_WORST_CASE × the
# uncapped model's mean MACs for at most CAP_TOLERANCE points of clean accuracy. The README's finding
# quotes the loosest cap whose attacked maximum stays within that worst case, whatever its accuracy
# costs (a cap that lets the attack go further bounds little); with none, the loosest cap.
CAP_WORST_CASE, CAP_TOLERANCE = 1.25, 0.5
WIDE_BRACKET = 2.0  # static widths further apart than this in MACs: an interpolation between them is coarse
WITHIN_POINTS = 1.0  # notebook 03's cheapest gated model: within this many points of ResNet-20's accuracy


def cap_words(caps: pd.DataFrame) -> list[str]:
    """Per cap of notebook 04's MAC-cap table: the capped model against the static network that
    costs the cap, "behind" / "ahead" / "not distinguishable" by the 95% interval once all the
    study's seeds are compared (``settled``, ``seeds.interval_word``); before that ``waiting``'s
    words ("one seed: no verdict", "2 of 3 seeds: no verdict yet")."""
    return [seeds.interval_word(n, low, high) if settled(n) else waiting(n)
            for n, low, high in caps[[CAP_SEEDS, *CAP_INTERVAL]].itertuples(index=False)]


def cap_verdict(caps: pd.DataFrame) -> str:
    """The MAC cap's conclusion over its caps (those with a static network to compare with); the
    words of the fewest seeds (``waiting``) while a cap has fewer than all the study's seeds,
    preceded by how many caps, "1 of 6 caps on one seed: no verdict", where some have them all."""
    compared = caps[caps["capped − static"].notna()]
    short = [n for n in compared[CAP_SEEDS] if not settled(n)]
    if short:
        every = len(short) == len(compared)
        return waiting(min(short)) if every else f"{len(short)} of {len(compared)} caps on {waiting(min(short))}"
    words = cap_words(compared)
    return ("static higher at every cap" if set(words) == {"behind"} else
            "capped higher at some cap" if "ahead" in words else
            "static higher at some caps, never significantly lower" if "behind" in words else "not distinguishable at any cap")


ENERGY_WORDS = ((1.25, "much more"), (1.05, "more"))  # (least attacked / clean MACs, word)


def energy_word(gain: float) -> str:
    """How much more a model spends under an attack on compute, by its attacked / clean mean
    MACs: the first word of ``ENERGY_WORDS`` whose ratio ``gain`` reaches, else "hardly more"."""
    return next((word for least, word in ENERGY_WORDS if gain >= least), "hardly more")


class EnergyAttack(NamedTuple):
    """Notebook 04's energy attack on the headline gated model at its largest ε, one row per seed."""
    eps: float  # /255
    top: pd.DataFrame  # the energy table's rows of the headline at ``eps``
    shares: pd.DataFrame  # per seed: % of its saving against ResNet-20 taken back (energy, stealthy)
    ratio: pd.Series  # mean MACs attacked / clean, per seed
    noise: pd.Series  # mean MACs under uniform noise of the same ε / clean, per seed


def read_energy(results_dir: Path, profile: str) -> Optional[EnergyAttack]:
    """Notebook 04's energy attack on the headline gated model at ``profile``, or None where
    notebook 04 has not run or has not attacked it."""
    energy, recovered = (read_table(results_dir, "energy", profile=profile),
                         read_table(results_dir, "energy_recovered", profile=profile))
    if energy is None or recovered is None:
        return None
    headline = HEADLINE_LABEL
    energy = energy.reset_index()
    eps = energy["ε (/255)"].max()
    top = energy[energy["model"].str.startswith(headline) & (energy["ε (/255)"] == eps)]
    shares = recovered[recovered.index.str.startswith(headline)]
    if top.empty or shares.empty:
        return None
    clean = top["mean MACs clean (M)"]
    return EnergyAttack(eps, top, shares, top["mean MACs energy (M)"] / clean,
                        top["mean MACs noise (M)"] / clean)
