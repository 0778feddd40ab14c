"""`assistant mcp`, spawned over stdio by the real MCP client from the `mcp` package, on the sample person."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from assistant.home import Home
from assistant.store import connect
from tests.conftest import cli_json

READ_ONLY_TOOLS = {"search_memory", "profile_facts", "style_notes", "draft_email"}


def server(home: Home) -> StdioServerParameters:
    env = {key: value for key, value in os.environ.items() if key.startswith(("PYTHON", "ASSISTANT_", "HF_"))}
    return StdioServerParameters(command=sys.executable, args=["-m", "assistant", "--home", str(home.root), "mcp"],
                                 env=env)


def session(home: Home, calls):
    """Run `calls(client)` against a fresh `assistant mcp` process and return what it returns."""
    async def main():
        async with Client(server(home), read_timeout_seconds=600) as client:
            return await calls(client)
    return asyncio.run(main())


def payload(result) -> dict:
    assert not result.is_error, result.content[0].text
    return result.structured_content


AUDIT = ('INSERT INTO "generations"', 'INSERT INTO "generation_chunks"')


def fingerprint(home: Home) -> tuple[str, str]:
    """The config's bytes and every row of the store (its files' bytes change when SQLite checkpoints),
    less the audit (`assistant history`), which records each generation by design."""
    conn = sqlite3.connect(f"file:{home.db_path}?mode=ro", uri=True)
    try:
        rows = hashlib.sha256("\n".join(line for line in conn.iterdump() if not line.startswith(AUDIT))
                              .encode()).hexdigest()
    finally:
        conn.close()
    return hashlib.sha256(home.config_path.read_bytes()).hexdigest(), rows


def chunk(home: Home, chunk_id: int) -> dict:
    row = connect(home.db_path).execute(
        "SELECT c.text, d.uri, d.created_at FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ?",
        [chunk_id]).fetchone()
    assert row, f"chunk {chunk_id} is not in the store"
    return {"text": row[0], "source": row[1], "date": row[2]}


def test_tools_are_the_read_only_set_and_the_persona_is_a_resource(sample_home):
    async def calls(client):
        return ((await client.list_tools()).tools, await client.read_resource("assistant://persona"),
                await client.read_resource("assistant://persona/Sam"),
                await client.read_resource("assistant://persona/Nobody%20Known"))

    tools, persona, to_sam, to_stranger = session(sample_home, calls)
    assert {tool.name for tool in tools} == READ_ONLY_TOOLS  # no write tool (profile_add, send) is exposed
    assert all(tool.annotations.read_only_hint and not tool.annotations.destructive_hint for tool in tools)
    text = persona.contents[0].text
    assert text.startswith("You are helping Priya Nandakumar (priya@fernhill.example).")
    assert "Onwards," in text and "learned from 40 emails" in text
    assert "How Priya Nandakumar writes email to Sam (learned from 40 emails" in to_sam.contents[0].text
    assert "How Priya Nandakumar writes email (learned" in to_stranger.contents[0].text  # no mail to them: no claim


def test_each_tool_answers_with_evidence_and_the_profile_is_unchanged(sample_home):
    before = fingerprint(sample_home)

    async def calls(client):
        return [payload(await client.call_tool(name, args)) for name, args in [
            ("search_memory", {"query": "verify your mailbox password", "k": 5, "kind": "mail", "mine": False}),
            ("style_notes", {"recipient": "Sam"}),
            ("style_notes", {}),
            ("profile_facts", {}),
            ("profile_facts", {"topic": "sign off"}),
            ("profile_facts", {"topic": "favourite cheese"}),
        ]]

    search, to_sam, general, facts, signoff, cheese = session(sample_home, calls)
    assert fingerprint(sample_home) == before  # nothing a host sent changed the store or the config

    assert len(search["results"]) == 5 and "quoted" in search["note"]
    for passage in search["results"]:
        evidence = passage["evidence"]
        stored = chunk(sample_home, evidence["chunk_id"])
        assert (evidence["source"], evidence["date"]) == (stored["source"], stored["date"])
        assert evidence["kind"] == "mail" and evidence["written_by_person"] is False
        assert passage["text"].startswith("<email ") and passage["text"].endswith("\n</email>")
        inner = passage["text"].split("\n", 1)[1].rsplit("\n", 1)[0]
        assert inner == stored["text"].replace("<", "‹").replace(">", "›")
        assert "<" not in inner and ">" not in inner  # quoted text cannot close its tag or open another
    assert any("it-desk" in p["evidence"]["source"] for p in search["results"])

    assert any("Onwards" in note for note in general["notes"])
    assert to_sam["evidence"]["learned_from_emails"] == 40 and to_sam["evidence"]["recipient"] == "Sam"
    for example in to_sam["evidence"]["examples"]:
        stored = chunk(sample_home, example["chunk_id"])
        assert stored["source"] == example["source"] and "/sent/" in example["source"]

    assert facts["facts"][0] == {"fact": "Their name is Priya Nandakumar.",
                                 "evidence": {"source": str(sample_home.config_path), "chunk_ids": []}}
    assert all(f["evidence"] for f in facts["facts"])
    assert [f["fact"] for f in signoff["facts"]] == ["Signs off with 'Onwards, / Priya' (34 of 40)."]
    assert cheese["facts"] == [] and cheese["note"].startswith("No stored fact about 'favourite cheese'")


def test_bad_calls_get_a_one_line_error_and_the_server_goes_on(sample_home):
    bad = {
        "wrong type": ("search_memory", {"query": "lease", "k": "several"}),
        "missing argument": ("search_memory", {}),
        "not a string": ("style_notes", {"recipient": ["Sam"]}),
        "unknown tool": ("profile_add", {"fact": "likes cheese"}),
        "1 MB query": ("search_memory", {"query": "lease " * 175_000}),
        "k of a million": ("search_memory", {"query": "lease", "k": 1_000_000}),
        "unknown kind": ("search_memory", {"query": "lease", "kind": "fax"}),
    }

    async def calls(client):
        answers = {case: await client.call_tool(name, args) for case, (name, args) in bad.items()}
        return answers, await client.call_tool("search_memory", {"query": "lease", "k": 1})

    answers, after = session(sample_home, calls)
    reasons = {case: answer.content[0].text for case, answer in answers.items()}
    assert all(answer.is_error for answer in answers.values()), reasons
    for case, reason in reasons.items():
        assert "\n" not in reason and len(reason) < 300, (case, reason)
    assert "k: Input should be a valid integer" in reasons["wrong type"]
    assert "query: Field required" in reasons["missing argument"]
    assert reasons["unknown tool"] == "Unknown tool: profile_add"
    assert reasons["1 MB query"] == "query is 1,050,000 characters; the limit is 2,000: shorten it"
    assert reasons["k of a million"] == "k must be a whole number from 1 to 50, not 1000000"
    assert "kind" in reasons["unknown kind"]
    assert len(payload(after)["results"]) == 1


def test_before_init_each_call_says_to_run_init_and_nothing_is_created(tmp_path):
    home = Home(tmp_path / "never-initialised")

    async def calls(client):
        answers = [await client.call_tool(name, args) for name, args in [
            ("search_memory", {"query": "lease"}), ("profile_facts", {}), ("style_notes", {}),
            ("draft_email", {"instruction": "say hello"})]]
        try:
            await client.read_resource("assistant://persona")
        except Exception as exc:  # noqa: BLE001  (the client raises the server's MCP error)
            return answers, str(exc)
        return answers, None

    answers, persona_error = session(home, calls)
    for answer in answers:
        assert answer.is_error and answer.content[0].text.startswith(f"no profile at {home.root}: run `assistant init")
    assert persona_error and "assistant init" in persona_error
    assert not home.root.exists()


def test_stdout_carries_only_protocol_messages_while_the_model_loads(sample_home):
    """Raw JSON-RPC over the pipes: every line the server writes to stdout is a protocol message."""
    lines = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "search_memory",
                                                                      "arguments": {"query": "lease", "k": 2}}},
    ]
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "--home", str(sample_home.root), "mcp"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "ASSISTANT_NO_DAEMON": "1"})
    proc.stdin.write("".join(json.dumps(line) + "\n" for line in lines))
    proc.stdin.flush()
    answers = []
    while len(answers) < 2 and (line := proc.stdout.readline()):
        answers.append(json.loads(line))  # a stray print would not parse
    proc.stdin.close()  # the host hangs up: the server ends cleanly, with nothing more on stdout
    assert proc.wait(60) == 0 and proc.stdout.read() == "", proc.stderr.read()[-2000:]
    assert [answer.get("id") for answer in answers] == [1, 2]
    assert len(answers[1]["result"]["structuredContent"]["results"]) == 2


def _server_libraries() -> str:
    """The shared libraries mapped by this test's `assistant mcp` child process."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if parent == os.getpid() and b"mcp" in command:
            return (stat.parent / "maps").read_text()
    raise AssertionError("no `assistant mcp` child process found")


def test_with_the_daemon_running_searches_are_its_warm_answers(sample_home):
    from tests.daemon_support import DaemonProcess

    daemon = DaemonProcess(sample_home).start()
    try:
        daemon.wait_ready()

        async def calls(client):
            answer = payload(await client.call_tool("search_memory", {"query": "the lease", "k": 3}))
            return answer, _server_libraries()

        answer, libraries = session(sample_home, calls)
        warm = daemon.ask({"op": "search", "query": "the lease", "k": 3})["hits"]
    finally:
        daemon.stop()
    assert [p["evidence"]["chunk_id"] for p in answer["results"]] == [hit["chunk_id"] for hit in warm]
    loaded_torch = "libtorch" in libraries
    assert not loaded_torch  # the server asked the daemon; it never loaded the embedding model


@pytest.mark.slow
def test_draft_email_returns_a_draft_and_the_emails_it_drew_on(sample_home):
    before = fingerprint(sample_home)

    async def calls(client):
        return payload(await client.call_tool("draft_email", {"instruction": "ask to move Thursday's site visit "
                                                                            "to Friday", "to": "Sam"}))

    drafted = session(sample_home, calls)
    assert drafted["draft"].strip() and drafted["model"] and "nothing was sent" in drafted["note"]
    assert drafted["evidence"], "a personalised draft draws on the person's past emails"
    for used in drafted["evidence"]:
        assert chunk(sample_home, used["chunk_id"])["source"] == used["source"] and "/sent/" in used["source"]
    assert fingerprint(sample_home) == before
    assert [row["skill"] for row in cli_json("history", home=sample_home)] == ["draft"]  # the audit has it
