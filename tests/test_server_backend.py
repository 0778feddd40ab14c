"""The OpenAI-compatible server backend: a real `llama_cpp.server` on loopback (started once for the
module), a loopback server that misbehaves in every way a broken one can, and the address rules."""

from __future__ import annotations

import socket

import pytest

from assistant.config import Config, ServerSettings
from assistant.errors import UserError
from assistant.generation.catalog import find_model
from assistant.generation.server import ServerGenerator
from assistant.generation.structured import generate_json
from tests.conftest import cli_json, run_cli
from tests.server_support import free_port, llama_server, misbehaving_server, use_server
from tests.test_structured import ASK, SCHEMA as MOOD

MODEL = "smollm2-135m-instruct"
HELLO = [{"role": "user", "content": "Say hello to Sam in one short sentence."}]


@pytest.fixture(scope="module")
def server_url():
    with llama_server(find_model(Config(), MODEL).resolve()) as url:
        yield url


@pytest.fixture(scope="module")
def server(server_url):
    return ServerGenerator(ServerSettings(url=server_url))


@pytest.mark.slow
def test_chat_and_stream_give_the_same_greedy_text(server):
    # The server reuses the KV state of the prompt it read last where the new one starts the same, and
    # a prompt read in other batches can tip a near-tie token: each call follows the same other prompt.
    def after_another_prompt():
        assert server.complete("The capital of France is", max_tokens=4, temperature=0.0).strip()

    after_another_prompt()
    said = server.chat(HELLO, max_tokens=24, temperature=0.0)
    after_another_prompt()
    pieces = list(server.stream(HELLO, max_tokens=24, temperature=0.0))
    assert said.strip() and len(pieces) > 3
    assert "".join(pieces) == said


@pytest.mark.slow
def test_tokens_are_counted_by_the_servers_own_tokenizer(server):
    from assistant.generation.llama import LlamaCppGenerator

    local = LlamaCppGenerator(MODEL, find_model(Config(), MODEL).resolve(), context=512)
    for text in ("Hiya Sam, Friday works.", "Grüße aus Köln — überall Baustellen", ""):
        assert server.count_tokens(text) == local.count_tokens(text), text


@pytest.mark.slow
def test_json_follows_the_schema(server):
    value = generate_json(server, ASK, MOOD, max_tokens=80)
    assert value["mood"] in ("happy", "sad", "tired") and len(value["reasons"]) <= 2


@pytest.mark.slow
def test_draft_end_to_end_through_the_server(sample_home, server_url):
    use_server(sample_home, server_url, model=MODEL)
    result = cli_json("draft", "thank Tomás for the cabinet quote", "--to", "Tomás", "--max-tokens", "60",
                      home=sample_home)
    assert result["model"] == f"server:{MODEL}" and result["draft"].strip() and result["used"]
    assert cli_json("doctor", home=sample_home)["network"] == [
        {"kind": "model server", "name": "[server] url", "url": server_url}]


def test_doctor_lists_each_server_url_as_a_network_peer(temp_home):
    use_server(temp_home, "http://192.168.1.20:8080/v1", embedding_url="http://gpubox.local:8081/v1")
    assert cli_json("doctor", home=temp_home)["network"] == [
        {"kind": "model server", "name": "[server] url", "url": "http://192.168.1.20:8080/v1"},
        {"kind": "model server", "name": "[server] embedding_url", "url": "http://gpubox.local:8081/v1"}]
    lines = run_cli("doctor", home=temp_home).stdout.splitlines()
    assert ("network     model server [server] url → http://192.168.1.20:8080/v1, "
            "model server [server] embedding_url → http://gpubox.local:8081/v1") in lines
    use_server(temp_home, "http://192.168.1.20:8080/v1", embedding_url="http://203.0.113.7:8081/v1")
    with pytest.raises(UserError, match=r"\[server\] embedding_url = 'http://203.0.113.7:8081/v1' is not on"):
        Config.load(temp_home)


def _one_line_error(home, url: str) -> str:
    use_server(home, url, timeout=1)
    result = run_cli("draft", "thank Sam", "--no-personalization", home=home)
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_server_that_is_down_is_one_line_naming_the_url(temp_home):
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    line = _one_line_error(temp_home, url)
    assert f"nothing answers at {url} (connection refused)" in line and "[server] url" in line


def test_a_server_answering_garbage_is_one_line_naming_the_url(temp_home):
    with misbehaving_server() as root:
        line = _one_line_error(temp_home, root + "/junk/v1")
        # the first request a draft makes counts the prompt's tokens (the server's /tokenize)
        assert f"the model server at {root}/junk/tokenize sent a reply that is not an " \
               "OpenAI-compatible answer ('<html><body>It works!</body></html>')" in line
        junk = ServerGenerator(ServerSettings(url=root + "/junk/v1"))
        for call in (lambda: list(junk.stream(HELLO)), lambda: junk.json(HELLO, MOOD),
                     lambda: junk.complete("hi"), lambda: junk.count_tokens("hi")):
            with pytest.raises(UserError, match="not an OpenAI-compatible answer"):
                call()


@pytest.mark.parametrize("mode, expected", [
    ("slow", "did not answer within 1 s; check it is running and not overloaded, or raise [server] timeout"),
    ("fail", "answered HTTP 500 ({\"error\": \"model crashed\"}); check [server] url"),
    ("locked", "refused the request (HTTP 401: {\"error\": \"invalid api key\"}); store its API key"),
    ("redirect", "redirects to http://203.0.113.9/v1/chat/completions, and the assistant follows no redirect"),
])
def test_each_way_a_server_fails_is_a_clear_error(mode, expected):
    with misbehaving_server() as root:
        generator = ServerGenerator(ServerSettings(url=f"{root}/{mode}/v1", timeout=1))
        with pytest.raises(UserError) as caught:
            generator.chat(HELLO)
        assert expected in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/v1", "http://localhost:8080/v1", "http://192.168.1.20:8080/v1", "http://10.0.0.5/v1",
    "http://172.20.1.1:8080/v1", "https://[::1]:8443/v1", "http://[fe80::1%25eth0]:8080/v1", "http://gpubox.local:8080/v1"])
def test_loopback_and_lan_urls_are_accepted(temp_home, url):
    use_server(temp_home, url)
    assert Config.load(temp_home).server.url == url
    assert find_model(Config.load(temp_home), "server").origin == "server"


@pytest.mark.parametrize("url", [
    "http://8.8.8.8:8080/v1", "https://api.openai.com/v1", "http://gpubox:8080/v1", "http://[2001:db8::1]:8080/v1",
    "http://172.32.0.1/v1", "http://192.169.0.1/v1", "http://127.0.0.1.nip.io/v1"])
def test_urls_off_the_lan_are_refused_when_the_config_is_read(temp_home, url):
    use_server(temp_home, url)
    with pytest.raises(UserError, match=r"\[server\] url = .* is not on this machine or your LAN; use http://127"):
        Config.load(temp_home)
    result = run_cli("doctor", home=temp_home)
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "[server] url" in result.stderr


@pytest.mark.parametrize("url, problem", [
    ("ftp://127.0.0.1/v1", "is not an http:// or https:// URL"), ("http://me:pw@127.0.0.1/v1", "carries a user"),
    ("http://127.0.0.1:99999/v1", "is not a URL")])
def test_malformed_urls_are_refused(temp_home, url, problem):
    use_server(temp_home, url)
    with pytest.raises(UserError, match=problem):
        Config.load(temp_home)


def test_a_local_name_must_resolve_to_the_lan(monkeypatch):
    """A `.local` name passes the config check; where it resolves is checked before connecting."""
    from assistant import lan

    def resolve(host, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 0))]

    monkeypatch.setattr(lan.socket, "getaddrinfo", resolve)
    generator = ServerGenerator(ServerSettings(url="http://gpubox.local:8080/v1"))
    with pytest.raises(UserError, match="'gpubox.local' from .* resolves to 93.184.215.14, outside your LAN"):
        generator.chat(HELLO)


def test_the_server_is_chosen_like_any_model(temp_home):
    result = run_cli("models", "use", "server", home=temp_home)
    assert result.returncode == 1 and "no [server] section" in result.stderr
    use_server(temp_home, "http://127.0.0.1:8080/v1")
    assert run_cli("models", "use", "server", home=temp_home).returncode == 0
    listed = {row["name"]: row for row in cli_json("models", "list", home=temp_home)}
    assert listed["server"]["default"] and listed["server"]["file"] == "http://127.0.0.1:8080/v1"


# -- embeddings from the server ------------------------------------------------------------------

def _embed_with_server(home, url: str, **settings) -> Config:
    from assistant.config import update_config

    use_server(home, url, **settings)
    update_config(home, lambda document: document.setdefault("embedding", {}).__setitem__("backend", "server"))
    return Config.load(home)


@pytest.mark.slow
@pytest.mark.parametrize("dims", [768, 256])
def test_server_embeddings_match_the_embedded_nomic(temp_home, dims):
    from assistant.embedding.embedder import configured_model, load_embedder
    from assistant.embedding.gguf import NOMIC_PREFIXES, GgufEmbedder
    from assistant.embedding.nomic_assembly import model_file

    texts = ["Hiya Sam, can we move Thursday's site visit to Friday morning?", "The camas bulbs arrived today.",
             "Grüße aus Köln"]
    local = GgufEmbedder("nomic-embed-text-v1.5", model_file(), dims, NOMIC_PREFIXES)
    with llama_server(model_file(), extra=("--embedding", "true")) as url:
        config = _embed_with_server(temp_home, url, embedding_dims=dims, query_prefix=NOMIC_PREFIXES[0],
                                    document_prefix=NOMIC_PREFIXES[1])
        embedder = load_embedder(config, temp_home.cache_dir)
        assert embedder.name == configured_model(config) == f"server/{dims}"
        passages, questions = embedder.encode(texts, batch_size=2), embedder.encode_queries(texts[:1])
    assert passages.shape == (3, dims) and questions.shape == (1, dims)
    assert (passages * local.encode(texts)).sum(axis=1).min() > 0.99
    assert (questions * local.encode_queries(texts[:1])).sum() > 0.99
    assert (questions * passages[0]).sum() < 0.99  # the query prefix went in


def test_server_embeddings_need_their_width_and_a_working_server(temp_home):
    from assistant.embedding.embedder import load_embedder

    with pytest.raises(UserError, match=r"\[embedding\] backend = \"server\" needs \[server\] embedding_dims"):
        _embed_with_server(temp_home, "http://127.0.0.1:8080/v1")
    with misbehaving_server() as root:
        config = _embed_with_server(temp_home, root + "/junk/v1", embedding_dims=768)
        with pytest.raises(UserError, match=f"model server at {root}/junk/v1/embeddings sent a reply that is not"):
            load_embedder(config, temp_home.cache_dir).encode(["hello"])
