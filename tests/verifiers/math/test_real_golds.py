"""Every real gold answer equals itself when boxed; one-digit changes are rejected."""

from __future__ import annotations

import pytest

from tests.verifiers.math.golds import SHARED, load_golds, perturb
from verifiers.math import verify
from verifiers.math.grader import clean_gold

pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared data not found at {SHARED}")


def test_real_golds_identity_and_perturbation() -> None:
    golds = load_golds()
    assert len(golds) > 1000
    invalid, identity_fail, perturbed, accepted = [], [], 0, []
    for source, gold in golds:
        r = verify(gold, f"Thus the answer is $\\boxed{{{clean_gold(gold)}}}$.")
        if r.reason == "gold_invalid":
            invalid.append((source, gold))  # counted, not scored (empty golds in gaokao2023en)
            continue
        if r.score != 1.0:
            identity_fail.append((source, gold, r))
        changed = perturb(gold)
        if changed is not None:
            perturbed += 1
            if verify(gold, f"Thus the answer is $\\boxed{{{changed}}}$.").score != 0.0:
                accepted.append((source, gold, changed))
    assert not identity_fail, identity_fail[:10]
    assert len(invalid) <= 5, invalid
    assert len(accepted) <= perturbed * 0.001, accepted
