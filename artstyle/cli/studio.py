"""`artstyle studio`: the local web page."""

from __future__ import annotations

import os
import socket
import sys
import webbrowser
from pathlib import Path

import typer
from rich.markup import escape

from artstyle.cli.app import EXIT_USAGE, app, console, error_line
from artstyle.studio.jobs import MAX_QUEUE, MAX_UPLOAD_MB

#: One request carries at most this many uploads' worth of bytes (each is limited on its own).
UPLOADS_PER_REQUEST = 10


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
        help="address to listen on; beyond this machine only when you say so, and then "
        "the page asks for the token printed at start",
    ),
    port: int = typer.Option(0, help="port (0: a free one)"),
    model: list[str] = typer.Option(
        [], "--model", help="also offer this generator (a .safetensors or a run folder); repeat"
    ),
    device: str = typer.Option("auto", help="auto, cpu or cuda"),
    max_upload_mb: int = typer.Option(MAX_UPLOAD_MB, min=1, help="largest upload accepted, in MB"),
    max_queue: int = typer.Option(
        MAX_QUEUE, min=1, help="photos waiting or being painted, at most"
    ),
    browser: bool = typer.Option(True, "--browser/--no-browser", help="open the page"),
) -> None:
    """A local web page: pick a learned style and its images, drop photos, watch them painted.

    Results and their settings are kept under --out, so the gallery survives a restart.

    Example:
      artstyle studio --model runs/monet
    """
    try:
        import uvicorn

        from artstyle.studio.guard import LOOPBACK, Door
        from artstyle.studio.jobs import Studio
        from artstyle.studio.server import create_app
    except ImportError as exc:
        error_line(
            f"the studio needs the studio extra ({exc.name} is missing): "
            "pip install 'artstyle[studio]'"
        )
        raise typer.Exit(EXIT_USAGE) from None
    if host not in LOOPBACK:
        console.print(
            f"[yellow]warning:[/] listening on {escape(host)}: anyone who can reach this "
            "machine and has the address below (with its token) can use the studio and see "
            "its gallery",
            highlight=False,
        )
    upload = max_upload_mb * 2**20
    studio = Studio(
        out, models=[str(m) for m in model], device=device, max_upload_bytes=upload,
        max_queue=max_queue,
    )  # fmt: skip
    door = Door.serving(host, port or _free_port(host), UPLOADS_PER_REQUEST * upload + 2**20)
    url = door.url()
    console.print(
        f"artstyle studio at [bold]{escape(url)}[/] (results in {escape(str(out))}; "
        "Ctrl-C to stop)",
        highlight=False,
        soft_wrap=True,
    )
    if browser and (os.environ.get("DISPLAY") or sys.platform in ("darwin", "win32")):
        webbrowser.open(url)
    try:
        uvicorn.run(create_app(studio, door), host=host, port=door.port, log_level="warning")
    finally:
        studio.close()
