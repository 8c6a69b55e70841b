import numpy as np
import pandas as pd
import pytest

from common.flops import RESNET20_MACS
from common.selection import frontier_accuracy, select_headline

STATIC = pd.DataFrame({"macs": [0.3 * RESNET20_MACS, 0.5 * RESNET20_MACS, RESNET20_MACS],
                       "acc": [78.0, 80.0, 82.0]})


def gated(**columns):
    base = {"run": ["a", "b", "c"], "macs": [0.4 * RESNET20_MACS] * 3, "acc": [79.0] * 3,
            "live_conditional": [0.5] * 3, "macs_cv": [0.2] * 3}
    return pd.DataFrame({**base, **columns})


def test_frontier_is_linear_in_log_macs_and_never_extrapolates():
    at = np.sqrt(0.3 * 0.5) * RESNET20_MACS  # the log-midpoint of the first two points
    assert frontier_accuracy(STATIC, at)[0] == pytest.approx(79.0)
    assert frontier_accuracy(STATIC, RESNET20_MACS)[0] == 82.0
    assert np.isnan(frontier_accuracy(STATIC, 0.2 * RESNET20_MACS)[0])


def test_headline_is_the_qualifying_variant_with_the_largest_margin():
    table = select_headline(gated(acc=[79.0, 80.5, 81.0], live_conditional=[0.5, 0.5, 0.3]), STATIC)
    assert table["qualifies"].tolist() == [True, True, False]  # c: too few conditional gates
    assert table.loc[table["headline"], "run"].tolist() == ["b"]  # c has the best margin but fails
    assert table.loc[1, "margin"] == pytest.approx(80.5 - table.loc[1, "frontier_acc"])


def test_without_a_qualifying_variant_the_best_cheap_margin_wins():
    table = select_headline(gated(acc=[80.0, 80.0, 81.0], macs_cv=[0.05] * 3,
                                  macs=[0.4 * RESNET20_MACS, 0.5 * RESNET20_MACS, 0.7 * RESNET20_MACS]),
                            STATIC)
    assert not table["qualifies"].any()
    assert table.loc[table["headline"], "run"].tolist() == ["a"]  # c is over 60% of the MACs
    none = select_headline(gated(macs=[0.9 * RESNET20_MACS] * 3), STATIC)
    assert not none["headline"].any()


def test_the_manifests_headline_is_the_rules_pick():
    """The manifest's headline gated model must be the proxy the committed hold-out runs select
    (a finished proxy that changes the pick makes this fail until the manifest follows)."""
    from common.manifest import HEADLINE
    from common.paths import RESULTS_DIR
    from common.selection import load_proxies, proxy_frontier

    selection = RESULTS_DIR / "recipe_selection"
    table = select_headline(load_proxies(selection / "conditional"), proxy_frontier(selection))
    (pick,) = table[table["headline"]].itertuples()
    assert HEADLINE == (pick.model, pick.kwargs)
