"""Data: malformed JSONL names file and line; templates; a seeded, resumable prompt order."""

from __future__ import annotations

import pytest

from trainer.data import R1_ZERO_TEMPLATE, PromptStream, load_jsonl, render_prompt
from trainer.tasks import make_records, trace
from verifiers import Composition
from verifiers.errors import ConfigError, RecordError


@pytest.mark.parametrize(
    "bad_line, message",
    [
        ("{not json", "not valid JSON"),  # a broken line
        ('["a", "list"]', "expected a JSON object"),  # not an object
        ('{"answer": "4"}', "field 'prompt'"),  # no prompt
        ('{"prompt": ""}', "field 'prompt'"),  # empty prompt
        ('{"prompt": "q", "answer": {"x": 1}}', "field 'answer'"),  # answer of a wrong type
    ],
)
def test_malformed_record_names_file_and_line(tmp_path, bad_line, message):
    path = tmp_path / "train.jsonl"
    path.write_text('{"prompt": "What is 1 + 1?", "answer": "2"}\n\n' + bad_line + "\n")
    with pytest.raises(RecordError, match=message) as info:
        load_jsonl(path)
    assert info.value.line == 3 and info.value.path == str(path)
    assert f"{path}:3:" in str(info.value)


def test_prompt_field_and_chat_messages(tmp_path):
    path = tmp_path / "chat.jsonl"
    path.write_text('{"q": [{"role": "user", "content": "hi"}], "language": "en"}\n')
    (record,) = load_jsonl(path, prompt_field="q")
    assert record["prompt"][0]["content"] == "hi" and record["language"] == "en"


def test_missing_file_says_what_to_set(tmp_path):
    with pytest.raises(ConfigError, match="data.path"):
        load_jsonl(tmp_path / "nope.jsonl")


def test_r1_zero_template_wraps_the_question():
    text = render_prompt({"prompt": "What is 2 + 2?"}, "r1_zero")
    assert text.startswith("A conversation between User and Assistant.")
    assert text.endswith("User: What is 2 + 2?. Assistant:")
    assert "<think> reasoning process here </think>" in R1_ZERO_TEMPLATE


def test_chat_template_without_one_is_a_clear_error():
    with pytest.raises(ConfigError, match="chat template"):
        render_prompt({"prompt": "x"}, "chat", tokenizer=None)


def test_stream_order_is_a_function_of_seed_and_position():
    records = [{"prompt": str(i)} for i in range(10)]
    a = PromptStream(records, seed=3)
    first = [r["prompt"] for r in a.take(25)]  # wraps into new epochs
    b = PromptStream(records, seed=3)
    b.take(7)
    c = PromptStream(records, seed=3)
    c.load_state(b.state())
    assert [r["prompt"] for r in c.take(18)] == first[7:]
    assert sorted(first[:10]) == sorted(str(i) for i in range(10))  # an epoch is a permutation


def test_synthetic_traces_earn_full_reward():
    # the SFT targets must be what the rewards call correct, or SFT would teach the wrong thing
    train, _ = make_records("arithmetic", 30, 0, seed=0)
    comp = Composition.from_config([{"name": "math"}, {"name": "format"}], pool=False)
    scored = comp.score(
        [
            __import__("verifiers").Sample(completion=trace(r), answer=r["answer"], prompt=r["prompt"])
            for r in train
        ]
    )
    assert all(s.rewards["math"] == 1.0 and s.rewards["format"] == 1.0 for s in scored)


def test_drop_carry_traces_are_wrong_exactly_when_a_column_overflows():
    # the demo's weak-teacher slip: well-formed, and wrong only where a carry was needed
    from verifiers import Sample

    train, _ = make_records("addition", 200, 0, seed=5)
    comp = Composition.from_config([{"name": "math"}, {"name": "format"}], pool=False)
    scored = comp.score([Sample(completion=trace(r, drop_carry=True), answer=r["answer"]) for r in train])
    for r, s in zip(train, scored):
        carries = (r["a"] % 10 + r["b"] % 10) >= 10
        assert s.rewards["format"] == 1.0
        assert s.rewards["math"] == (0.0 if carries else 1.0), (r, s)
