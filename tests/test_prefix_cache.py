"""The stable prefix's KV state: reused in a process, persisted for the next one, never trusted blindly;
streaming, the per-model lock, and Ctrl-C on a real `assistant draft`."""

import os
import signal
import subprocess
import sys
import threading

import pytest

from assistant.config import Config
from assistant.core import Assistant
from assistant.generation.catalog import load_generator, use_model
from assistant.generation.prefix_cache import PrefixStore, encode
from tests.conftest import cli_json

SMALL = "smollm2-135m-instruct"
SYSTEM = "You write emails for Priya Nandakumar, a landscape architect. " + " ".join(
    f"She keeps note {n}: the Alder Street swale needs {n} more sedge plugs." for n in range(12))


def messages(request: str) -> list[dict]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": request}]


def small_generator(cache_dir):
    return load_generator(Config(generator=SMALL), cache_dir=cache_dir)


@pytest.fixture
def small_home(sample_home):
    use_model(sample_home, Config.load(sample_home), SMALL)
    return sample_home


def test_the_cache_keeps_the_most_recently_used_files_under_its_cap(tmp_path):
    store = PrefixStore(tmp_path, max_bytes=2500)
    for n, key in enumerate("abc"):
        store.save(key, [1, 2, 3], bytes(1000))
        os.utime(store.path(key), (1000 + n, 1000 + n))
    assert not store.path("a").exists()  # c pushed a out: 3 files were over the cap
    assert store.load("b") is not None  # a read marks b recently used
    store.save("d", [1], bytes(1000))
    assert sorted(p.stem for p in tmp_path.glob("*.kv")) == ["b", "d"]
    assert not list(tmp_path.glob(".*"))  # no partial file left


@pytest.mark.slow
def test_a_fresh_process_loads_the_persisted_prefix(small_home):
    first = cli_json("draft", "thank Sam for the quote", "--to", "Sam", "--explain", "--max-tokens", "4",
                     home=small_home)
    cache = first["prefix_cache"]
    assert cache["source"] == "evaluated" and cache["evaluated"] == cache["tokens"] > 100
    saved = list((small_home.cache_dir / "prefix").glob("*.kv"))
    assert len(saved) == 1 and oct(saved[0].stat().st_mode & 0o777) == "0o600"
    # another request, another recipient, a new process: the same prefix, from disk, nothing evaluated
    second = cli_json("draft", "ask Janet when the permit comes through", "--to", "Janet", "--explain",
                      "--max-tokens", "4", home=small_home)
    assert second["prefix_cache"] == {"tokens": cache["tokens"], "source": "disk", "evaluated": 0}
    assert list((small_home.cache_dir / "prefix").glob("*.kv")) == saved


@pytest.mark.slow
def test_a_damaged_or_foreign_state_file_is_ignored_and_rebuilt(tmp_path):
    generator = small_generator(tmp_path)
    expected = generator.chat(messages("Say hello."), max_tokens=8, temperature=0)
    assert generator.last_prefix.source == "evaluated"
    (path,) = tmp_path.glob("*.kv")
    good = path.read_bytes()
    key = path.stem
    tokens = generator._llm._input_ids[:generator.last_prefix.tokens].tolist()
    damaged = [good[: len(good) // 2],  # cut short
               good[:-100] + bytes(100),  # its state overwritten
               encode("another-model-or-prefix", tokens, good[-5000:]),  # someone else's
               encode(key, tokens, b"not a llama.cpp state at all" * 50),  # its own key, a state llama.cpp refuses
               encode(key, tokens[:-1] + [tokens[-1] + 1], good[-5000:])]  # other tokens
    for bad in damaged:
        path.write_bytes(bad)
        fresh = small_generator(tmp_path)
        assert fresh.chat(messages("Say hello."), max_tokens=8, temperature=0) == expected
        assert fresh.last_prefix.source == "evaluated" and fresh.last_prefix.evaluated == len(tokens)
        assert path.read_bytes() != bad  # rebuilt
        del fresh
    reloaded = small_generator(tmp_path)
    assert reloaded.chat(messages("Say hello."), max_tokens=8, temperature=0) == expected
    assert reloaded.last_prefix.source == "disk"


@pytest.mark.slow
def test_streaming_gives_the_same_text_as_llama_cpp_without_streaming(tmp_path):
    generator = small_generator(tmp_path)
    raw = generator._llm.create_chat_completion(messages("Thank Sam for the quote."), max_tokens=24,
                                                temperature=0, repeat_penalty=1.15)
    pieces = list(generator.stream(messages("Thank Sam for the quote."), max_tokens=24, temperature=0))
    assert len(pieces) > 3 and "".join(pieces) == raw["choices"][0]["message"]["content"]
    # a second request reuses the prefix still in the context
    generator.chat(messages("Ask Janet about the permit."), max_tokens=4, temperature=0)
    assert generator.last_prefix.source == "memory" and generator.last_prefix.evaluated == 0


@pytest.mark.slow
def test_a_prompt_and_seed_sample_the_same_text_whatever_ran_before_and_another_seed_another(tmp_path):
    """llama-cpp-python draws each call's seed from the one before: a draft depended on everything the
    process had generated earlier. Now on the prefix held in memory, loaded from disk or evaluated."""
    def take(generator, seed=0):
        return "".join(generator.generate(messages("Thank Sam for the quote."), max_tokens=32, temperature=1.0,
                                          seed=seed))

    generator = small_generator(tmp_path)
    first = take(generator)
    generator.chat(messages("Ask Janet about the permit."), max_tokens=16, temperature=1.0)
    assert take(generator) == first and generator.last_prefix.source == "memory"
    assert take(small_generator(tmp_path)) == first  # another process: the prefix from disk
    assert take(small_generator(tmp_path / "empty")) == first  # evaluated afresh
    assert len({first, take(generator, 1), take(generator, 2)}) == 3


@pytest.mark.slow
def test_one_model_serves_threads_one_at_a_time(tmp_path):
    generator = small_generator(tmp_path)
    requests = [f"Thank person {n} for the quote." for n in range(3)]
    alone = [generator.chat(messages(r), max_tokens=10, temperature=0) for r in requests]
    together = [None] * 3

    def run(n):
        together[n] = generator.chat(messages(requests[n]), max_tokens=10, temperature=0)
    threads = [threading.Thread(target=run, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert together == alone


@pytest.mark.slow
def test_the_draft_streams_what_it_returns_and_the_daemon_path_starts_warm(small_home, embedder):
    from assistant.daemon.server import WarmAnswers

    assistant = Assistant(small_home, Config.load(small_home))
    assistant.__dict__["embedder"] = embedder
    shown = []
    result = assistant.skill("draft").run(assistant, instruction="thank Sam for the quote", to="Sam",
                                          max_tokens=24, temperature=0, on_text=shown.append)
    # a draft cut off by its token budget ends at its last whole sentence once written
    assert "".join(shown).strip().startswith(result.draft) and result.draft
    answers = WarmAnswers(assistant)
    warm = answers.skill("draft", {"instruction": "ask Janet about the permit", "to": "Janet", "max_tokens": 4})
    assert warm["prefix_cache"]["source"] == "memory" and warm["prefix_cache"]["evaluated"] == 0


@pytest.mark.slow
def test_ctrl_c_stops_a_streaming_draft_with_exit_130_and_no_traceback(small_home):
    env = dict(os.environ, ASSISTANT_HOME=str(small_home.root))
    # A draft that ended before the signal landed (a loaded machine, or a short answer) is tried again with
    # another request: the model is seeded, so the same prompt would give the same short answer again.
    for topic in ("every planting bed", "the swale and the sedge plugs", "the permit, the budget and the crew"):
        process = subprocess.Popen([sys.executable, "-m", "assistant", "draft", f"write a long update for Sam about "
                                    f"{topic}", "--to", "Sam", "--max-tokens", "2000", "--tone", "longer",
                                    "--candidates", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                   # Ctrl-C at its default, as a shell starts a command: an ignored SIGINT is
                                   # inherited, and in the full suite the child ran to its end (exit 0) every time
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        first = process.stdout.read(1)  # the first streamed sentence: generation is under way
        assert first, process.stderr.read().decode()
        process.send_signal(signal.SIGINT)
        try:
            _, err = process.communicate(timeout=120)
        finally:
            process.kill()
        if process.returncode != 0:
            break
    assert process.returncode == 130, (f"exit {process.returncode}: each draft ended before the signal landed "
                                       f"(its first byte came only at its end?); stderr: {err.decode()!r}; "
                                       f"this process's SIGINT handler: {signal.getsignal(signal.SIGINT)!r}")
    assert b"Traceback" not in err and b"Stopped" in err
    assert not [p for p in (small_home.cache_dir / "prefix").iterdir() if not p.name.endswith(".kv")]


@pytest.mark.parametrize("size", [1, 3, 7, 100])
def test_a_streamed_draft_drops_an_echoed_email_tag_as_the_whole_one_does(size):
    from assistant.prompt.draft import EchoFilter, unwrap_echo

    for text in ('<email to="sam@fernhill.example" subject="Visit">\nHiya Sam,\n\nFriday works.\n\nOnwards,\n'
                 'Priya\n</email>', "Hiya Sam,\n\nSee <email> tags? No.\n<b>bold</b>\n\nPriya", "<<Dear Janet,\n"):
        shown = []
        stream = EchoFilter(shown.append)
        for start in range(0, len(text), size):
            stream(text[start:start + size])
        stream.close()
        assert "".join(shown).strip() == unwrap_echo(text).strip()
