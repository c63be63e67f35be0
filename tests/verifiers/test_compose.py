"""Composition: weighted sum, log-only terms, gating, None and error policies, pool deadlines, metrics."""

from __future__ import annotations

import math
import time

import pytest

from tests.verifiers import toy_rewards as toy
from verifiers import Composition, ConfigError, Registry, Sample, Term, WorkerPool


@pytest.fixture(scope="module")
def reg() -> Registry:
    r = Registry(entry_point_group=None)
    for name, cls in {
        "exact": toy.ExactMatch, "chars": toy.Length, "slow": toy.HeavySlow, "raises": toy.Raises,
        "unsure": toy.CannotJudge, "shortest": toy.GroupRank,
    }.items():
        r.add(cls, name=name)
    return r


@pytest.fixture(scope="module")
def pool():
    p = WorkerPool(2, default_deadline=5)
    yield p
    p.shutdown()


def comp(reg, config, pool=False):
    return Composition.from_config(config, registry=reg, pool=pool)


def S(text, answer="42", **kw):
    return Sample(completion=text, answer=answer, **kw)


def test_weighted_sum_as_r1_does(reg):
    c = comp(reg, [{"name": "exact", "weight": 1.0}, {"name": "chars", "weight": 0.5, "params": {"scale": 10}}])
    out = c.score([S("42"), S("41")])
    assert out[0].rewards == {"exact": 1.0, "chars": 0.2}
    assert out[0].reward == pytest.approx(1.0 + 0.5 * 0.2)
    assert out[1].reward == pytest.approx(0.0 + 0.5 * 0.2)
    assert out[1].reasons["exact"] == "mismatch"


def test_weight_zero_is_logged_not_added(reg):
    c = comp(reg, [{"name": "exact"}, {"name": "chars", "weight": 0}])
    out = c.score([S("42")])[0]
    assert out.rewards["chars"] == 2.0 and out.reward == 1.0


def test_gate_adds_a_term_only_when_the_gate_term_passes(reg):
    c = comp(reg, [{"name": "exact"}, {"name": "chars", "weight": 1, "gate": "exact", "params": {"scale": 100}}])
    right, wrong = c.score([S("42"), S("4 2")])
    assert right.reward == pytest.approx(1.02)
    assert wrong.reward == 0.0 and wrong.rewards["chars"] == pytest.approx(0.03)  # logged, not added


def test_none_propagates_to_the_total_by_default(reg):
    out = comp(reg, [{"name": "exact"}, {"name": "unsure"}]).score([S("42")])[0]
    assert out.rewards["unsure"] is None and out.reward is None


def test_none_policy_skip_and_substitute(reg):
    skip = comp(reg, [{"name": "exact"}, {"name": "unsure", "on_none": "skip"}]).score([S("42")])[0]
    sub = comp(reg, [{"name": "exact"}, {"name": "unsure", "on_none": 0.5}]).score([S("42")])[0]
    assert skip.reward == 1.0 and sub.reward == 1.5


def test_missing_required_field_is_cannot_judge_not_zero(reg):
    out = comp(reg, [{"name": "exact"}]).score([Sample(completion="42")])[0]
    assert out.rewards["exact"] is None and out.reasons["exact"] == "missing_field"


def test_reward_exception_becomes_none_with_reason_and_is_counted(reg):
    c = comp(reg, [{"name": "raises"}])
    out = c.score([S("x")])[0]
    assert out.rewards["raises"] is None and out.reasons["raises"] == "error"
    assert "bug in reward" in out.info["raises"]["error"]
    assert c.metrics()["raises"]["errors"] == 1


def test_error_policy_raise_stops(reg):
    with pytest.raises(RuntimeError, match="bug in reward"):
        comp(reg, [{"name": "raises", "on_error": "raise"}]).score([S("x")])


def test_hung_heavy_reward_times_out_as_none_and_is_counted(reg, pool):
    c = comp(reg, [{"name": "slow", "deadline": 0.3}, {"name": "exact"}], pool=pool)
    t0 = time.monotonic()
    out = c.score([S("hang"), S("42")])
    assert time.monotonic() - t0 < 0.3 + 0.5 + 0.5
    assert out[0].rewards["slow"] is None and out[0].reasons["slow"] == "timeout" and out[0].reward is None
    assert out[1].rewards == {"slow": 1.0, "exact": 1.0}
    m = c.metrics()["slow"]
    assert m["timeouts"] == 1 and m["count"] == 2


def test_submit_returns_before_heavy_work_finishes(reg, pool):
    c = comp(reg, [{"name": "slow", "params": {"seconds": 0.3}}], pool=pool)
    t0 = time.monotonic()
    job = c.submit([S("hang")])
    assert time.monotonic() - t0 < 0.2 and not job.done()
    assert job.result()[0].rewards["slow"] == 1.0


def test_group_reward_sees_groups_and_sample_scores(reg):
    c = comp(reg, [{"name": "exact"}, {"name": "shortest", "weight": 0.1}])
    samples = [S("42", group=1), S("42  ", group=1), S("1", group=2), S("123", group=2)]
    out = c.score(samples)
    assert [o.rewards["shortest"] for o in out] == [1.0, 0.0, 1.0, 0.0]
    assert out[0].info["shortest"]["seen"] == {"exact": 1.0}


def test_group_defaults_to_prompt_text(reg):
    c = comp(reg, [{"name": "shortest"}])
    out = c.score([S("a", prompt="p"), S("bb", prompt="p"), S("ccc", prompt="q")])
    assert [o.rewards["shortest"] for o in out] == [1.0, 0.0, 1.0]


def test_metrics_report_mean_std_and_latency(reg):
    c = comp(reg, [{"name": "exact"}])
    c.score([S("42"), S("0"), S("42"), S("0")])
    m = c.metrics()["exact"]
    assert m["mean"] == 0.5 and m["std"] == 0.5 and m["count"] == 4 and m["none"] == 0
    assert m["latency_p50_ms"] is not None and m["latency_p99_ms"] >= m["latency_p50_ms"]


@pytest.mark.parametrize(
    "config, message",
    [
        ([], "at least one"),
        ([{"weight": 1}], "at least a 'name'"),
        ([{"name": "exact", "wieght": 1}], r"unknown key\(s\) \['wieght'\]"),
        ([{"name": "exact", "weight": "heavy"}], "weight must be a number"),
        ([{"name": "exact", "weight": math.inf}], "finite"),
        ([{"name": "exact"}, {"name": "exact"}], "unique"),
        ([{"name": "exact", "gate": "nope"}], "gated on 'nope'"),
        ([{"name": "exact", "on_none": "zero"}], "on_none"),
        ([{"name": "exact", "on_error": "ignore"}], "on_error"),
        ([{"name": "exact", "params": [1]}], "params must be a table"),
    ],
)
def test_config_errors_say_what_is_wrong(reg, config, message):
    with pytest.raises(ConfigError, match=message):
        comp(reg, config)


def test_same_reward_twice_with_keys(reg):
    c = comp(reg, [{"name": "chars", "key": "a"}, {"name": "chars", "key": "b", "params": {"scale": 2}}])
    assert c.score([S("abcd")])[0].rewards == {"a": 4.0, "b": 2.0}


def test_toml_config(reg, tmp_path):
    path = tmp_path / "r.toml"
    path.write_text('[[reward]]\nname = "exact"\n[[reward]]\nname = "chars"\nweight = 0.5\nparams = { scale = 4 }\n')
    c = Composition.from_config(path, registry=reg, pool=False)
    assert c.weights == {"exact": 1.0, "chars": 0.5}
    bad = tmp_path / "bad.toml"
    bad.write_text("[reward\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Composition.from_config(bad, registry=reg)


def test_term_direct_construction(reg):
    t = Term(reg.create("exact"), weight=2.0)
    assert t.key == "exact" and Composition([t], pool=False).score([S("42")])[0].reward == 2.0
