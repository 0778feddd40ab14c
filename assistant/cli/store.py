"""`assistant encrypt | decrypt | key rotate | backup`: the store's encryption at rest and its backups."""

from __future__ import annotations

from pathlib import Path

import click

from assistant.errors import UserError

KEY_SOURCE = click.option("--key-source", type=click.Choice(["keyring", "passphrase"]), default="keyring",
                          show_default=True,
                          help="keyring: a random key kept in the OS keyring; passphrase: a key derived from a "
                               "passphrase typed on each start (or $ASSISTANT_PASSPHRASE).")


def _no_daemon(home) -> None:
    from assistant.daemon.runtime import DaemonFiles

    if DaemonFiles(home).is_running():
        raise UserError("the daemon is running and holds the store open; stop it first (assistant daemon stop)")


def encrypt_home(home, key_source: str) -> None:
    """Encrypt the store in `home` (used by `encrypt` and `init --encrypt`)."""
    from assistant.store.encryption import encrypt_store

    _no_daemon(home)
    home.ensure()
    marker = encrypt_store(home.db_path, key_source)
    click.echo(f"The store in {home.root} is encrypted; its key is in {marker.describe()}. "
               "Keep that key: without it nothing opens the store or its backups.")


@click.command()
@KEY_SOURCE
@click.pass_obj
def encrypt(state, key_source):
    """Encrypt the store (SQLCipher) with a new key; it opens only with that key from now on."""
    encrypt_home(state.home, key_source)


@click.command()
@click.pass_obj
def decrypt(state):
    """Turn the encrypted store back into plain SQLite and delete its key."""
    from assistant.store.encryption import decrypt_store

    home = state.home
    _no_daemon(home)
    decrypt_store(home.db_path)
    click.echo(f"The store in {home.root} is no longer encrypted; its key was removed.")


@click.group()
def key():
    """The encrypted store's key."""


@key.command("rotate")
@click.pass_obj
def key_rotate(state):
    """Re-encrypt the store with a new key (a new random one, or a new passphrase); the old one stops working.

    In scripts the new passphrase comes from $ASSISTANT_NEW_PASSPHRASE.
    """
    from assistant.store.encryption import rotate_key

    home = state.home
    _no_daemon(home)
    marker = rotate_key(home.db_path)
    click.echo(f"The store has a new key, in {marker.describe()}; the old key no longer opens it "
               "(backups made before keep the old one).")


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
@click.pass_obj
def backup(state, path, force):
    """Write a consistent snapshot of the store to PATH (encrypted with the same key when the store is)."""
    from assistant.store.encryption import backup_store
    from assistant.store.keys import read_marker

    home = state.home
    written = backup_store(home.db_path, path, force=force)
    marker = read_marker(home.root)
    how = f"encrypted: it opens with the same key, from {marker.describe()}" if marker else "not encrypted"
    click.echo(f"Backed up the store to {written} ({how}).")


def register(cli: click.Group) -> None:
    for command in (encrypt, decrypt, key, backup):
        cli.add_command(command)
