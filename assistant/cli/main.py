"""`assistant <noun> <verb>`. Heavy libraries load only inside the commands that need them."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from assistant import __version__
from assistant.cli.store import KEY_SOURCE, encrypt_home, register as register_store_commands
from assistant.errors import UserError


class State:
    """Per-invocation state: the home chosen by --home, and the `Assistant`, built on first use."""

    def __init__(self, home: str | None) -> None:
        self.home_arg = home
        self._assistant = None

    @property
    def home(self):
        from assistant.home import Home

        return Home.resolve(self.home_arg)

    def assistant(self):
        if self._assistant is None:
            from assistant.core import Assistant

            self._assistant = Assistant(self.home)
        return self._assistant


class AssistantGroup(click.Group):
    """Turns a `UserError` into one line on stderr and exit code 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(1)
        except Exception as exc:  # a page found damaged after the store opened (sqlite3's or SQLCipher's)
            store = sys.modules.get("assistant.store.db")  # not loaded: no store was opened
            if store is None or not store.is_damage(exc):
                raise
            from assistant.store.db import damaged_store

            click.echo(f"Error: {damaged_store(ctx.obj.home.db_path, exc)}", err=True)
            ctx.exit(1)


@click.group(cls=AssistantGroup)
@click.version_option(__version__, prog_name="assistant")
@click.option("--home", envvar="ASSISTANT_HOME", type=click.Path(file_okay=False),
              help="Where config, the profile store and caches live (default: your user data dir).")
@click.pass_context
def cli(ctx, home):
    """A private assistant that learns how you write, from your own documents, mail and chats.

    \b
    Start:
      assistant init --name "Your Name" --email you@example.com
      assistant index ~/Documents ~/Mail/sent.mbox
      assistant search "what did I promise Sam about the lease?"
      assistant draft "thank Sam for the lease draft" --to Sam

    Everything runs on this machine; nothing is sent anywhere.
    """
    from assistant.home import PRIVATE_UMASK

    os.umask(PRIVATE_UMASK)  # all it writes (store, logs, caches, lock files) is for this user alone
    ctx.obj = State(home)


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


# -- init -------------------------------------------------------------------------------------

@cli.command()
@click.option("--name", "names", multiple=True, help="Your name (repeatable); also counts as a chat handle.")
@click.option("--email", "emails", multiple=True, help="An address you send mail from (repeatable).")
@click.option("--handle", "handles", multiple=True, help="A chat handle or speaker name of yours (repeatable).")
@click.option("--force", is_flag=True,
              help="Replace who you are in an existing config; its sources, IMAP accounts and models stay.")
@click.option("--encrypt", "encrypted", is_flag=True, help="Encrypt the store (see `assistant encrypt --help`).")
@KEY_SOURCE
@click.pass_obj
def init(state, names, emails, handles, force, encrypted, key_source):
    """Write the config that says who you are.

    With no options on a terminal it asks; in scripts pass --name/--email/--handle.
    """
    from assistant.config import Identity, write_config
    from assistant.identity import replace_identity

    home = state.home
    existed = home.config_path.exists()
    if existed and not force:
        raise UserError(f"{home.config_path} already exists; pass --force to overwrite it")
    if not (names or emails or handles) and sys.stdin.isatty():
        names = (click.prompt("Your name"),)
        emails = tuple(e.strip() for e in click.prompt("Email addresses you send from (comma-separated)",
                                                        default="").split(",") if e.strip())
        handles = tuple(h.strip() for h in click.prompt("Chat handles (comma-separated)",
                                                         default="").split(",") if h.strip())
    identity = Identity(list(names), list(emails), list(dict.fromkeys(list(handles) + list(names))))
    if existed and replace_identity(home, identity):
        click.echo(f"Updated [me] in {home.config_path}; the rest of it is kept")
    else:
        click.echo(f"Wrote {write_config(home, identity)}")
    if not (names or emails):
        click.echo("Note: no name or email given, so nothing will count as your own writing yet; "
                   "edit the [me] section or re-run with --force.", err=True)
    if encrypted and not (home.root / "encryption.json").exists():
        encrypt_home(home, key_source)


# -- whoami -----------------------------------------------------------------------------------

@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.option("--accept", is_flag=True, help="Add the suggested identities to the [me] section of your config.")
@click.pass_obj
def whoami(state, as_json, accept):
    """Who you are configured as, what that attributed to you, and identities you likely forgot."""
    from assistant.identity import Suggestion, accept as accept_suggestions, whoami as whoami_data

    assistant = state.assistant()
    data = whoami_data(assistant.db, assistant.config.me)
    if accept and data["suggestions"]:
        accept_suggestions(assistant.home, [Suggestion(**s) for s in data["suggestions"]])
    if as_json:
        _echo_json(data)
        return
    for field, values in data["configured"].items():
        click.echo(f"{field + ':':<9} {', '.join(values) or '(none)'}")
    click.echo("Documents per source:" if data["attribution"] else "Nothing indexed yet.")
    for row in data["attribution"]:
        click.echo(f"  {row['source']:<10} {row['mine']:>6} yours {row['others']:>6} others")
    if not data["suggestions"]:
        click.echo("No unconfigured identities seen in what is indexed.")
        return
    click.echo("Likely you, but not configured:" if not accept else "Added to your config:")
    for s in data["suggestions"]:
        click.echo(f"  {s['field'][:-1]:<7} {s['value']}  ({s['evidence']})")
    if not accept:
        click.echo("Add them: assistant whoami --accept")
        click.echo(f"  or set exactly these: {data['init_command']}")


# -- index ------------------------------------------------------------------------------------

@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def index(state, paths, as_json):
    """Read files, mail and chat exports into the profile store.

    Unchanged files are skipped; a file that cannot be read is reported and kept in
    `assistant sources errors`, and the rest go on. With no PATHS, re-indexes the
    paths indexed before.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from assistant.config import remember_source_path, unignore_path
    from assistant.ingest.pipeline import Indexer
    from assistant.profile.refresh import refresh_style

    missing = [str(path) for path in paths if not path.expanduser().exists()]
    if missing:
        raise UserError(f"{', '.join(missing)}: no such file or folder; check the path")
    for path in paths:  # naming a forgotten path takes it back
        if unignore_path(state.home, path.expanduser().resolve()):
            click.echo(f"{path} was forgotten; indexing it again as you asked", err=True)
    assistant = state.assistant()
    paths = list(paths) or [Path(p) for p in assistant.config.source_paths]
    if not paths:
        raise UserError("nothing to index: give a folder or file, e.g. `assistant index ~/Documents`")
    indexer = Indexer(assistant)
    units = indexer.discover(paths)
    console = Console(stderr=True)
    with Progress(TextColumn("indexing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=console, disable=not console.is_terminal,
                  transient=True) as progress:
        task = progress.add_task("", total=len(units))

        def advance(path: Path) -> None:
            progress.update(task, advance=1, description=path.name[:40])

        indexer.on_progress = advance
        report = indexer.run(paths, units)
        _reembed(assistant, progress)
        refresh_style(assistant.db)
    from assistant.cli.profile import refresh_with_progress  # facts from what was just indexed

    facts_summary = refresh_with_progress(assistant, console)
    for path in paths:
        if Path(path).exists():
            remember_source_path(assistant.home, Path(path).expanduser().resolve())
    if as_json:
        _echo_json(report.as_dict())
        return
    for where, reason in report.problems:
        click.echo(f"  {where}: {reason}", err=True)
    click.echo(f"Indexed: {report.summary()}")
    click.echo(facts_summary, err=True)


def _reembed(assistant, progress) -> None:
    """After a change of embedding model: embed every chunk with the new one (resumable)."""
    from assistant.ingest.reembed import reembed

    task = None

    def start(total: int) -> None:
        nonlocal task
        task = progress.add_task(f"re-embedding with {assistant.configured_model}", total=total)

    switch = reembed(assistant, on_start=start, on_progress=lambda n: progress.update(task, advance=n))
    if switch.embedded:
        click.echo(f"Re-embedded {switch.embedded} chunks with {switch.new}; search now uses it "
                   f"instead of {switch.old}.", err=True)


# -- search -----------------------------------------------------------------------------------

@cli.command()
@click.argument("query")
@click.option("-k", "k", default=5, show_default=True, type=click.IntRange(min=1), help="How many results.")
@click.option("--kind", type=click.Choice(["doc", "mail", "attachment", "chat"]),
              help="Only this kind of text (an attachment is a file sent with mail).")
@click.option("--mine/--others", default=None, help="Only what you wrote, or only what others wrote.")
@click.option("--json", "as_json", is_flag=True, help="JSON rows: chunk id, uri, score, text, timestamp, stages.")
@click.option("--why", is_flag=True, help="Say why each hit ranked: its place by meaning, by words, and boosts.")
@click.pass_obj
def search(state, query, k, kind, mine, as_json, why):
    """Find what you wrote or were told, by meaning and by words.

    Answered by the running daemon when there is one (its model and index are warm),
    else here, with the same results.
    """
    from assistant.daemon.client import DaemonError, search as daemon_search
    from assistant.daemon.runtime import DaemonFiles

    try:
        hits = daemon_search(DaemonFiles(state.home).socket, query, k, {"kind": kind, "mine": mine})
    except DaemonError as exc:
        click.echo(f"Warning: the daemon could not search ({exc}); searching here instead", err=True)
        hits = None
    if hits is None:
        hits = [hit.as_json() for hit in state.assistant().search(query, k=k, kind=kind, mine=mine)]
    if as_json:
        _echo_json(hits)
        return
    if not hits:
        click.echo("No results. Has anything been indexed? Try `assistant index PATH`.")
    for n, hit in enumerate(hits, 1):
        who = "you" if hit["author_is_me"] else (hit["author"] or "someone")
        click.secho(f"{n}. {hit['title'] or Path(hit['uri']).name}  ({hit['kind']}, {who}, {hit['timestamp'][:10]})",
                    bold=True)
        click.echo(f"   {hit['uri']}")
        snippet = " ".join(hit["text"].split())
        click.echo(f"   {snippet[:240]}{'…' if len(snippet) > 240 else ''}")
        if why:
            from assistant.retrieval.search import explain

            click.secho(f"   why: {explain(hit['stages'])}", dim=True)


# -- profile ----------------------------------------------------------------------------------

@cli.group()
def profile():
    """See what the assistant has learned about you."""


@profile.command("show")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def profile_show(state, as_json):
    """A one-screen summary: what was indexed, and how you write."""
    from assistant.profile.summary import render_summary, summary_data

    data = summary_data(state.assistant())
    if as_json:
        _echo_json(data)
    else:
        render_summary(data)


# -- sources ----------------------------------------------------------------------------------

@cli.group()
def sources():
    """Sources of text and what went wrong reading them."""


@sources.command("errors")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def sources_errors(state, as_json):
    """Files and messages that could not be stored, with the reason."""
    rows = list(state.assistant().db["quarantine"].rows_where(order_by="last_seen desc"))
    if as_json:
        _echo_json(rows)
        return
    if not rows:
        click.echo("No errors: everything indexed was stored.")
    for row in rows:
        click.echo(f"{row['uri']}\n  {row['source']}: {row['reason']}")


# -- models -----------------------------------------------------------------------------------

@cli.group()
def models():
    """The models that draft and embed text: list them, add a GGUF you own, choose one."""


@models.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def models_list(state, as_json):
    """Every model the assistant can use, and which ones draft and embed (marked *)."""
    from assistant.config import Config
    from assistant.generation.catalog import all_models

    config = Config.load(state.home)
    rows = [
        {"name": m.name, "role": m.role, "origin": m.origin, "installed": m.installed(),
         "default": m.name == (config.embedding_backend if m.role == "embedding" else config.generator), "file": m.path or m.file, "install": m.install}
        for m in all_models(config)
    ]
    if as_json:
        _echo_json(rows)
        return
    for row in rows:
        mark = "*" if row["default"] else " "
        status = "installed" if row["installed"] else f"missing: run `{row['install']}`"
        click.echo(f"{mark} {row['name']:<28} {row['role']:<10} {row['origin']:<9} {status}")


@models.command("add")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--name", help="Name to use it by (default: from the file name).")
@click.option("--role", type=click.Choice(["chat", "completion", "embedding"]), default="chat", show_default=True,
              help="chat for instruction-tuned models with a chat template; completion for base models; "
                   "embedding for a sentence-embedding model that indexes and searches.")
@click.option("--context", default=4096, show_default=True, help="Context window to open, in tokens.")
@click.option("--query-prefix", default="", help="Embedding models: text put before each question.")
@click.option("--document-prefix", default="", help="Embedding models: text put before each stored passage.")
@click.option("--use", "use_it", is_flag=True, help="Also draft (or, for --role embedding, embed) with it.")
@click.pass_obj
def models_add(state, path, name, role, context, query_prefix, document_prefix, use_it):
    """Add a GGUF file you own (checked with llama.cpp, its sha256 recorded)."""
    from assistant.config import Config
    from assistant.generation.catalog import add_model

    home = state.home
    entry = add_model(home, Config.load(home), path, name=name, role=role, context=context,
                      prefixes=(query_prefix, document_prefix))
    click.echo(f"Added {entry.name} ({entry.path}, sha256 {entry.sha256[:12]}…)")
    if use_it:
        _use(state, entry.name)


@models.command("use")
@click.argument("name")
@click.pass_obj
def models_use(state, name):
    """Draft with model NAME from `assistant models list` (an embedding model: index and search with it)."""
    _use(state, name)


def _use(state, name: str) -> None:
    from assistant.config import Config
    from assistant.generation.catalog import use_model

    entry = use_model(state.home, Config.load(state.home), name)
    if entry.role != "embedding":
        click.echo(f"Now drafting with {entry.name}")
        return
    click.echo(f"Now embedding with {entry.name}; the next `assistant index` re-embeds what is stored "
               "(search keeps the old vectors until it has finished)")


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def doctor(state, as_json):
    """What talks to the network (nothing by default), where your data lives, how models run on this CPU."""
    from assistant.config import Config
    from assistant.doctor import render, report

    facts = report(state.home, Config.load(state.home))
    if as_json:
        _echo_json(facts)
        return
    for line in render(facts):
        click.echo(line)


# -- plugins ----------------------------------------------------------------------------------

@cli.group()
def plugins():
    """Installed plugins (sources and skills)."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True)
def plugins_list(as_json):
    """Plugins found in the `assistant` entry-point group (set ASSISTANT_PLUGINS to pin which load)."""
    from assistant.plugins import installed_plugins, pinned_names

    pinned = pinned_names()
    rows = [{"name": p.name, "module": p.module, "distribution": p.distribution,
             "loaded": pinned is None or p.name in pinned} for p in installed_plugins()]
    if as_json:
        _echo_json(rows)
        return
    for row in rows:
        click.echo(f"{row['name']:<10} {row['module']:<28} {'loaded' if row['loaded'] else 'not loaded'}")


def _register_plugin_commands() -> None:
    from assistant.plugins import call_each, load_plugin_manager

    try:
        pm = load_plugin_manager()
    except UserError as exc:
        click.echo(f"Error: {exc}", err=True)
        return
    for name, reason in pm.failed_plugins.items():
        click.echo(f"Warning: plugin {name!r} failed to load ({reason}); reinstall it or leave it out of "
                   "ASSISTANT_PLUGINS", err=True)
    for name, reason in call_each(pm.hook.register_commands, cli=cli).items():
        click.echo(f"Warning: plugin {name!r} could not add its commands ({reason}); "
                   "reinstall it or leave it out of ASSISTANT_PLUGINS", err=True)


from assistant.cli.daemon import daemon  # noqa: E402  (the group lives in its own module)
from assistant.cli.profile import add_fact_commands  # noqa: E402

add_fact_commands(profile)
from assistant.cli.mcp import mcp  # noqa: E402
from assistant.cli import privacy  # noqa: E402

cli.add_command(daemon)
cli.add_command(mcp)
register_store_commands(cli)
privacy.attach(cli)  # forget, export, history
_register_plugin_commands()

from assistant.cli.tui import tui  # noqa: E402

cli.add_command(tui)
