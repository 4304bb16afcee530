"""``licscan mcp``: serve the check_code tool to coding agents over MCP stdio."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from licscan.cli.app import app


@app.command("mcp")
def command(
    index: Annotated[Optional[str], typer.Option(
        "--index", "-i", envvar="LICSCAN_INDEX",
        help="Index file (default: `index` in .licscan.toml or pyproject tool.licscan).")] = None,
    project_license: Annotated[Optional[str], typer.Option(
        help="Your project's SPDX license, for verdicts (default: the config, else detected); "
             "check_code's project_license argument overrides it.")] = None,
    profile: Annotated[Optional[str], typer.Option(
        help="source, binary (default) or network; check_code's profile argument overrides it.")] = None,
) -> None:
    """Serve the check_code tool to coding agents over MCP (stdio)."""
    from licscan.config import resolve_index
    from licscan.integrations.mcp import Server, serve

    server = Server(resolve_index(index), project_license=project_license, profile=profile)
    serve(server, sys.stdin.buffer, sys.stdout.buffer)
