"""Secrets (an IMAP password, later the store's key) live only in the OS keyring, never in config.

Each secret is stored under the service "persona-assistant" with its name as the username
(`imap.work`). `keyring` is imported on first use so the CLI starts fast.
"""

from __future__ import annotations

import re

from assistant.errors import UserError

SERVICE = "persona-assistant"
_NAME = re.compile(r"^[a-z][a-z0-9_-]*\.[A-Za-z0-9_.@+-]+$")
NO_KEYRING_FIX = (
    "install a keyring backend: on a desktop the Secret Service (GNOME Keyring, KWallet) works as is; "
    "elsewhere run `pip install keyrings.alt` and set PYTHON_KEYRING_BACKEND=keyrings.alt.file.EncryptedKeyring"
)


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise UserError(f"secret name {name!r} is not of the form KIND.NAME, e.g. imap.work "
                        "(the account name from the [[imap]] section of config.toml)")
    return name


def _keyring_call(action: str, name: str, call):
    import keyring.errors

    try:
        return call()
    except keyring.errors.NoKeyringError as exc:
        raise UserError(f"no OS keyring to {action} secret {name!r}: {NO_KEYRING_FIX}") from exc
    except keyring.errors.KeyringError as exc:
        raise UserError(f"the keyring could not {action} secret {name!r}: {exc}") from exc


def get_secret(name: str) -> str | None:
    import keyring

    return _keyring_call("read", name, lambda: keyring.get_password(SERVICE, check_name(name)))


def set_secret(name: str, value: str) -> None:
    import keyring

    if not value:
        raise UserError(f"an empty secret was given for {name!r}; type it again (input is hidden)")
    _keyring_call("store", name, lambda: keyring.set_password(SERVICE, check_name(name), value))


def delete_secret(name: str) -> bool:
    """Remove the secret; False when there was none."""
    import keyring
    import keyring.errors

    def delete() -> bool:
        try:
            keyring.delete_password(SERVICE, check_name(name))
        except keyring.errors.PasswordDeleteError:
            return False
        return True

    return _keyring_call("delete", name, delete)
