"""The typer app: an expected error (`ArtstyleError`, or a bad setting) becomes one red line,
never a traceback."""

from __future__ import annotations

from typing import Any

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from typer.core import TyperGroup

from artstyle.device import keep_freed_memory
from artstyle.errors import ArtstyleError, ImageReadError
from artstyle.settings import settings_error

#: Messages for people go to stderr so that stdout stays clean for paths and tables.
console = Console(stderr=True)

#: Exit codes: 0 all done, 1 some inputs failed (the rest were done), 2 usage or setup error.
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2


def field_help(model: type[BaseModel], field: str, text: str = "") -> str:
    """An option's help: the settings model's description (or `text`) and its default, both
    written once, in the model."""
    info = model.model_fields[field]
    default = "none" if info.default is None else info.default
    return escape(f"{text or info.description or field} [default: {default}]")


def skipped_line(exc: ImageReadError, say: Console = console) -> None:
    """Print one yellow line for an input file that was skipped (unreadable), naming it."""
    say.print(f"[yellow]skipped[/] {escape(str(exc))}", highlight=False)


def error_line(message: str) -> None:
    """Print one red error line on stderr (`message` is text, not markup: brackets in it, such
    as `pip install 'artstyle[studio]'` or a file name, print as they are)."""
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


class _Group(TyperGroup):
    """Runs a command and turns an `ArtstyleError` or a setting out of range (a pydantic
    `ValidationError` from any command's config) into one line and exit code 2."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except ArtstyleError as exc:
            error_line(str(exc))
        except ValidationError as exc:
            error_line(str(settings_error(exc)))
        raise typer.Exit(EXIT_USAGE)


app = typer.Typer(
    name="artstyle",
    cls=_Group,
    help=(
        "Learn a painting style with a DCGAN and paint photos with it.\n\n"
        "Stage 1: `artstyle train paintings/ -o runs/mine` learns a style from a folder.\n\n"
        "Stage 2: `artstyle transfer photo.jpg` paints a photo with a learned (or given) style."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)


def main() -> None:
    """Console-script entry point."""
    keep_freed_memory()
    app()


def task_progress(field: str) -> Progress:
    """A bar over photos or frames with the task's `field` as free text and the time left; it
    leaves stdout alone, which carries only the output paths."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(f"{{task.fields[{field}]}}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        redirect_stdout=False,
    )
