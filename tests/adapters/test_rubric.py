"""Rubric adapter, tested against the documented contract of PrimeIntellect-ai/verifiers
(``verifiers/rubrics/rubric.py``; the library is not installed here and shares our import name):
each reward function is called with the subset of ``prompt, completion, answer, state, task, info``
its signature declares (everything when it takes ``**kwargs``), returns a float, and ``Rubric``
sums ``weight * value``."""

from __future__ import annotations

import inspect
import pickle

import pytest

from tests.adapters import rewards_for_tests as rt
from verifiers import Composition, ConfigError, Sample
from verifiers.adapters.rubric import rubric_funcs


@pytest.fixture(scope="module")
def reg():
    return rt.make_registry()


def call_like_rubric(func, **available):
    """What the library's rubric does: pass the declared names, or all of them for **kwargs."""
    params = inspect.signature(func).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return func(**available)
    return func(**{k: v for k, v in available.items() if k in params})


def rollout(completion, answer, info=None):
    return dict(prompt=[{"role": "user", "content": "q"}], completion=completion, answer=answer,
                state={}, task="default", info=info or {})


def test_weighted_sum_equals_composition_total(reg):
    config = [{"name": "has_answer"}, {"name": "vowels", "weight": 0.5, "gate": "has_answer"}]
    funcs, weights = rubric_funcs(config, registry=reg, pool=False)
    assert [f.__name__ for f in funcs] == ["has_answer", "vowels"]
    comp = Composition.from_config(config, registry=reg, pool=False)
    for text, answer in [("it is 9 aei", "9"), ("no", "9"), ("aeiou 9", "9")]:
        total = sum(w * call_like_rubric(f, **rollout([{"role": "assistant", "content": text}], answer))
                    for f, w in zip(funcs, weights))
        assert total == pytest.approx(comp.score_one(Sample(completion=text, answer=answer, prompt="q")).reward)


def test_info_fields_reach_the_record(reg):
    (f,), _ = rubric_funcs("has_answer", registry=reg, pool=False)
    assert call_like_rubric(f, **rollout("x 5", "", info={"answer": "5"})) == 1.0


def test_cannot_judge_gives_none_score(reg):
    (f,), _ = rubric_funcs("vowels", registry=reg, pool=False, none_score=0.0)
    assert call_like_rubric(f, **rollout("123", "1")) == 0.0


def test_group_rewards_are_refused(reg):
    with pytest.raises(ConfigError, match="group"):
        rubric_funcs("shortest", registry=reg, pool=False)


def test_pickles(reg):
    funcs, _ = rubric_funcs("has_answer", registry=reg, pool=False)
    clone = pickle.loads(pickle.dumps(funcs[0]))
    assert clone.__name__ == "has_answer" and call_like_rubric(clone, **rollout("7", "7")) == 1.0
