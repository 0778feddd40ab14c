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


# Secrets in the forms config files, shells and notes hold them: `.env`, shell `export`, YAML, JSON,
# INI, code, prose; prefixed/suffixed key names; quoted values with spaces; no vendor prefix to
# recognise, so only the key's name says it is a secret. (the secret, the line that carries it)
KEYED: list[tuple[str, str]] = [
    # .env
    ("pg-Vr8qLm2xTz", "DB_PASSWORD=pg-Vr8qLm2xTz"),
    ("django-insecure-7x#k!2mq@w9zr$e4n^p8v&t1", "DJANGO_SECRET_KEY=django-insecure-7x#k!2mq@w9zr$e4n^p8v&t1"),
    ("Xk29fLq83VmZp04Rt7", "X_API_KEY=Xk29fLq83VmZp04Rt7"),
    ("FwoGZXIvYXdzEJr7K9mQ2LpX5vT8nW3cY6bH1dF4gJ0kS", "AWS_SESSION_TOKEN=FwoGZXIvYXdzEJr7K9mQ2LpX5vT8nW3cY6bH1dF4gJ0kS"),
    ("mq8Tz3Lw9Vx2Kp7R", "MAILGUN_SIGNING_KEY=mq8Tz3Lw9Vx2Kp7R"),
    ("r00tPw-44f9", "MYSQL_ROOT_PASSWORD=r00tPw-44f9"),
    ("smtpPw7731x", "SMTP_PASS=smtpPw7731x"),
    ("Nq4xW8zL2vR6tY0p", "JWT_SECRET=Nq4xW8zL2vR6tY0p"),
    ("9f8e7d6c5b4a39281706", "STRIPE_WEBHOOK_SECRET=9f8e7d6c5b4a39281706"),
    ("2cF9hJ4kM7nQ1rT5", "SECRET_KEY_BASE=2cF9hJ4kM7nQ1rT5"),
    ("xT7pQ2wR9zK4mV8n", "TELEGRAM_BOT_TOKEN=xT7pQ2wR9zK4mV8n"),
    ("A1b2C3d4E5f6G7h8", "ENCRYPTION_KEY=A1b2C3d4E5f6G7h8"),
    ("quokka zeppelin marmalade", 'REDIS_PASSWORD="quokka zeppelin marmalade"'),
    ("vellum-Otter-53", "DB_PASSWORD='vellum-Otter-53'"),
    ("Pz9wQ4xL7mK2", "APP_PASSWD=Pz9wQ4xL7mK2"),
    ("hU3kT8pW1qZ6vB9c", "SENTRY_AUTH_TOKEN=hU3kT8pW1qZ6vB9c"),
    # shell export
    ("ex9Kp2Wq7Lm4", "export DB_PASSWORD=ex9Kp2Wq7Lm4"),
    ("Gh7tK2pW9xQ4mZ8v", "export GITHUB_TOKEN=Gh7tK2pW9xQ4mZ8v"),
    ("tern piranha gazebo", 'export VAULT_PASSPHRASE="tern piranha gazebo"'),
    ("k8Sx2Vq9Lz4Wm7Np", "export OPENAI_API_KEY=k8Sx2Vq9Lz4Wm7Np"),
    ("Fr4nkl1n-Wq7", "  export PGPASSWORD='Fr4nkl1n-Wq7'"),
    ("c7Yh2Kq9Zx4Wp1Lm", 'export CLIENT_SECRET="c7Yh2Kq9Zx4Wp1Lm"'),
    # YAML
    ("wombat hinge cobalt sparrow", "password: wombat hinge cobalt sparrow"),
    ("yml-Secr3t-Pw", "  password: yml-Secr3t-Pw"),
    ("Zq8Xw3Lp6Vm1Kt4R", "    api_key: Zq8Xw3Lp6Vm1Kt4R"),
    ("Lm3Np7Qr2St8Uv4W", "  access_token: \"Lm3Np7Qr2St8Uv4W\""),
    ("b5Tg8Hy2Uj6Ik9Ol", "client_secret: 'b5Tg8Hy2Uj6Ik9Ol'"),
    ("Rt5Yu8Io2Pa6Sd9F", "  secretKey: Rt5Yu8Io2Pa6Sd9F"),
    ("basalt lantern quince", "db_password: basalt lantern quince  # rotate monthly"),
    ("Kq2Wx8Zm4Lp9Vn3T", "webhook_secret: Kq2Wx8Zm4Lp9Vn3T"),
    ("Yh6Tg3Rf9Ed2Ws5Q", "  private_key: Yh6Tg3Rf9Ed2Ws5Q"),
    # JSON
    ("correct horse battery staple", '{"password": "correct horse battery staple"}'),
    ("Jn4Bm8Vc2Xz6Lk9H", '{"apiKey": "Jn4Bm8Vc2Xz6Lk9H", "region": "eu-west-1"}'),
    ("Pw9Oe3Iu7Yt1Re5W", '  "refreshToken": "Pw9Oe3Iu7Yt1Re5W",'),
    ("Qa1Ws2Ed3Rf4Tg5Y", '"client_secret":"Qa1Ws2Ed3Rf4Tg5Y"'),
    ('kestrel \\"quoted\\" obsidian', '{"db_password": "kestrel \\"quoted\\" obsidian"}'),
    ("Hn7Jm2Kl9Po4Iu8Y", '{"auth": {"token": "Hn7Jm2Kl9Po4Iu8Y"}}'),
    ("Mk3Nj8Bh2Vg6Cf9X", '"secret_access_token": "Mk3Nj8Bh2Vg6Cf9X"'),
    # INI / properties
    ("ini marsupial phrase 42", "password = ini marsupial phrase 42"),
    ("Zx5Cv8Bn2Mq7Wl4K", "secret_key = Zx5Cv8Bn2Mq7Wl4K"),
    ("Dp3Fs9Gh4Jk8Lq2W", "spring.datasource.password=Dp3Fs9Gh4Jk8Lq2W"),
    ("Ty6Ur1Ie5Wo9Pq3A", "oauth.client.secret = Ty6Ur1Ie5Wo9Pq3A"),
    ("Bg4Nh7Mj2Ki9Lo5P", "api.key: Bg4Nh7Mj2Ki9Lo5P"),
    ("Vf8Cd3Xs6Za1Qw4E", "//registry.npmjs.org/:_authToken=Vf8Cd3Xs6Za1Qw4E"),
    # code
    ("c0de-Pw-8812", 'conn = connect(host="db", password="c0de-Pw-8812")'),
    ("Sd4Fg7Hj1Kl5Zx8C", "const API_KEY = 'Sd4Fg7Hj1Kl5Zx8C';"),
    ("Wq3Er6Ty9Ui2Op5A", "$config['db_password'] = 'Wq3Er6Ty9Ui2Op5A';"),
    ("Ru7Ne4Ko1Ji8Hu5G", "'secret_token' => 'Ru7Ne4Ko1Ji8Hu5G',"),
    ("Gt5Yh8Uj2Ik6Ol9P", 'token := "Gt5Yh8Uj2Ik6Ol9P"'),
    ("Kp8Lm3Nb6Vc1Xz4Q", "curl -H 'X-API-Key: Kp8Lm3Nb6Vc1Xz4Q' https://api.example.com"),
    ("Qw8Er2Ty6Ui4Op1As", "https://api.example.com/v1/items?api_key=Qw8Er2Ty6Ui4Op1As&page=2"),
    # prose and mail
    ("glacier walnut tambourine", 'The new wifi password: "glacier walnut tambourine" (all lower case).'),
    ("Hm4Kt9Wq2Zx7", "Sam, the alarm code passcode=Hm4Kt9Wq2Zx7 until Friday."),
    ("Plum-Orchard-88", "Here is the password: Plum-Orchard-88"),
    ("Xr9Tz4Wk7Qm2Lp5V", "my access_token=Xr9Tz4Wk7Qm2Lp5V expires tonight"),
    ("Nv6Bc3Xz8Lk1Jh4G", "The bot token: Nv6Bc3Xz8Lk1Jh4G, please rotate it."),
    ("Fe2Dc5Ba8Zy1Xw4V", "API key: Fe2Dc5Ba8Zy1Xw4V"),
    ("lantern mosaic velvet", "Password: lantern mosaic velvet"),
    ("Uy7Tr4Ew1Qa8Sd5F", "Secret: Uy7Tr4Ew1Qa8Sd5F"),
    ("dXNlcjpUcjB1YjRkb3I=", "Authorization: Basic dXNlcjpUcjB1YjRkb3I="),
    ("Zm9vYmFyQmF6UXV4MDk4NzY1", "Authorization: token Zm9vYmFyQmF6UXV4MDk4NzY1"),
    ("Ab3Cd6Ef9Gh2Ij5Kl8", "Token=Ab3Cd6Ef9Gh2Ij5Kl8"),
]


def _pieces(secret: str) -> list[str]:
    """The secret, and each word of a secret with spaces: a passphrase must go whole."""
    words = [w.strip('\\"') for w in secret.split()] if " " in secret else []
    return [secret] + [w for w in words if len(w) >= 4]


@pytest.mark.parametrize("secret,line", KEYED, ids=[line[:40] for _, line in KEYED])
def test_secrets_assigned_to_secret_named_keys_are_redacted(secret, line):
    redacted = redact(line)
    assert "[REDACTED:" in redacted, redacted
    for piece in _pieces(secret):
        assert piece not in redacted, (piece, redacted)


def test_no_keyed_secret_reaches_the_stored_chunks(assistant, tmp_path):
    assert len(KEYED) >= 60
    corpus = tmp_path / "pasted"
    corpus.mkdir()
    half = len(KEYED) // 2
    (corpus / "server-setup.md").write_text(
        "# Server setup\n\nWhat I pasted from the server, so I stop losing it:\n\n```\n"
        + "\n".join(line for _, line in KEYED[:half]) + "\n```\n")
    (corpus / "credentials.txt").write_text(
        "Credentials for the studio\n\n" + "\n\n".join(line for _, line in KEYED[half:]) + "\n")
    report = index_paths(assistant, [corpus])
    assert report.failed == 0, report.problems
    stored = "\n".join(row[0] for row in assistant.db.execute("SELECT text || ' ' || context FROM chunks"))
    assert "Server setup" in stored and "Credentials for the studio" in stored
    leaked = [piece for secret, _ in KEYED for piece in _pieces(secret) if piece in stored]
    assert not leaked


@pytest.mark.parametrize("text", [
    "We talked about the token economy and how play money changes behaviour.",
    "Password reset link sent to your email; it expires in an hour.",
    "The secret to a good sourdough is patience.",
    "Keep it secret: the surprise party is on Saturday.",
    "Token: a thing that stands for something else.",
    "tokenizer: bert-base-uncased",
    "max_tokens: 256",
    "The secretary: Jane Doe, room 4.",
    "token_type: bearer",
    "Boarding pass: gate 12, seat 14C.",
    "The API key rotation is next week, see the runbook.",
    "password_min_length: 12",
])
def test_ordinary_text_near_secret_words_is_kept(text):
    assert redact(text) == text
