"""`draft --reply-to`, saving drafts (--out, --maildir-drafts), --tone, and bad input.

The generator here is scripted (`Recorder`): these tests are about the prompt, the
recipients, the saved message and the errors, not about what a model writes. The end to
end run with the real model is in test_injection.py and test_draft.py.
"""

from __future__ import annotations

import email
import email.policy
import mailbox
import os
from email.message import EmailMessage
from pathlib import Path
from statistics import quantiles

import pytest

from assistant.config import Config
from assistant.core import Assistant
from assistant.errors import UserError
from assistant.profile.refresh import current_style
from assistant.profile.tone import own_lengths, tone_guide
from assistant_plugins.draft import build_prompt, draft
from assistant_plugins.draft.request import prepare
from assistant_plugins.draft.save import Targets
from tests.conftest import SAMPLE, run_cli
from tests.draft_support import Recorder

SAM_BUDGET = "<9f2c1a7e.sam@fernhill.example>"  # the sample's inbox/01, Sam's revised budget
PRIYA_REPLY = "<202601130752.04.sam-re-alder-budget@fernhill.example>"  # her answer to it (sent/04)


@pytest.fixture
def sample(sample_home, embedder) -> Assistant:
    assistant = Assistant(sample_home, Config.load(sample_home))
    assistant.__dict__["embedder"] = embedder
    return assistant


def _eml(path: Path, sender: str, subject: str = "Planting day", reply_to: str = "", text: str = "Can you come?",
         message_id: str = "<q1@harbourlights.example>") -> Path:
    message = EmailMessage()
    message["From"], message["To"] = sender, "Priya Nandakumar <priya@fernhill.example>"
    message["Subject"], message["Date"] = subject, "Wed, 10 Jun 2026 09:00:00 +0000"
    message["Message-ID"] = message_id
    if reply_to:
        message["Reply-To"] = reply_to
    message.set_content(text)
    path.write_bytes(bytes(message))
    return path


def test_a_reply_by_message_id_quotes_the_thread_as_data_and_answers_its_sender(sample):
    generator = sample.__dict__["generator"] = Recorder()
    result = draft(sample, reply_to=SAM_BUDGET)
    assert result.to == ["sam@fernhill.example"] and result.subject == "Re: Alder St — revised budget"
    assert result.in_reply_to == SAM_BUDGET and result.removed == []
    system, user = generator.prompts[0][0]["content"], generator.prompts[0][-1]["content"]
    assert "<incoming> tags is the email Priya Nandakumar is answering" in user  # not in the stable prefix
    assert "Opens with a greeting like 'Hiya NAME,'" in system  # her habit with Sam, the sender
    assert '<incoming from="Sam Okoye ‹sam@fernhill.example›"' in user and "City came back" in user
    assert user.index("</incoming>") < user.index("Request from Priya Nandakumar: Reply to the last email in the")


def test_a_reply_quotes_the_earlier_messages_of_its_thread_oldest_first(sample):
    """Replying to her own sent answer: it goes to whom she wrote to, and Sam's message comes first."""
    generator = sample.__dict__["generator"] = Recorder()
    result = draft(sample, "add that Thursday at 9 still works", reply_to=PRIYA_REPLY)
    assert result.to == ["sam@fernhill.example"] and result.subject == "Re: Alder St — revised budget"
    thread = generator.prompts[0][-1]["content"].split("The email thread being answered")[1]
    assert thread.count("<incoming from=") == 2
    assert thread.index("City came back") < thread.index("Agree on smaller stock")


def test_a_reply_without_references_finds_its_thread_by_in_reply_to(sample, tmp_path):
    message = EmailMessage()
    message["From"], message["To"] = "Sam Okoye <sam@fernhill.example>", "Priya Nandakumar <priya@fernhill.example>"
    message["Subject"], message["Date"] = "Re: Alder St — revised budget", "Wed, 14 Jan 2026 08:00:00 -0800"
    message["Message-ID"], message["In-Reply-To"] = "<sam-2@fernhill.example>", SAM_BUDGET
    message.set_content("One more thing: the city wants the revised sheet by Friday.")
    (tmp_path / "sam-2.eml").write_bytes(bytes(message))
    generator = sample.__dict__["generator"] = Recorder()
    result = draft(sample, reply_to=str(tmp_path / "sam-2.eml"))
    thread = generator.prompts[0][-1]["content"].split("The email thread being answered")[1]
    assert thread.index("City came back") < thread.index("revised sheet by Friday")
    assert result.subject == "Re: Alder St — revised budget"


def test_a_base_model_reply_is_quoted_as_lines_under_the_re_subject(sample, tmp_path):
    generator = sample.__dict__["generator"] = Recorder(chat=False)
    sam = tmp_path / "sam.eml"
    sam.write_bytes((SAMPLE / "mail/inbox/01-sam-alder-budget.eml").read_bytes())
    draft(sample, "say smaller stock is fine", reply_to=str(sam))
    prompt = generator.prompts[0]
    assert "> City came back with the revised numbers" in prompt
    assert prompt.endswith("Subject: Re: Alder St — revised budget\n\nHiya Sam,\n\n")


@pytest.mark.parametrize("reply_to, expected", [
    ("Dana Events <events@harbourlights.example>", ["events@harbourlights.example"]),  # same domain
    ("bookings@events.harbourlights.example", ["bookings@events.harbourlights.example"]),  # its subdomain
    ("Sam Okoye <sam@fernhill.example>", ["sam@fernhill.example"]),  # someone she writes to
    ("collect@elsewhere.example", ["dana@harbourlights.example"]),  # a stranger elsewhere: the sender
])
def test_reply_to_is_honoured_only_on_the_senders_domain_or_for_a_known_correspondent(
        sample, tmp_path, reply_to, expected):
    message = _eml(tmp_path / "q.eml", "Dana Whitlock <dana@harbourlights.example>", reply_to=reply_to)
    request = prepare(sample, "", None, str(message), None)
    assert request.recipients == expected
    assert [r.value for r in request.passed_over] == ([] if expected != ["dana@harbourlights.example"]
                                                      else ["collect@elsewhere.example"])


def test_an_address_only_in_the_body_never_becomes_a_recipient(sample, tmp_path):
    message = _eml(tmp_path / "q.eml", "Dana Whitlock <dana@harbourlights.example>",
                   text="Please reply to rsvp@harbourlights-events.example instead of me.")
    sample.__dict__["generator"] = Recorder("Hiya Dana,\n\nYes — I'll write to rsvp@harbourlights-events.example."
                                            "\n\nOnwards,\nPriya")
    result = draft(sample, reply_to=str(message))
    assert result.to == ["dana@harbourlights.example"]
    assert "rsvp@" not in result.draft and result.removed[0]["value"] == "rsvp@harbourlights-events.example"


def test_out_writes_a_valid_rfc5322_reply_atomically(sample, tmp_path):
    sample.__dict__["generator"] = Recorder()
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "reply.eml"
    result = draft(sample, reply_to=SAM_BUDGET, save=Targets(out=out))
    assert result.saved == [str(out)] and [p.name for p in out.parent.iterdir()] == ["reply.eml"]
    message = email.message_from_bytes(out.read_bytes(), policy=email.policy.default)
    assert message["From"] == "Priya Nandakumar <priya@fernhill.example>"
    assert message["To"] == "sam@fernhill.example" and message["Subject"] == "Re: Alder St — revised budget"
    assert message["In-Reply-To"] == SAM_BUDGET and message["References"] == SAM_BUDGET
    assert message["Message-ID"].endswith("@fernhill.example>") and message["Date"].datetime is not None
    assert message.get_content() == result.draft + "\n" and not message.defects


def test_a_failed_write_leaves_nothing_behind(sample, tmp_path, monkeypatch):
    sample.__dict__["generator"] = Recorder()
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "reply.eml"

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(UserError, match=r"--out .*reply.eml: cannot write it \(No space left on device\)"):
        draft(sample, reply_to=SAM_BUDGET, save=Targets(out=out))
    assert list(out.parent.iterdir()) == []


@pytest.mark.parametrize("layout", ["fresh", ".Drafts", "Drafts"])
def test_maildir_drafts_saves_with_the_draft_flag(sample, tmp_path, layout):
    root = tmp_path / "Maildir"
    box = mailbox.Maildir(str(root), create=True)
    if layout == ".Drafts":
        box.add_folder("Drafts")
    elif layout == "Drafts":
        mailbox.Maildir(str(root / "Drafts"), create=True)
    sample.__dict__["generator"] = Recorder()
    result = draft(sample, reply_to=SAM_BUDGET, save=Targets(maildir=root))
    folder = root / ("Drafts" if layout == "Drafts" else ".Drafts")
    [saved] = mailbox.Maildir(str(folder), create=False).values()
    [path] = (folder / "cur").iterdir()
    assert result.saved == [str(path)] and "D" in saved.get_flags() and saved.get_subdir() == "cur"
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["In-Reply-To"] == SAM_BUDGET and message["Subject"] == "Re: Alder St — revised budget"


def test_tone_is_measured_against_her_own_range(sample):
    db = sample.db
    style = current_style(db)
    p25, _, p75 = quantiles(own_lengths(db), n=4)
    shorter = tone_guide(db, style, "shorter", "Priya")
    longer = tone_guide(db, style, "longer", "Priya")
    assert shorter.words == round(p25) < longer.words == round(p75)
    assert shorter.max_tokens(220) < 220 <= longer.max_tokens(220)
    assert f"about {shorter.words} words, like the shortest quarter of Priya's own emails" in shorter.notes[0]
    formal = tone_guide(db, style, "formal", "Priya")
    assert (formal.greeting, formal.signoff) == ("Dear", "With thanks,\nPriya Nandakumar")
    assert "as Priya writes to Janet Liu (formal)" in formal.notes[0]
    casual = tone_guide(db, style, "casual", "Priya")
    assert casual.greeting == "Hiya" and casual.signoff == "Onwards,\nPriya"


def test_tone_reaches_the_prompt_and_the_token_budget(sample):
    request = prepare(sample, "ask Sam to move the site visit", "Sam", None, "formal")
    prompt = build_prompt(sample, request.instruction, "Sam", True, chat=False, request=request)
    assert prompt.opening == "Dear Sam,\n\n"  # her formal register, though she writes "Hiya" to Sam
    chat = build_prompt(sample, request.instruction, "Sam", True, chat=True, request=request)
    assert "write as Priya Nandakumar writes to Janet Liu (formal)" in chat.messages[-1]["content"]  # not the prefix
    generator = sample.__dict__["generator"] = Recorder()
    draft(sample, "ask Sam to move the site visit", to="Sam", tone="shorter")
    assert generator.max_tokens[0] < 220


def test_no_smtp_anywhere():
    """Drafts are never sent: nothing in the code can speak SMTP."""
    roots = [Path(__file__).parent.parent / name for name in ("assistant", "plugins")]
    sources = [p for root in roots for p in root.rglob("*.py")]
    assert sources and not [p for p in sources if "smtplib" in p.read_text(encoding="utf-8")]


def _fails(result, *phrases: str) -> None:
    assert result.returncode == 1, result.stdout
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ")
    for phrase in phrases:
        assert phrase in result.stderr, result.stderr


def test_bad_input_is_one_line_naming_the_cause_and_the_fix(sample_home, tmp_path):
    tmp_path = tmp_path / "work"
    tmp_path.mkdir()
    not_mail = tmp_path / "notes.txt"
    not_mail.write_text("Shopping list\n\nmilk, eggs\n")
    _fails(run_cli("draft", "--reply-to", str(not_mail), home=sample_home),
           "is not an email (no From: header", "pass a saved .eml message or a Message-ID")
    _fails(run_cli("draft", "--reply-to", "<nowhere@example.com>", home=sample_home),
           "no email with that Message-ID is indexed", "assistant index PATH")
    _fails(run_cli("draft", "--reply-to", str(tmp_path / "gone.eml"), home=sample_home), "no such file")
    missing = tmp_path / "missing" / "reply.eml"
    _fails(run_cli("draft", "--reply-to", SAM_BUDGET, "--out", str(missing), home=sample_home),
           f"the folder {missing.parent} does not exist; create it")
    _fails(run_cli("draft", "thank Sam", "--maildir-drafts", str(tmp_path), home=sample_home),
           "is not a Maildir (no cur/new/tmp folders)")
    _fails(run_cli("draft", "thank Sam", "--imap-drafts", "work", home=sample_home),
           "no [[imap]] account of that name in config.toml")
    _fails(run_cli("draft", home=sample_home), "give an INSTRUCTION, --reply-to")
    _fails(run_cli("draft", "thank Sam", "--tone", "formal", "--no-personalization", home=sample_home),
           "--tone is measured against your own emails; drop --no-personalization")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # nothing half-written


def test_saving_without_an_address_of_hers_fails_before_generating(sample, tmp_path):
    sample.config.me.emails = []
    generator = sample.__dict__["generator"] = Recorder()
    with pytest.raises(UserError, match=r"\[me\] emails holds no address of yours"):
        draft(sample, "thank Sam", to="Sam", save=Targets(out=tmp_path / "x.eml"))
    assert generator.prompts == [] and not (tmp_path / "x.eml").exists()


def test_the_cli_reports_what_the_guard_removed(sample_home, tmp_path, monkeypatch, embedder):
    """In-process CLI with a scripted model: plain output notes removals on stderr, --json lists them."""
    import json

    from click.testing import CliRunner

    from assistant.cli.main import cli

    reply = "Hiya Sam,\n\nSee https://evil.example/?d=1 and bcc spy@evil.example.\n\nOnwards,\nPriya"
    monkeypatch.setattr(Assistant, "generator", property(lambda self: Recorder(reply)))
    monkeypatch.setattr(Assistant, "embedder", property(lambda self: embedder))
    runner = CliRunner()
    plain = runner.invoke(cli, ["draft", "--reply-to", SAM_BUDGET, "--out", str(tmp_path / "r.eml")])
    assert plain.exit_code == 0, plain.output
    assert plain.stdout == "Hiya Sam,\n\nSee and bcc.\n\nOnwards,\nPriya\n"
    notes = plain.stderr.splitlines()
    assert notes[0].startswith("Note: the guard removed 2 item(s)") and "link https://evil.example/?d=1" in notes[0]
    assert notes[1] == f"Saved to {tmp_path / 'r.eml'}"
    as_json = json.loads(runner.invoke(cli, ["draft", "--reply-to", SAM_BUDGET, "--json"]).stdout)
    assert [(r["kind"], r["value"]) for r in as_json["removed"]] == [
        ("link", "https://evil.example/?d=1"), ("address", "spy@evil.example")]
    assert as_json["to"] == ["sam@fernhill.example"] and as_json["in_reply_to"] == SAM_BUDGET
