"""The `llm` plugin through the real `llm` CLI, on the sample person, with a scripted model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.llm_support import write_dist_info

LLM = Path(sys.executable).with_name("llm")
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def run_llm(sample_home, tmp_path):
    """`llm ARGS` as a person runs it, with this repository's plugin installed and a fresh llm user dir."""
    plugin_path = write_dist_info(tmp_path / "site")
    env = {**os.environ, "LLM_USER_PATH": str(tmp_path / "llm-user"), "ASSISTANT_HOME": str(sample_home.root),
           "ASSISTANT_NO_DAEMON": "1",
           "PYTHONPATH": os.pathsep.join([str(plugin_path), str(REPO), os.environ.get("PYTHONPATH", "")])}

    def run(*args: str, check: bool = True, home: Path | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run([str(LLM), *args], capture_output=True, text=True, timeout=600,
                                env={**env, **({"ASSISTANT_HOME": str(home)} if home else {})})
        assert not check or result.returncode == 0, result.stderr[-2000:]
        return result

    return run


def test_fragment_loaders_and_tools_are_registered(run_llm):
    loaders = run_llm("fragments", "loaders").stdout
    assert "persona:\n  The person's persona and style notes" in loaders
    assert "memory:\n  The passages of the person's own documents" in loaders
    tools = {tool["name"] for tool in json.loads(run_llm("tools", "list", "--json").stdout)["tools"]}
    assert {"search_memory", "profile_facts", "style_notes", "draft_email"} <= tools


def test_persona_fragment_puts_the_persona_and_style_notes_into_the_prompt(run_llm):
    general = run_llm("-m", "scripted", "-f", "persona:", "write a thank-you note").stdout
    assert "PROMPT: You are helping Priya Nandakumar (priya@fernhill.example)." in general
    assert "learned from 40 emails they sent" in general and "Onwards," in general
    assert general.rstrip().endswith("write a thank-you note")

    to_sam = run_llm("-m", "scripted", "-f", "persona:Sam", "move the site visit").stdout
    assert "How Priya Nandakumar writes email to Sam" in to_sam

    logged = json.loads(run_llm("logs", "--json", "-n", "1").stdout)[0]
    assert logged["model"] == "scripted" and "move the site visit" in logged["prompt"]
    assert logged["prompt"].startswith("You are helping Priya Nandakumar")
    fragments = logged["prompt_fragments"]
    assert len(fragments) == 1 and fragments[0]["content"].startswith("You are helping Priya Nandakumar (priya@")


def test_memory_fragment_quotes_the_top_passages_with_their_sources(run_llm, sample_home):
    out = run_llm("-m", "scripted", "-f", "memory:verify your mailbox password", "what is this?").stdout
    assert "Passages from the person's own store for 'verify your mailbox password'." in out
    assert "it-desk-mailbox-verification.eml" in out and "<email " in out and "</email>" in out
    assert out.count("[chunk ") == 5


def test_tools_run_through_an_llm_chain(run_llm):
    out = run_llm("-m", "scripted", "-T", "profile_facts", 'CALL profile_facts {"topic": "cheese"}').stdout
    answer = json.loads(out.split("tool profile_facts said: ", 1)[1])
    assert answer["facts"] == [] and answer["note"].startswith("No stored fact about 'cheese'")
    out = run_llm("-m", "scripted", "-T", "search_memory", 'CALL search_memory {"query": "lease", "k": 2}').stdout
    results = json.loads(out.split("tool search_memory said: ", 1)[1])["results"]
    assert len(results) == 2 and all(r["evidence"]["chunk_id"] and r["evidence"]["source"] for r in results)


def test_a_home_without_init_gives_one_line_error(run_llm, tmp_path):
    result = run_llm("-m", "scripted", "-f", "persona:", "hello", check=False, home=tmp_path / "empty")
    assert result.returncode != 0
    assert "no profile at" in result.stderr and "assistant init" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""
