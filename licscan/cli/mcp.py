"""``licscan mcp``: serve the check_code tool to coding agents over MCP stdio."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from licscan.cli.app import app


@app.command("mcp")
def command(
    index: Annotated[Optional[Path], typer.Option(
        "--index", "-i", envvar="LICSCAN_INDEX",
        help="Index file (default: `index` in .licscan.toml or pyproject tool.licscan).")] = None,
) -> None:
    """Serve the check_code tool to coding agents over MCP (stdio)."""
    from licscan.config import resolve_index
    from licscan.integrations.mcp import Server, serve

    server = Server(resolve_index(index))
    serve(server, sys.stdin.buffer, sys.stdout.buffer)
