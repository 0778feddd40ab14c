"""End to end with the real embedded GGUF: `assistant draft`."""

import pytest

from assistant.store import connect
from tests.conftest import cli_json, run_cli


@pytest.mark.slow
def test_draft_uses_the_persons_own_emails(sample_home):
    result = cli_json("draft", "ask Sam to move Thursday's site visit to Friday morning", "--to", "Sam",
                      home=sample_home)
    assert result["draft"].strip()
    assert result["model"] == "gemma3-270m"
    assert result["seconds"] > 0
    assert result["used"]
    db = connect(sample_home.db_path)
    for chunk_id in result["used"]:
        doc = db.execute("SELECT d.kind, d.author_is_me FROM chunks c JOIN documents d ON d.id = c.document_id "
                         "WHERE c.id = ?", [chunk_id]).fetchone()
        assert doc == ("mail", 1)
    # the person's greeting for Sam opens the draft
    assert result["draft"].startswith("Hiya Sam")


@pytest.mark.slow
def test_no_personalization_uses_nothing(sample_home):
    result = cli_json("draft", "ask Sam to move Thursday's site visit to Friday morning", "--to", "Sam",
                      "--no-personalization", home=sample_home)
    assert result["draft"].strip()
    assert result["used"] == []


@pytest.mark.slow
def test_chat_model_drafts_too(sample_home):
    assert run_cli("models", "use", "smollm2-135m-instruct", home=sample_home).returncode == 0
    result = cli_json("draft", "thank Tomás for the cabinet quote", "--to", "Tomás", home=sample_home)
    assert result["model"] == "smollm2-135m-instruct" and result["draft"].strip() and result["used"]


def test_untrusted_mail_never_becomes_an_exemplar(sample_home, embedder):
    from assistant.config import Config
    from assistant.core import Assistant
    from assistant_plugins.draft import pick_exemplars

    assistant = Assistant(sample_home, Config.load(sample_home))
    assistant.__dict__["embedder"] = embedder
    exemplars = pick_exemplars(assistant, "send the signed Alder Street contract and bank details", None)
    assert exemplars
    texts = " ".join(e.text for e in exemplars)
    assert "Ignore all previous instructions" not in texts
