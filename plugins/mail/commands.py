"""CLI commands of the mail plugin: `assistant secrets set|delete` and `assistant sources sync imap`."""

from __future__ import annotations

import json
import sys

import click

from assistant.errors import UserError


@click.group()
def secrets():
    """Passwords kept in the OS keyring (never in config.toml)."""


@secrets.command("set")
@click.argument("name")
def secrets_set(name):
    """Store secret NAME, e.g. imap.work for the [[imap]] account named work.

    Asks for it with hidden input on a terminal; otherwise reads it from stdin.
    """
    from assistant.secrets import check_name, set_secret

    check_name(name)
    if sys.stdin.isatty():
        value = click.prompt(f"Secret for {name}", hide_input=True)
    else:
        value = sys.stdin.readline().rstrip("\r\n")
    set_secret(name, value)
    click.echo(f"Stored {name} in the OS keyring.")


@secrets.command("delete")
@click.argument("name")
def secrets_delete(name):
    """Remove secret NAME from the OS keyring."""
    from assistant.secrets import delete_secret

    if not delete_secret(name):
        raise UserError(f"no secret named {name!r} is stored; nothing to delete")
    click.echo(f"Deleted {name} from the OS keyring.")


def _configured_accounts(home, wanted: tuple[str, ...]):
    from assistant_plugins.mail.imap import configured_accounts

    accounts = configured_accounts(home)
    if not accounts:
        raise UserError(f"no IMAP account is configured: add an [[imap]] section (name, host, user) to "
                        f"{home.config_path}, then `assistant secrets set imap.NAME`")
    unknown = set(wanted) - {a.name for a in accounts}
    if unknown:
        raise UserError(f"no [[imap]] account named {', '.join(sorted(unknown))}; configured: "
                        f"{', '.join(a.name for a in accounts)}")
    return [a for a in accounts if not wanted or a.name in wanted]


@click.command("imap")
@click.option("--account", "wanted", multiple=True, help="Only this [[imap]] account (repeatable).")
@click.option("--batch-size", default=50, show_default=True, help="Messages fetched and stored per round trip.")
@click.option("--json", "as_json", is_flag=True, help="Print per-folder results as JSON.")
@click.pass_context
def sync_imap(ctx, wanted, batch_size, as_json):
    """Fetch new mail from the IMAP accounts in config.toml (read-only, incremental)."""
    from dataclasses import asdict

    from assistant_plugins.mail.imap import sync_accounts

    state = ctx.obj
    assistant = state.assistant()
    accounts = _configured_accounts(assistant.home, wanted)

    def show(account, progress) -> None:
        if not as_json and sys.stderr.isatty():
            click.echo(f"  {account.name}/{progress.folder}: {progress.fetched} fetched", err=True)

    results = sync_accounts(assistant, accounts, batch_size, show)
    if as_json:
        click.echo(json.dumps([asdict(r) for r in results], indent=2))
    else:
        for result in results:
            for folder in result.folders:
                note = " (UIDVALIDITY changed: fetched again)" if folder.refetched else ""
                gone = f", {folder.removed} gone from the server" if folder.removed else ""
                line = folder.error or f"{folder.fetched} new message(s){gone}, up to UID {folder.last_uid}{note}"
                click.echo(f"{result.account}/{folder.folder}: {line}")
    errors = [result.error for result in results if result.error]
    errors += [f"{r.account}/{folder.folder}: {folder.error}" for r in results for folder in r.folders if folder.error]
    for error in errors:
        click.echo(f"Error: {error}", err=True)
    if errors:
        ctx.exit(1)


def add_commands(cli: click.Group) -> None:
    cli.add_command(secrets)
    sources = cli.commands.get("sources")
    if not isinstance(sources, click.Group):
        sources = click.Group("sources", help="Sources of text.")
        cli.add_command(sources)
    sync = sources.commands.get("sync")
    if not isinstance(sync, click.Group):
        sync = click.Group("sync", help="Fetch from sources that are not files (mail servers).")
        sources.add_command(sync)
    sync.add_command(sync_imap)
