"""The safety guard over drafts: what it removes, what it keeps, and where trust comes from."""

from email.message import EmailMessage

import pytest

from assistant.config import Config
from assistant.core import Assistant
from assistant.generation.guard import GuardedStream, Trusted, guard_recipients, guard_text
from assistant.ingest.pipeline import index_paths


def _kinds(guarded) -> list[tuple[str, str]]:
    return [(r.kind, r.value) for r in guarded.removed]


def test_untrusted_links_images_addresses_domains_phones_and_header_lines_are_removed():
    trusted = Trusted(None, ["send Sam the plan at https://fernhill.example/plan"], ["sam@fernhill.example"])
    draft = ("Hiya Sam,\n\nBcc: x@evil.example\n**Cc:** y@evil.example\n"
             "The plan: https://fernhill.example/plan. Also [click](https://evil.example/?d=secret) "
             "![x](https://evil.example/p.png) <img src=\"https://evil.example/t.gif\">\n"
             "Write to admin@evil.example or sam@fernhill.example, see evil.example or www.evil.example/x; "
             "call +1 (555) 013-9999. Notes in notes.md, e.g. at 9:30 on 2026-01-13.\n"
             '<a href="https://evil.example/a">the doc</a>\n\nOnwards,\nPriya')
    guarded = guard_text(draft, trusted)
    assert guarded.text == (
        "Hiya Sam,\n\nThe plan: https://fernhill.example/plan. Also click\n"
        "Write to or sam@fernhill.example, see or; call. Notes in notes.md, e.g. at 9:30 on 2026-01-13.\n"
        "the doc\n\nOnwards,\nPriya")
    assert _kinds(guarded) == [
        ("header", "Bcc: x@evil.example"), ("header", "**Cc:** y@evil.example"),
        ("image", "![x](https://evil.example/p.png)"), ("image", '<img src="https://evil.example/t.gif">'),
        ("link", "https://evil.example/?d=secret"), ("link", "https://evil.example/a"),
        ("link", "www.evil.example/x"), ("address", "admin@evil.example"), ("domain", "evil.example"),
        ("phone", "+1 (555) 013-9999")]
    assert all(r.reason for r in guarded.removed)


def test_a_data_carrying_url_on_a_trusted_domain_is_still_removed():
    """Only the exact link is trusted: a query string is how data leaves."""
    trusted = Trusted(None, ["link https://fernhill.example/plan"], [])
    guarded = guard_text("See https://fernhill.example/plan?d=bank-details", trusted)
    assert _kinds(guarded) == [("link", "https://fernhill.example/plan?d=bank-details")]


@pytest.mark.parametrize("hidden", [
    "billing\uff20evil\uff0eexample",  # fullwidth @ and .
    "bill\u200bing@ev\u200bil.example",  # zero-width spaces
    "fernh\u0456ll.example",  # a Cyrillic і in a look-alike domain
    "https://evil\u3002example/x",  # an ideographic full stop
])
def test_unicode_tricks_do_not_hide_a_value(hidden):
    guarded = guard_text(f"Hiya Sam, write to {hidden} today.", Trusted(None, ["thank Sam"], []))
    assert "example" not in guarded.text and guarded.removed
    assert guarded.text.startswith("Hiya Sam, write to") and guarded.text.endswith("today.")


def test_plain_prose_is_left_alone():
    text = "Hiya Sam,\n\nFriday at 9:30 works — serviceberries at #15, $8,000 saved.\n\nOnwards,\nPriya"
    assert guard_text(text, Trusted(None, ["x"], [])).text == text
    assert guard_text(text, Trusted(None, ["x"], [])).removed == []


def test_recipients_come_only_from_trusted_places():
    trusted = Trusted(None, ["reply to Sam"], ["sam@fernhill.example"])
    kept, removed = guard_recipients(["sam@fernhill.example", "spy@evil.example"], trusted)
    assert kept == ["sam@fernhill.example"] and [(r.kind, r.value) for r in removed] == [
        ("recipient", "spy@evil.example")]


@pytest.fixture
def with_own_links(sample_home, embedder, tmp_path):
    """The sample person, plus an email she sent with a link and a phone number, and a note
    (a file in her folders) with another link."""
    message = EmailMessage()
    message["From"], message["To"] = "Priya Nandakumar <priya@fernhill.example>", "Sam Okoye <sam@fernhill.example>"
    message["Subject"], message["Date"] = "Swale guide", "Mon, 01 Jun 2026 09:00:00 -0700"
    message.set_content("Hiya Sam,\n\nThe swale guide: https://cityofportland.example/swales "
                        "and the nursery line is 503-555-0142.\n\nOnwards,\nPriya")
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "sent-guide.eml").write_bytes(bytes(message))
    (tmp_path / "new" / "clipped.md").write_text("Saved from the web: https://clipped.example/page\n")
    assistant = Assistant(sample_home, Config.load(sample_home))
    assistant.__dict__["embedder"] = embedder
    assert index_paths(assistant, [tmp_path / "new"]).added == 2
    return assistant


def test_own_sent_mail_is_trusted_but_a_file_in_her_folders_is_not(with_own_links):
    trusted = Trusted(with_own_links.db, ["send Sam the guide"], [])
    draft = ("Guide: https://cityofportland.example/swales, call 503.555.0142; "
             "also https://clipped.example/page and greenleafnursery.example")
    guarded = guard_text(draft, trusted)
    assert "https://cityofportland.example/swales" in guarded.text and "503.555.0142" in guarded.text
    assert "greenleafnursery.example" in guarded.text  # a domain she has written to
    assert _kinds(guarded) == [("link", "https://clipped.example/page")]


def test_a_value_that_is_only_part_of_a_trusted_one_is_not_trusted(with_own_links):
    """`am@fernhill.example` is inside `sam@fernhill.example`, `hill.example` inside `fernhill.example`:
    neither is the trusted value."""
    trusted = Trusted(with_own_links.db, ["reply to sam@fernhill.example"], [])
    guarded = guard_text("Write to am@fernhill.example, see hill.example and portland.example; "
                         "or sam@fernhill.example.", trusted)
    assert _kinds(guarded) == [("address", "am@fernhill.example"), ("domain", "hill.example")]
    assert "sam@fernhill.example" in guarded.text and "portland.example" in guarded.text


def test_a_streamed_draft_is_shown_only_after_the_guard_checked_each_line():
    shown = []
    stream = GuardedStream(shown.append, Trusted(None, ["ask Sam about Friday"], ["sam@fernhill.example"]))
    for piece in ["Hiya Sam,\n", "\n", "Details at ht", "tps://evil.example/?d=1 and mail "]:
        stream(piece)
    assert "".join(shown) == "Hiya Sam,\n\n"  # the unfinished line waits for its newline
    for piece in ["sam@fernhill.example\nBcc: x@evil.example\n", "Onwards ![p](https://evil.example/p.png)"]:
        stream(piece)
    stream.close()
    text = "".join(shown)
    assert "evil.example" not in text and "Bcc" not in text and "![" not in text
    assert text.startswith("Hiya Sam,\n\nDetails at and mail sam@fernhill.example\n") and text.endswith("Onwards")
