"""Secrets are redacted before storage: no raw secret reaches the database, its WAL, the FTS index or a log."""

from __future__ import annotations

import json

import pytest

from assistant.ingest.pipeline import index_paths
from assistant.ingest.redact import iban_valid, luhn_valid, redact

# kind → (the secret as it must never be stored, the line that carries it)
PLANTED: dict[str, tuple[str, str]] = {
    "AWS_ACCESS_KEY": ("AKIAQ3EGVZ7XKM2PL4WN", "aws_access_key_id = AKIAQ3EGVZ7XKM2PL4WN"),
    "AWS_SECRET_KEY": ("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",
                       "aws_secret_access_key = k9Vt2mQx7LpR4sYw8NbZ1cHd6FgJ3eUa5oTi0KrP"),
    "GITHUB_TOKEN": ("ghp_R8mK2xQ9vL4tN7wP1sY5zB3cD6fG0hJ2kM4n", "export GH=ghp_R8mK2xQ9vL4tN7wP1sY5zB3cD6fG0hJ2kM4n"),
    "GITHUB_PAT": ("github_pat_11AB2CDEF0gH1iJ2kL3mN4_oP5qR6sT7uV8wX9yZ0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV1wX",
                   "fine-grained: github_pat_11AB2CDEF0gH1iJ2kL3mN4_oP5qR6sT7uV8wX9yZ0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV1wX"),
    "SLACK_TOKEN": ("xoxb-2210987654-1234567890123-Zq8Wm3Rt6Yp1Lk4Nb7Vc2Xs5",
                    "bot token xoxb-2210987654-1234567890123-Zq8Wm3Rt6Yp1Lk4Nb7Vc2Xs5 for the deploy bot"),
    "SLACK_WEBHOOK": ("https://hooks.slack.com/services/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",
                      "alerts go to https://hooks.slack.com/services/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"),
    "OPENAI_KEY": ("sk-proj-Pq7Rs2Tu9Vw4Xy1Za8Bc5De3Fg6Hi0JkLmNoPq", "OPENAI_API_KEY sk-proj-Pq7Rs2Tu9Vw4Xy1Za8Bc5De3Fg6Hi0JkLmNoPq"),
    "ANTHROPIC_KEY": ("sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa-AAAA",
                      "claude key sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa-AAAA"),
    "GOOGLE_API_KEY": ("AIzaSyD4m9Qx2Lp7Rt5Wv8Yz1Bc3Df6Gh0Jk4Ln7", "maps: AIzaSyD4m9Qx2Lp7Rt5Wv8Yz1Bc3Df6Gh0Jk4Ln7"),
    "STRIPE_KEY": ("sk_live_51Hq8Rt2Wm9Yp4Lk1Nb7Vc3Xs6Za", "stripe sk_live_51Hq8Rt2Wm9Yp4Lk1Nb7Vc3Xs6Za live"),
    "PRIVATE_KEY": ("MIIEowIBAAKCAQEAq7Bz3Wm9Yp4Lk1Nb7Vc3Xs6ZaQ2Rt8",
                    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAq7Bz3Wm9Yp4Lk1Nb7Vc3Xs6ZaQ2Rt8\n"
                    "Rt5Wv8Yz1Bc3Df6Gh0Jk4Ln7Qx2Lp7\n-----END RSA PRIVATE KEY-----"),
    "JWT": ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJwcml5YSIsImFkbWluIjp0cnVlfQ.Qm9Yp4Lk1Nb7Vc3Xs6ZaR2t8",
            "session eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJwcml5YSIsImFkbWluIjp0cnVlfQ.Qm9Yp4Lk1Nb7Vc3Xs6ZaR2t8"),
    "PASSWORD": ("Camas-Swale-2024!", "wifi password: Camas-Swale-2024!"),
    "PASSWORD_PWD": ("Gr33nleaf#77", "db pwd=Gr33nleaf#77"),
    "SECRET": ("c1i3ntS3cr3tV4lu3Xz", "client_secret=c1i3ntS3cr3tV4lu3Xz"),
    "API_KEY": ("4f7b9c2e1d8a6f3b5c0e", "\"api_key\": \"4f7b9c2e1d8a6f3b5c0e\""),
    "TOKEN": ("t0k3nV4lu3Qw9Er8Ty7", "refresh_token: t0k3nV4lu3Qw9Er8Ty7"),
    "URL_CREDENTIALS": ("priya:Tr0ub4dor", "git remote https://priya:Tr0ub4dor@git.fernhill.example/site.git"),
    "BEARER_TOKEN": ("Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5", "Authorization: Bearer Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5"),
    "CREDIT_CARD": ("4539 1488 0343 6467", "card 4539 1488 0343 6467 exp 09/27"),
    "IBAN": ("GB82 WEST 1234 5698 7654 32", "pay to GB82 WEST 1234 5698 7654 32 by Friday"),
    "SENDGRID_KEY": ("SG.Qx2Lp7Rt5Wv8Yz1Bc3Df6G.h0Jk4Ln7Qm9Yp4Lk1Nb7Vc3Xs6ZaR2t8Wm9Yp4Lk1",
                     "mail via SG.Qx2Lp7Rt5Wv8Yz1Bc3Df6G.h0Jk4Ln7Qm9Yp4Lk1Nb7Vc3Xs6ZaR2t8Wm9Yp4Lk1"),
    "TWILIO_KEY": ("SK3f9a2b7c1d8e4f6a0b5c9d2e7f1a3b8c", "twilio SK3f9a2b7c1d8e4f6a0b5c9d2e7f1a3b8c"),
    "NPM_TOKEN": ("npm_Qx2Lp7Rt5Wv8Yz1Bc3Df6Gh0Jk4Ln7Qm9Yp4L", "//registry.npmjs.org/:_authToken npm_Qx2Lp7Rt5Wv8Yz1Bc3Df6Gh0Jk4Ln7Qm9Yp4L"),
}
PLACEHOLDER_KIND = {"GITHUB_PAT": "GITHUB_TOKEN", "PASSWORD_PWD": "PASSWORD"}
IN_CHAT = ("JWT", "PASSWORD", "CREDIT_CARD", "SLACK_TOKEN", "OPENAI_KEY", "BEARER_TOKEN")


def test_planted_secrets_never_reach_the_store_or_any_file_under_home(assistant, tmp_path):
    assert len({PLACEHOLDER_KIND.get(kind, kind) for kind in PLANTED}) >= 20
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    file_kinds = [kind for kind in PLANTED if kind not in IN_CHAT]
    (corpus / "ops-notes.md").write_text(
        "# Ops notes for the studio\n\n" + "\n\n".join(PLANTED[k][1] for k in file_kinds[:10]) + "\n")
    (corpus / "more-notes.txt").write_text(
        "Things I should not have pasted here.\n\n" + "\n\n".join(PLANTED[k][1] for k in file_kinds[10:]) + "\n")
    with (corpus / "leaky-chat.jsonl").open("w") as handle:
        for kind in IN_CHAT:
            handle.write(json.dumps({"conversation": "Leo", "speaker": "priya", "text": f"here: {PLANTED[kind][1]}",
                                     "timestamp": "2024-05-01T10:00:00"}) + "\n")
    # a secret in a title is redacted too
    (corpus / "title.md").write_text(f"# {PLANTED['PASSWORD'][1]}\n\nThe title of this note holds a secret.")

    report = index_paths(assistant, [corpus])
    assert report.failed == 0, report.problems

    chunk_text = "\n".join(row[0] for row in assistant.db.execute("SELECT text FROM chunks"))
    titles = "\n".join(row[0] for row in assistant.db.execute("SELECT title FROM documents"))
    for kind in PLANTED:
        assert f"[REDACTED:{PLACEHOLDER_KIND.get(kind, kind)}]" in chunk_text, kind
    assert "[REDACTED:PASSWORD]" in titles

    assistant.db.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('optimize')")  # merge FTS segments too
    files = [path for path in assistant.home.root.rglob("*") if path.is_file()]  # db, WAL, config, logs, cache
    assert assistant.home.db_path in files
    raw = {path: path.read_bytes() for path in files}
    for kind, (secret, _) in PLANTED.items():
        for form in {secret, secret.replace(" ", "")}:
            leaks = [str(path) for path, data in raw.items() if form.encode() in data]
            assert not leaks, f"{kind} secret found raw in {leaks}"
            assert form not in json.dumps(report.as_dict()), f"{kind} secret in the index report"


@pytest.mark.parametrize("text", [
    "Order 1234 5678 9012 3456 shipped",  # 16 digits, Luhn fails
    "Invoice 4539148803436468",  # a real card number with its last digit changed
    "Call 0161 496 0018 or 020 7946 0321",
    "Tracking 9400 1000 0000 0000 0000 01",
])
def test_digit_runs_that_fail_luhn_are_kept(text):
    assert redact(text) == text


def test_checksums():
    assert luhn_valid("4539148803436467") and not luhn_valid("4539148803436468")
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and not iban_valid("GB82 WEST 1234 5698 7654 33")
    assert redact("IBAN GB82 WEST 1234 5698 7654 33 (typo)") == "IBAN GB82 WEST 1234 5698 7654 33 (typo)"


def test_ordinary_prose_survives():
    text = ("The password policy changed, so the token ring meeting moved. Secret garden tour at 3; "
            "key 4 is on the hook. Bearer of good news: the permit came through.")
    assert redact(text) == text
