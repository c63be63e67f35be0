"""OpenRLHF adapter, tested against OpenRLHF's documented contract (OpenRLHF is not installed:
`pip install --dry-run openrlhf` fails here, its deepspeed/flash-attn sdists need torch and CUDA to
build). Contract, from OpenRLHF/OpenRLHF:

* ``examples/python/reward_func.py`` and ``examples/python/math_reward_func.py``:
  ``reward_func(queries, prompts, labels, **kwargs)`` returns ``{"rewards": tensor, "scores":
  tensor, "extra_logs": {...}}``; the response is the query after its prompt.
* ``openrlhf/utils/agent.py`` (``SingleTurnAgentExecutor``): the file is loaded with
  ``importlib.util.spec_from_file_location("reward_func", path)`` and ``reward_module.reward_func``
  is called with batch size 1; ``queries`` are decoded with ``skip_special_tokens=False``.
"""

from __future__ import annotations

import importlib.util
import math
import pickle

import pytest
import torch

import verifiers.adapters.openrlhf as orl
from tests.adapters import rewards_for_tests as rt
from verifiers import Composition, ConfigError, RecordError, Sample
from verifiers.adapters.openrlhf import OpenRLHFReward, extract_response, make_reward_func


@pytest.fixture(scope="module")
def reg():
    return rt.make_registry()


@pytest.mark.parametrize(
    ("query", "prompt", "expected"),
    [
        ("Q: 2+2? A: 4", "Q: 2+2? A:", " 4"),  # plain prefix
        ("<s>Q: 2+2? A: 4</s>", "Q: 2+2? A:", " 4"),  # BOS before the prompt, EOS after the answer
        ("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nok<|im_end|><|endoftext|>",
         "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", "ok"),  # several end tokens
        ("just text", None, "just text"),  # old protocol: query only
        ("answer [PAD][PAD]", "", "answer "),  # padding
    ],
)
def test_extract_response(query, prompt, expected):
    assert extract_response(query, prompt) == expected


def test_tensors_equal_direct_scores(reg):
    f = make_reward_func("has_answer,vowels:0.5", registry=reg, pool=False)
    prompts = ["Q1 ", "Q2 "]
    responses = ["it is 12<|im_end|>", "no idea"]
    out = f([p + r for p, r in zip(prompts, responses)], prompts, ["12", "5"])
    comp = Composition.from_config([{"name": "has_answer"}, {"name": "vowels", "weight": 0.5}], registry=reg, pool=False)
    direct = comp.score([Sample(completion=r.replace("<|im_end|>", ""), answer=a, prompt=p)
                         for p, r, a in zip(prompts, responses, ["12", "5"])])
    assert isinstance(out["rewards"], torch.Tensor) and out["rewards"].dtype == torch.float32
    assert out["rewards"].tolist() == pytest.approx([d.reward for d in direct])
    assert torch.equal(out["scores"], out["rewards"])
    assert out["extra_logs"]["has_answer"].tolist() == [1.0, 0.0]
    assert out["extra_logs"]["judged"].tolist() == [1.0, 1.0]


def test_batch_of_one_as_single_turn_executor_calls(reg):
    f = make_reward_func("has_answer", registry=reg, pool=False)
    out = f(["P: x 3"], ["P:"], ["3"])
    assert out["rewards"].shape == (1,) and out["rewards"].item() == 1.0


def test_unjudged_sample_gets_none_score_and_nan_log(reg):
    f = make_reward_func("vowels", registry=reg, pool=False, none_score=-1.0)
    out = f(["P: 123"], ["P:"], [None])
    assert out["rewards"].item() == -1.0
    assert math.isnan(out["extra_logs"]["vowels"].item()) and out["extra_logs"]["judged"].item() == 0.0


def test_json_object_label_sets_record_fields(reg):
    f = make_reward_func("has_answer", registry=reg, pool=False)
    assert f(["P: 77"], ["P:"], ['{"answer": "77", "language": "en"}'])["rewards"].item() == 1.0


def test_mismatched_lengths_name_the_field(reg):
    f = make_reward_func("has_answer", registry=reg, pool=False)
    with pytest.raises(RecordError, match="'labels' has 1 items but 'query' has 2"):
        f(["a", "b"], ["", ""], ["1"])


def test_pickles(reg):
    f = make_reward_func("has_answer", registry=reg, pool=False)
    g = pickle.loads(pickle.dumps(f))
    assert g(["P: 3"], ["P:"], ["3"])["rewards"].tolist() == f(["P: 3"], ["P:"], ["3"])["rewards"].tolist()


def test_env_var_entry_point(monkeypatch):
    monkeypatch.setattr(orl, "_default", None)
    monkeypatch.delenv(orl.ENV_VAR, raising=False)
    with pytest.raises(ConfigError, match=orl.ENV_VAR):
        orl.reward_func(["x"], [""], [None])
    monkeypatch.setenv(orl.ENV_VAR, "format")
    text = "<think>a</think><answer>4</answer>"
    out = orl.reward_func(["P:" + text], ["P:"], ["4"])
    direct = Composition.from_config([{"name": "format"}], pool=False).score_one({"completion": text})
    assert out["rewards"].tolist() == [direct.reward]


def test_file_loaded_as_openrlhf_loads_it(tmp_path):
    user_file = tmp_path / "my_reward.py"
    user_file.write_text("from verifiers.adapters.openrlhf import make_reward_func\n"
                         "reward_func = make_reward_func('format', pool=False)\n")
    spec = importlib.util.spec_from_file_location("reward_func", user_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.reward_func(["P: <think>a</think><answer>1</answer>"], ["P: "], ["1"])
    assert set(out) == {"rewards", "scores", "extra_logs"}
    assert out["rewards"].shape == (1,)


def test_reward_func_class_signature_matches_contract(reg):
    import inspect

    params = list(inspect.signature(OpenRLHFReward("has_answer", registry=reg, pool=False)).parameters)
    assert params[:3] == ["queries", "prompts", "labels"] and params[-1] == "kwargs"
