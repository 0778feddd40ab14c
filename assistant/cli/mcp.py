"""`assistant mcp`: serve the person's memory and style to MCP hosts (Claude Desktop, editors) over stdio."""

from __future__ import annotations

import click


@click.command()
@click.pass_obj
def mcp(state):
    """Serve memory search, style notes and drafts to an MCP host over stdio (read-only).

    \b
    A host starts it itself; register this command line in its config:
      {"mcpServers": {"persona-assistant": {"command": "assistant", "args": ["mcp"]}}}
    Tools: search_memory, profile_facts, style_notes, draft_email; resource: assistant://persona[/RECIPIENT].
    Nothing a host sends changes your profile or sends mail.
    """
    from assistant.mcp_server import serve

    serve(state.home)
