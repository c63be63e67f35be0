"""TRL adapter: unit behaviour of the batched keyword interface, then a real `GRPOTrainer` run on CPU
whose logged rewards must equal our rewards computed directly on the same completions."""

from __future__ import annotations

import math
import pickle

import pytest

from tests.adapters import rewards_for_tests as rt
from verifiers import REGISTRY, Composition, RecordError, Sample, Term
from verifiers.adapters.trl import reward_func, reward_funcs, to_samples


@pytest.fixture(scope="module")
def reg():
    return rt.make_registry()


def test_names_weights_and_values_per_term(reg):
    funcs, weights = reward_funcs("has_answer,vowels:0.5", registry=reg, pool=False)
    assert [f.__name__ for f in funcs] == ["has_answer", "vowels"]
    assert weights == [1.0, 0.5]
    kw = dict(prompts=["p", "p"], completions=["it is 7", "zzz 8"], completion_ids=[[1, 2], [3]], answer=["7", "7"])
    assert funcs[0](**kw) == [1.0, 0.0]
    assert funcs[1](**kw) == pytest.approx([2 / 4, 0.0])


def test_conversational_completion_scores_last_assistant_message(reg):
    f = reward_func("has_answer", registry=reg, pool=False)
    out = f(
        prompts=[[{"role": "user", "content": "q"}]],
        completions=[[{"role": "assistant", "content": "answer 12"}]],
        answer=["12"],
    )
    assert out == [1.0]


def test_trainer_extras_are_not_passed_to_rewards(reg):
    seen = []
    f = reward_func("has_answer", registry=reg, pool=False)
    out = f(prompts=["p"], completions=["7"], answer=["7"], trainer_state=object(), log_metric=print,
            log_extra=lambda col, vals: seen.append((col, vals)))
    assert out == [1.0]
    assert seen == [("has_answer_reason", ["has_answer=ok"])]


def test_missing_gold_is_none_not_zero(reg):
    # "cannot judge" reaches TRL as None, which it turns into NaN (the function does not apply)
    f = reward_func("has_answer", registry=reg, pool=False)
    assert f(prompts=["p", "p"], completions=["7", "7"], answer=[None, "7"]) == [None, 1.0]


def test_renamed_dataset_column(reg):
    f = reward_func("has_answer", registry=reg, pool=False, columns={"answer": "solution"})
    assert f(prompts=["p"], completions=["x 9"], solution=["9"]) == [1.0]


def test_bad_column_value_names_row_and_field():
    with pytest.raises(RecordError, match="row 1.*language"):
        to_samples(["p", "p"], ["a", "b"], language=["en", 5])


def test_column_of_wrong_length_is_an_error():
    with pytest.raises(RecordError, match="'answer'.*2"):
        to_samples(["p", "p"], ["a", "b"], answer=["1"])


def test_per_term_weighted_nansum_equals_composition_total(reg):
    # gate, on_none number, log-only term and a propagating None: TRL's sum must equal ours
    config = [
        {"name": "has_answer", "weight": 1.0},
        {"name": "vowels", "weight": 0.5, "gate": "has_answer"},
        {"name": "vowels", "key": "vowels_log", "weight": 0.0},
    ]
    funcs, weights = reward_funcs(config, registry=reg, pool=False)
    comps = ["ok 5", "no", "5 aeiou", "", "5"]
    answers = ["5", "5", "5", "5", None]
    kw = dict(prompts=["p"] * 5, completions=comps, answer=answers)
    columns = [f(**kw) for f in funcs]
    direct = Composition.from_config(config, registry=reg, pool=False).score(
        [Sample(completion=c, answer=a, prompt="p") for c, a in zip(comps, answers)]
    )
    for row, scored in enumerate(direct):
        parts = [w * v for w, v in zip(weights, (col[row] for col in columns)) if v is not None]
        if scored.reward is None:
            assert all(col[row] is None for col in columns)
        else:
            assert math.fsum(parts) == pytest.approx(scored.reward)


def test_callables_pickle_and_keep_their_name(reg):
    funcs, _ = reward_funcs("has_answer,vowels", registry=reg, pool=False)
    clone = pickle.loads(pickle.dumps(funcs[1]))
    assert clone.__name__ == "vowels"
    assert clone(prompts=["p"], completions=["aab"], answer=["1"]) == funcs[1](prompts=["p"], completions=["aab"], answer=["1"])


def test_heavy_reward_goes_through_the_pool(reg):
    from verifiers import WorkerPool

    with WorkerPool(1, default_deadline=5) as pool:
        f = reward_func("slow_pool", registry=reg, pool=pool)
        assert f(prompts=["p"], completions=["fine"]) == [1.0]


# --------------------------------------------------------------------------------------------
# TRL for real: GRPOTrainer, tiny local model, a few steps on CPU


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_grpo_trainer_logs_exactly_our_rewards(reg, tmp_path):
    datasets = pytest.importorskip("datasets")
    trl = pytest.importorskip("trl")
    from transformers import TrainerCallback

    from tests.adapters.tiny_lm import tiny_model, tiny_tokenizer

    tok = tiny_tokenizer()
    model = tiny_model(len(tok))
    terms = [
        *resolve(reg, [{"name": "has_answer", "weight": 1.0}, {"name": "vowels", "weight": 0.5}]),
        Term(reward=REGISTRY.create("format"), weight=0.25) if "format" in REGISTRY else None,
    ]
    terms = [t for t in terms if t is not None]
    funcs, weights = reward_funcs(terms, pool=False)
    rows = [
        {"prompt": [{"role": "user", "content": "what is one add two"}], "answer": "three"},
        {"prompt": [{"role": "user", "content": "what is two add two"}], "answer": "four"},
        {"prompt": [{"role": "user", "content": "the sky is"}], "answer": "blue"},
        {"prompt": [{"role": "user", "content": "the tree is"}], "answer": "the"},
    ]
    ds = datasets.Dataset.from_list(rows)

    captured = []

    class Capture(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kw):
            if logs and "reward" in logs:
                captured.append({
                    "logs": dict(logs),
                    "prompts": list(trainer._logs["prompt"]),
                    "completions": list(trainer._logs["completion"]),
                    "rewards": {k: list(v) for k, v in trainer._logs["rewards"].items()},
                })

    args = trl.GRPOConfig(
        output_dir=str(tmp_path), use_cpu=True, max_steps=3, per_device_train_batch_size=4,
        num_generations=2, max_completion_length=8, learning_rate=1e-3, logging_steps=1,
        report_to="none", save_strategy="no", reward_weights=weights, seed=0,
        temperature=1.5, disable_tqdm=True, dataloader_num_workers=0,
    )
    trainer = trl.GRPOTrainer(model=model, processing_class=tok, reward_funcs=funcs, args=args, train_dataset=ds)
    trainer.add_callback(Capture())
    trainer.train()

    assert len(captured) == 3
    answer_of = {r["prompt"][0]["content"]: r["answer"] for r in rows}
    direct_comp = Composition(terms, pool=False)
    for step in captured:
        samples = [
            Sample.from_record({"prompt": p, "completion": c, "answer": answer_of[p[0]["content"]]})
            for p, c in zip(step["prompts"], step["completions"])
        ]
        direct = direct_comp.score(samples)
        for term in terms:
            ours = [s.rewards[term.key] for s in direct]
            logged = step["rewards"][term.key]
            assert [None if math.isnan(x) else x for x in logged] == pytest.approx(ours, abs=1e-6)
            judged = [x for x in ours if x is not None]
            mean = step["logs"][f"rewards/{term.key}/mean"]
            if judged:
                assert mean == pytest.approx(sum(judged) / len(judged), abs=1e-6)
        totals = [s.reward for s in direct if s.reward is not None]
        assert step["logs"]["reward"] == pytest.approx(sum(totals) / len(totals), abs=1e-5)


def resolve(reg, config):
    from verifiers.adapters._common import resolve_terms

    return list(resolve_terms(config, registry=reg))
