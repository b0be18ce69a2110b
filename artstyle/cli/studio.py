"""`artstyle studio`: the local web page."""

from __future__ import annotations

import os
import socket
import sys
import webbrowser
from pathlib import Path

import typer

from artstyle.cli.app import EXIT_USAGE, app, console, error_line

LOCAL = {"127.0.0.1", "localhost", "::1"}


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@app.command("studio")
def studio_command(
    out: Path = typer.Option(
        Path("artstyle-studio"), "-o", "--out", help="folder for uploads, results and the gallery"
    ),
    host: str = typer.Option(
        "127.0.0.1",
        help="address to listen on; beyond this machine only "
        "when you say so (anyone who can reach it can use the studio)",
    ),
    port: int = typer.Option(0, help="port (0: a free one)"),
    model: list[str] = typer.Option(
        [], "--model", help="also offer this generator (a .safetensors or a run folder); repeat"
    ),
    device: str = typer.Option("auto", help="auto, cpu or cuda"),
    max_upload_mb: int = typer.Option(25, min=1, help="largest upload accepted, in MB"),
    browser: bool = typer.Option(True, "--browser/--no-browser", help="open the page"),
) -> None:
    """A local web page: pick a learned style and its images, drop photos, watch them painted.

    Results and their settings are kept under --out, so the gallery survives a restart.

    Example:
      artstyle studio --model runs/monet
    """
    try:
        import uvicorn

        from artstyle.studio.jobs import Studio
        from artstyle.studio.server import create_app
    except ImportError as exc:
        error_line(
            f"the studio needs the studio extra ({exc.name} is missing): "
            "pip install 'artstyle[studio]'"
        )
        raise typer.Exit(EXIT_USAGE) from None
    if host not in LOCAL:
        console.print(
            f"[yellow]warning:[/] listening on {host}: anyone who can reach this "
            "machine can use the studio and see its gallery",
            highlight=False,
        )
    studio = Studio(
        out, models=[str(m) for m in model], device=device, max_upload_bytes=max_upload_mb * 2**20
    )
    port = port or _free_port(host)
    address = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    console.print(f"artstyle studio at [bold]{address}[/] (results in {out}; Ctrl-C to stop)")
    if browser and (os.environ.get("DISPLAY") or sys.platform in ("darwin", "win32")):
        webbrowser.open(address)
    try:
        uvicorn.run(create_app(studio), host=host, port=port, log_level="warning")
    finally:
        studio.close()
