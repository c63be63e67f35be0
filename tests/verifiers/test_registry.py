"""The registry: decorator registration, lazy built-ins, entry-point plugins, clear errors."""

from __future__ import annotations

import pickle
from importlib import metadata

import pytest

import verifiers
from tests.verifiers import toy_rewards as toy
from verifiers import ConfigError, DuplicateRewardError, Registry, Reward, UnknownRewardError
from verifiers.registry import REGISTRY


@pytest.fixture
def reg() -> Registry:
    r = Registry(entry_point_group=None)
    r.add(toy.ExactMatch, name="exact")
    r.add(toy.Length, name="length_chars")
    return r


def test_create_validates_parameters_against_the_signature(reg):
    assert reg.create("exact", strip=False).strip is False
    with pytest.raises(ConfigError, match=r"unknown parameter\(s\) \['stripp'\].*strip: bool = True"):
        reg.create("exact", stripp=True)


def test_constructor_validation_error_is_a_config_error(reg):
    with pytest.raises(ConfigError, match="scale must be > 0"):
        reg.create("length_chars", scale=-1)


def test_unknown_name_lists_close_matches_and_valid_names(reg):
    with pytest.raises(UnknownRewardError) as info:
        reg.get("exakt")
    msg = str(info.value)
    assert "Did you mean 'exact'" in msg and "Valid names: exact, length_chars" in msg
    assert isinstance(info.value, KeyError)  # `except KeyError` keeps working


def test_duplicate_name_names_both_sources(reg):
    class Other(toy.ExactMatch):
        """Another."""

    with pytest.raises(DuplicateRewardError) as info:
        reg.add(Other, name="exact")
    assert "toy_rewards.ExactMatch" in str(info.value) and "Other" in str(info.value)


def test_registering_the_same_class_twice_is_idempotent(reg):
    reg.add(toy.ExactMatch, name="exact")
    assert reg.names() == ["exact", "length_chars"]


def test_only_reward_subclasses_are_accepted(reg):
    with pytest.raises(ConfigError, match="only Reward subclasses"):
        reg.add(dict, name="nope")  # type: ignore[arg-type]


def test_decorator_registers_and_sets_the_name():
    r = Registry(entry_point_group=None)

    @r.register("shout")
    class Shout(Reward):
        """Loud."""

    assert r.get("shout").cls is Shout and Shout.name == "shout"
    assert r.get("shout").description == "Loud."


def test_rewards_pickle_and_compare_equal(reg):
    reward = reg.create("length_chars", scale=2.0)
    clone = pickle.loads(pickle.dumps(reward))
    assert clone == reward and clone.params() == {"scale": 2.0}


class _FakeDist:
    name = "my-plugin-dist"


class _FakeEP:
    def __init__(self, name, value):
        self.name, self.value, self.dist = name, value, _FakeDist()

    def load(self):
        module, _, attr = self.value.partition(":")
        import importlib

        return getattr(importlib.import_module(module), attr)


def test_entry_point_plugins_load_lazily_and_name_their_distribution(monkeypatch):
    # Fault we cannot cause for real without installing a second distribution: fake the metadata scan.
    calls = []

    def fake_entry_points(*, group):
        calls.append(group)
        return [_FakeEP("plugin_len", "tests.verifiers.toy_rewards:Length")]

    monkeypatch.setattr(metadata, "entry_points", fake_entry_points)
    r = Registry(entry_point_group="r1_verifiers.rewards")
    assert r.names() == ["plugin_len"]
    assert r.names() == ["plugin_len"] and len(calls) == 1  # scanned once, cached
    assert r.get("plugin_len").source == "my-plugin-dist"


def test_plugin_clashing_with_a_builtin_fails_naming_both(monkeypatch):
    monkeypatch.setattr(
        metadata, "entry_points", lambda *, group: [_FakeEP("exact", "tests.verifiers.toy_rewards:Length")]
    )
    r = Registry(entry_point_group="g")
    r.add(toy.ExactMatch, name="exact")
    with pytest.raises(DuplicateRewardError, match="exact.*my-plugin-dist"):
        r.names()


def test_two_plugins_with_one_name_fail(monkeypatch):
    monkeypatch.setattr(
        metadata,
        "entry_points",
        lambda *, group: [
            _FakeEP("x", "tests.verifiers.toy_rewards:Length"),
            _FakeEP("x", "tests.verifiers.toy_rewards:ExactMatch"),
        ],
    )
    with pytest.raises(DuplicateRewardError, match="declared by two entry points"):
        Registry(entry_point_group="g").names()


def test_plugin_that_is_not_a_reward_is_refused(monkeypatch):
    monkeypatch.setattr(metadata, "entry_points", lambda *, group: [_FakeEP("bad", "os:getcwd")])
    with pytest.raises(ConfigError, match="must name a verifiers.Reward subclass"):
        Registry(entry_point_group="g").get("bad")


def test_every_builtin_reward_is_documented_picklable_and_constructible():
    for spec in REGISTRY.specs():
        assert spec.description != "(no description)", spec.name
        reward = REGISTRY.create(spec.name)
        assert pickle.loads(pickle.dumps(reward)) == reward


def test_public_api_matches_all():
    exported = {n for n in dir(verifiers) if not n.startswith("_")} - {
        "compose", "errors", "pool", "registry", "types", "records", "cli",
    }
    exported = {n for n in exported if not isinstance(getattr(verifiers, n), type(verifiers))}
    assert set(verifiers.__all__) - {"__version__"} == exported
