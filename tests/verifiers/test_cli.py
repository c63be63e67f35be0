"""The command line: list, describe, score (JSONL in/out, atomic output, file:line errors)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from verifiers.cli import main
from verifiers.compose import parse_rewards
from verifiers.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "records.jsonl"
SHAPING = ["format", "language", "length", "cosine_length", "overlong", "repetition"]


def test_list_shows_every_shaping_reward_with_params_and_source(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in SHAPING:
        assert f"\n{name} " in "\n" + out, f"{name} missing from `list`:\n{out}"
    assert "source: r1-verifiers" in out and "params:" in out


def test_describe_prints_the_definition(capsys):
    assert main(["describe", "format"]) == 0
    out = capsys.readouterr().out
    assert "scope: sample" in out and "parameters:" in out and "<think>" in out


def test_describe_unknown_name_suggests(capsys):
    assert main(["describe", "formatt"]) == 2
    assert "Did you mean 'format'" in capsys.readouterr().err


def test_score_example_file_through_the_real_entry_point(tmp_path):
    out = tmp_path / "scored.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "verifiers", "score", str(EXAMPLE), "-o", str(out),
         "--rewards", "format,language:0.2", "--workers", "1"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 8
    assert [r["rewards"]["format"] for r in rows] == [1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0]
    assert rows[0]["rewards"]["language"] is None  # "17 + 25 = 42." has no words: cannot judge
    assert rows[0]["reasons"]["language"] == "no_language_units" and rows[0]["reward"] is None
    assert rows[1]["rewards"]["language"] == 1.0 and rows[2]["rewards"]["language"] == 0.0  # zh CoT, en target
    assert rows[7]["rewards"]["language"] == 0.0  # English CoT, zh target
    assert set(rows[0]) >= {"completion", "answer", "rewards", "reasons", "reward"}
    assert "scored 8 records" in proc.stderr


def test_malformed_jsonl_names_file_and_line_and_writes_nothing(tmp_path, capsys):
    src = tmp_path / "bad.jsonl"
    src.write_text('{"completion": "a"}\n\n{"completion": "b"\n')
    out = tmp_path / "out.jsonl"
    assert main(["score", str(src), "-o", str(out), "--rewards", "format", "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert f"{src}:3:" in err and "not valid JSON" in err
    assert not out.exists() and not list(tmp_path.glob("*.partial"))


@pytest.mark.parametrize(
    "line, message",
    [
        ('[1, 2]', "expected a JSON object"),
        ('{"prompt": "p"}', "field 'completion' must be a string"),
        ('{"completion": "x", "completion_ids": ["a"]}', "completion_ids"),
        ('{"completion": "x", "language": 3}', "language"),
    ],
)
def test_bad_records_are_reported_with_line(tmp_path, capsys, line, message):
    src = tmp_path / "in.jsonl"
    src.write_text('{"completion": "ok"}\n' + line + "\n")
    assert main(["score", str(src), "--rewards", "format", "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert f"{src}:2:" in err and message in err


def test_failure_while_scoring_removes_the_partial_output(tmp_path, capsys, monkeypatch):
    src = tmp_path / "in.jsonl"
    src.write_text('{"completion": "a"}\n')
    out = tmp_path / "out.jsonl"
    out.write_text("previous\n")
    import verifiers.compose

    def broken(self, samples):
        raise ConfigError("injected failure")

    monkeypatch.setattr(verifiers.compose.Composition, "score", broken)
    assert main(["score", str(src), "-o", str(out), "--rewards", "format", "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert "was not written" in err and out.read_text() == "previous\n"
    assert not list(tmp_path.glob("*.partial"))


def test_missing_input_file_is_a_clear_error(tmp_path, capsys):
    assert main(["score", str(tmp_path / "nope.jsonl"), "--rewards", "format"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_rewards_argument_parsing():
    assert parse_rewards("math, format:0.5") == [
        {"name": "math", "weight": 1.0}, {"name": "format", "weight": 0.5},
    ]
    with pytest.raises(ConfigError, match="NAME:WEIGHT"):
        parse_rewards("math:high")
    with pytest.raises(ConfigError, match="empty"):
        parse_rewards(" , ")


def test_exactly_one_of_rewards_or_config(capsys, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"completion": "a"}\n')
    assert main(["score", str(src)]) == 2
    assert "exactly one of --rewards" in capsys.readouterr().err
