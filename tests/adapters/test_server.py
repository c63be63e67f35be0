"""Reward server on loopback: OpenRLHF-format requests score exactly as direct calls; malformed,
oversized and slow requests get clear 4xx/5xx answers and the server keeps serving."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.adapters import rewards_for_tests as rt
from verifiers import REGISTRY, Composition, Sample, Term, WorkerPool
from verifiers.adapters._common import resolve_terms
from verifiers.adapters.openrlhf import make_reward_func
from verifiers.server import ServerConfig, serve_in_thread

TIMEOUT = 0.6  # the server's request timeout in these tests


@pytest.fixture(scope="module")
def terms():
    reg = rt.make_registry()
    out = list(resolve_terms([{"name": "has_answer"}, {"name": "vowels", "weight": 0.5},
                              {"name": "slow_pool", "weight": 0.0, "params": {"seconds": 1.5}}], registry=reg))
    if "format" in REGISTRY:
        out.append(Term(reward=REGISTRY.create("format"), weight=0.25))
    return out


@pytest.fixture(scope="module")
def server(terms):
    config = ServerConfig(max_body_bytes=20_000, max_batch=64, request_timeout=TIMEOUT, max_pending=8)
    with WorkerPool(2, default_deadline=5) as pool, serve_in_thread(terms, config=config, pool=pool) as url:
        with httpx.Client(base_url=url, timeout=10) as client:
            yield client


def healthy(client) -> bool:
    r = client.get("/health")
    return r.status_code == 200 and r.json()["status"] == "ok"


QUERIES = {
    "prompts": ["<|im_start|>user\nWhat is 6*7?<|im_end|>\n<|im_start|>assistant\n"] * 3,
    "responses": ["<think>6*7=42</think><answer>42</answer><|im_end|>", "It is 41.<|im_end|>", "123<|im_end|>"],
    "labels": ["42", "42", None],
}


def test_health_lists_rewards(server, terms):
    r = server.get("/health")
    assert r.status_code == 200
    assert r.json()["rewards"] == {t.key: t.weight for t in terms}


def test_openrlhf_request_scores_like_direct_calls(server, terms):
    payload = {"query": [p + r for p, r in zip(QUERIES["prompts"], QUERIES["responses"])],
               "prompts": QUERIES["prompts"], "labels": QUERIES["labels"]}
    r = server.post("/get_reward", json=payload)
    assert r.status_code == 200, r.text
    body = r.json()  # Python's json, as OpenRLHF's client uses (NaN allowed in extra_logs)
    direct = make_reward_func(terms, pool=False)(payload["query"], payload["prompts"], payload["labels"])
    assert body["rewards"] == pytest.approx(direct["rewards"].tolist())
    assert body["scores"] == body["rewards"]
    for key, values in direct["extra_logs"].items():
        assert body["extra_logs"][key] == pytest.approx(values.tolist(), nan_ok=True)
    assert body["extra_logs"]["judged"] == [1.0, 1.0, 0.0]  # no label: has_answer cannot judge


def test_old_protocol_query_only(server):
    r = server.post("/get_reward", json={"query": ["aeiou"]})
    assert r.status_code == 200 and len(r.json()["rewards"]) == 1


def test_native_score_endpoint(server, terms):
    records = [{"completion": "x 5", "answer": "5", "prompt": "p"}, {"completion": "y", "answer": "5", "prompt": "p"}]
    r = server.post("/score", json={"samples": records})
    assert r.status_code == 200, r.text
    direct = Composition(terms, pool=False).score([Sample.from_record(x) for x in records])
    assert [x["reward"] for x in r.json()["results"]] == pytest.approx([d.reward for d in direct])
    assert [x["rewards"] for x in r.json()["results"]] == [d.rewards for d in direct]


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"\xff\xfe", 400, "UTF-8"),
        (json.dumps([1, 2]).encode(), 422, "JSON object"),
        (json.dumps({"prompts": ["a"]}).encode(), 422, "missing field 'query'"),
        (json.dumps({"query": 5}).encode(), 422, "'query' must be a list"),
        (json.dumps({"query": ["a", 3]}).encode(), 422, r"query\[1\] must be a string"),
        (json.dumps({"query": ["a", "b"], "prompts": ["a"]}).encode(), 422, "'prompts' has 1 items"),
        (json.dumps({"query": ["a"], "labels": {"x": 1}}).encode(), 422, "'labels' must be a list"),
    ],
)
def test_malformed_requests_get_clear_answers(server, body, status, says):
    r = server.post("/get_reward", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status
    assert re.search(says, r.json()["detail"]), r.json()
    assert healthy(server)


def test_malformed_record_names_the_sample(server):
    r = server.post("/score", json={"samples": [{"completion": "ok"}, {"completion": 3}]})
    assert r.status_code == 422 and "samples[1]" in r.json()["detail"]


def test_oversized_body_is_413(server):
    r = server.post("/get_reward", json={"query": ["x" * 30_000]})
    assert r.status_code == 413 and "limit" in r.json()["detail"]
    assert healthy(server)


def test_oversized_chunked_body_is_413(server):
    def chunks():
        for _ in range(30):
            yield b" " * 1000
    r = server.post("/get_reward", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert healthy(server)


def test_too_many_items_is_413(server):
    r = server.post("/get_reward", json={"query": ["a"] * 65})
    assert r.status_code == 413 and "65 queries" in r.json()["detail"]


def test_slow_request_is_504_and_server_recovers(server):
    t0 = time.monotonic()
    r = server.post("/get_reward", json={"query": ["please sleep"], "labels": ["1"]})
    elapsed = time.monotonic() - t0
    assert r.status_code == 504
    assert "request_timeout" in r.json()["detail"]
    assert elapsed < TIMEOUT + 1.0
    assert healthy(server)
    ok = server.post("/get_reward", json={"query": ["fast 1"], "labels": ["1"]})
    assert ok.status_code == 200 and ok.json()["extra_logs"]["has_answer"] == [1.0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_serve_subcommand_starts_and_answers(tmp_path):
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "verifiers", "serve", "--rewards", "format,tag_count:0.5" if "tag_count" in REGISTRY
         else "format", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"server did not start: {proc.stdout.read().decode()[-2000:]}") from None
                time.sleep(0.1)
        assert r.status_code == 200 and "format" in r.json()["rewards"]
        text = "<think>a</think><answer>4</answer>"
        r = httpx.post(f"http://127.0.0.1:{port}/get_reward", json={"query": ["P:" + text], "prompts": ["P:"]})
        assert r.status_code == 200 and r.json()["extra_logs"]["format"] == [
            Composition.from_config([{"name": "format"}], pool=False).score_one({"completion": text}).rewards["format"]]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


def test_cli_serve_unknown_reward_fails_before_binding():
    r = subprocess.run([sys.executable, "-m", "verifiers", "serve", "--rewards", "no_such_reward", "--port", "1"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "no_such_reward" in r.stderr
