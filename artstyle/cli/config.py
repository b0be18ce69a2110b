"""`artstyle config show train|transfer`: every setting of a command with its default and what
it does, section by section (the `--set section.field=value` names and a TOML file's tables)."""

from __future__ import annotations

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from artstyle.cli.app import app
from artstyle.config import PipelineConfig, TrainConfig
from artstyle.errors import ArtstyleError
from artstyle.settings import sections, shown

#: The settings model of each command that has settings.
MODELS: dict[str, type[BaseModel]] = {"train": TrainConfig, "transfer": PipelineConfig}

config_app = typer.Typer(
    help="The settings of each command: `artstyle config show transfer`.",
    no_args_is_help=True,
)
app.add_typer(config_app, name="config")


@config_app.command("show")
def show_command(
    command: str = typer.Argument(..., help=f"the command: {' or '.join(MODELS)}"),
) -> None:
    """Print every setting of COMMAND, grouped by section, with its default and description:
    set one with `--set section.field=value`, or in a `--config` TOML file's [section] table."""
    if command not in MODELS:
        raise ArtstyleError(f"no settings for {command!r}; known: {', '.join(MODELS)}")
    print_settings(MODELS[command], command, Console())


def print_settings(model: type[BaseModel], title: str, console: Console) -> None:
    """`model`'s settings as one table per section (stdout: it is the command's output)."""
    for name, about, _, settings in sections(model):
        heading = f"[bold]{escape(name or title)}[/]"
        if about:
            heading += f": {escape(about)}"
        note = settings[0].section.note() if settings[0].section else ""
        if note:
            heading += f" [dim]({escape(note)})[/]"
        table = Table(title=heading, title_justify="left", show_edge=False, expand=False)
        for column in ("setting", "default", "description"):
            table.add_column(column, overflow="fold")
        for s in settings:
            about = s.description
            if s.architecture and not (s.section and s.section.architecture):
                about += " (fixed for a run)"
            table.add_row(escape(s.path), escape(shown(s.default)), escape(about))
        console.print(table)
        console.print()
