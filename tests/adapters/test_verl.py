"""verl adapter, tested against verl's documented contract (verl is not installed: `pip install
--dry-run verl` here would downgrade transformers 5.23 -> 5.10.4 and add ray, so it stays out of
the venv). Contract, from volcengine/verl:

* ``verl/utils/reward_score/__init__.py`` and ``docs/preparation/reward_function.rst``: per sample
  ``compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs)`` returns a
  float or a dict with ``"score"``; other keys go to ``reward_extra_info`` (one list per key, so
  every sample must give the same keys).
* ``verl/workers/reward_manager/prime.py``: the four arguments are passed by position.
* ``verl/workers/reward_manager/batch.py``: ``compute_score(data_sources=, solution_strs=,
  ground_truths=, extra_infos=, **reward_kwargs)`` returns one result per sample.
* ``verl/trainer/ppo/reward.py`` (``get_custom_reward_fn``): the file is loaded with
  ``importlib.util.spec_from_file_location("custom_module", path)`` and ``reward_kwargs`` from the
  config are merged into every call.
"""

from __future__ import annotations

import importlib.util
import math
from collections import defaultdict
from functools import partial

import numpy as np
import pytest

import verifiers.adapters.verl as verl_adapter
from tests.adapters import rewards_for_tests as rt
from verifiers import REGISTRY, Composition, ConfigError, Sample
from verifiers.adapters.verl import VerlReward, compute_score, compute_score_batch


@pytest.fixture(scope="module")
def reg():
    return rt.make_registry()


def test_dict_has_score_terms_and_extras(reg):
    f = VerlReward("has_answer,vowels:0.5", registry=reg, pool=False)
    out = f("openai/gsm8k", "so it is 42", "42")
    assert out["score"] == pytest.approx(1.0 + 0.5 * 3 / 6)  # letters s,o,i,t,i,s: 3 vowels of 6
    assert out["has_answer"] == 1.0 and out["judged"] == 1.0
    assert out["pred"] == "42"
    assert out["reason"] == "has_answer=ok;vowels=ok"


def test_positional_call_as_prime_manager_does(reg):
    f = VerlReward("has_answer", registry=reg, pool=False)
    assert f("src", "x 7", "7", {"index": 0})["score"] == 1.0


def test_cannot_judge_is_flagged_not_hidden(reg):
    # verl needs a number for every sample: the flag and reason say it was not judged
    f = VerlReward("vowels", registry=reg, pool=False, none_score=0.0)
    out = f("src", "123 456", None)
    assert out["score"] == 0.0 and out["judged"] == 0.0
    assert math.isnan(out["vowels"])
    assert "not_applicable" in out["reason"]


def test_rewards_selected_by_data_source(reg):
    f = VerlReward({"gsm8k": "has_answer", "*": "vowels"}, registry=reg, pool=False)
    assert f("gsm8k", "aaa 5", "5")["score"] == 1.0
    assert f("other", "aab", "5")["score"] == pytest.approx(2 / 3)


def test_unknown_data_source_without_fallback_names_it(reg):
    f = VerlReward({"gsm8k": "has_answer"}, registry=reg, pool=False)
    with pytest.raises(ConfigError, match="'mbpp'.*gsm8k"):
        f("mbpp", "x", "1")


def test_mixed_sources_give_the_same_keys_as_naive_manager_needs(reg):
    f = VerlReward({"a": "has_answer", "b": "vowels"}, registry=reg, pool=False)
    extra = defaultdict(list)
    for src, sol in [("a", "1"), ("b", "aa"), ("a", "2")]:
        result = f(src, sol, "1")
        for k, v in result.items():
            extra[k].append(v)
    assert {len(v) for v in extra.values()} == {3}


def test_numpy_values_from_non_tensor_batch(reg):
    # verl keeps ground_truth / extra_info in numpy object arrays
    f = VerlReward("has_answer", registry=reg, pool=False)
    truths = np.array(["9", "8"], dtype=object)
    assert f(np.str_("src"), "is 9", truths[0], {"index": np.int64(3)})["score"] == 1.0


def test_batch_matches_per_sample_and_groups_by_index(reg):
    f = VerlReward("has_answer,shortest", registry=reg, pool=False)
    sols = ["1", "1 1", "22", "2 2 2"]
    infos = [{"index": 0}, {"index": 0}, {"index": 1}, {"index": 1}]
    batch = f.batch(["s"] * 4, sols, ["1", "1", "2", "2"], infos)
    assert [r["shortest"] for r in batch] == [1.0, 0.0, 1.0, 0.0]
    assert [r["has_answer"] for r in batch] == [f("s", s, g, i)["has_answer"] for s, g, i in
                                                zip(sols, ["1", "1", "2", "2"], infos)]


def test_module_function_with_reward_kwargs_equals_direct_composition():
    text = "<think>a</think><answer>4</answer>"
    out = compute_score("openai/gsm8k", text, "4", None, rewards="format")
    direct = Composition.from_config([{"name": "format"}], pool=False).score_one({"completion": text, "answer": "4"})
    assert out["score"] == direct.reward
    batch = compute_score_batch(data_sources=["x"], solution_strs=[text], ground_truths=["4"], extra_infos=[None],
                                rewards="format")
    assert batch[0]["score"] == direct.reward


def test_missing_rewards_kwarg_says_how_to_configure():
    with pytest.raises(ConfigError, match="reward_kwargs.rewards"):
        compute_score("x", "y", "z")


def test_loaded_like_get_custom_reward_fn():
    # verl loads the file under another module name and merges reward_kwargs into each call
    spec = importlib.util.spec_from_file_location("custom_module", verl_adapter.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fn = partial(module.compute_score, rewards={"*": "format"})
    text = "<think>a</think><answer>4</answer>"
    assert fn(data_source="d", solution_str=text, ground_truth="4", extra_info={"split": "train"})["score"] == \
        compute_score("d", text, "4", rewards="format")["score"]
    assert "format" in REGISTRY


def test_tests_ground_truth_goes_to_tests_field():
    from verifiers.adapters._common import BatchScorer
    from verifiers.adapters.verl import _truth_field
    from verifiers.compose import Term
    from verifiers.types import Reward, RewardResult

    class NeedsTests(Reward):
        requires = ("tests",)

        def score(self, sample: Sample) -> RewardResult:
            return RewardResult(float(len(sample.tests)))

    f = VerlReward([Term(reward=NeedsTests(), key="t")], pool=False)
    assert _truth_field(BatchScorer(f.scorers["*"].terms)) == "tests"
    assert f("code", "print(1)", '[{"input": "", "output": "1"}, {"input": "", "output": "2"}]')["score"] == 2.0
