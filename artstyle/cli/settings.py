"""A command's settings options, generated from its settings model.

A command names a few curated flags (the settings people reach for); every other setting is
`--set section.field=value` (repeatable) or a `--config FILE.toml`. The flags' types, help and
defaults come from the model, and the command receives the settled model (`settings.settle`:
a `--recipe` where the command has recipes, then the file, then the options). A flag spelling
a setting that has no flag any more is one line naming its new spelling, not click's generic
error.
"""

from __future__ import annotations

import enum
import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin

import typer
from pydantic import BaseModel
from rich.markup import escape
from typer.core import TyperCommand

from artstyle.config import read_toml
from artstyle.errors import ArtstyleError
from artstyle.settings import (
    by_flat_name,
    by_path,
    parse_set,
    parse_value,
    settle,
    shown,
    value_type,
)

R = TypeVar("R")

#: The parameter a decorated command receives its settled settings in.
SETTINGS = "settings"


@dataclass(frozen=True)
class Flag:
    """A curated flag for the setting at `path`. `decls`: its spellings (default `--flat-name`,
    `--flat-name/--no-flat-name` for a switch); `hidden`: kept working for shipped docs but not
    listed; `zero_is_none`: 0 on the command line means no value (None); `also`: paths of
    further settings the flag sets to the same value (`--lr` sets both learning rates); a flag
    for one of them listed after it wins."""

    path: str
    decls: tuple[str, ...] = ()
    help: str = ""
    hidden: bool = False
    zero_is_none: bool = False
    also: tuple[str, ...] = ()


def flag_decls(model: type[BaseModel], flag: Flag) -> tuple[str, ...]:
    setting = by_path(model)[flag.path]
    if flag.decls:
        return flag.decls
    name = "--" + setting.flat.replace("_", "-")
    if value_type(setting.info) is bool:
        return (f"{name}/--no-{name[2:]}",)
    return (name,)


def _option_type(model: type[BaseModel], flag: Flag) -> Any:
    """The option's Python type (None: not given); a choice of words is an Enum for typer."""
    kind = value_type(by_path(model)[flag.path].info)
    if get_origin(kind) is Literal:  # typer offers choices for an Enum
        choices = enum.Enum(flag.path, {str(a): str(a) for a in get_args(kind)}, type=str)  # type: ignore[misc]
        return choices | None
    if kind in (bool, int, float, str):
        return kind | None
    return str | None  # lists and the rest: read as --set reads them


def with_settings(
    model: type[BaseModel],
    flags: Sequence[Flag],
    command: str,
    recipes: Mapping[str, Mapping[str, Any]] | None = None,
    example: str = "schedule.optimizer=adam",
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Decorate a command function that takes `settings: model`: its flags, `--set` and
    `--config` (and `--recipe`, one of `recipes` by name, the first the default) become
    options, and it is called with the settled settings; `example` shows `--set` in the help."""
    options = _SettingsOptions(model, tuple(flags), command, recipes, example)

    def decorate(func: Callable[..., R]) -> Callable[..., R]:
        signature = inspect.signature(func, eval_str=True)
        params = [p for p in signature.parameters.values() if p.name != SETTINGS]
        extra = options.parameters()

        @functools.wraps(func)
        def run(**kwargs: Any) -> R:
            kwargs[SETTINGS] = options.settle(kwargs)
            return func(**kwargs)

        del run.__wrapped__  # typer reads the signature below, not the function's
        run.__signature__ = signature.replace(parameters=[*params, *extra])  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in [*params, *extra]}
        return run

    return decorate


@dataclass(frozen=True)
class _SettingsOptions:
    """The options `with_settings` gives a command (`parameters`), and the settings their
    values make (`settle`)."""

    model: type[BaseModel]
    flags: tuple[Flag, ...]
    command: str
    recipes: Mapping[str, Mapping[str, Any]] | None
    example: str

    @property
    def panel(self) -> str:
        return f"Settings (all of them: artstyle config show {self.command})"

    def parameters(self) -> list[inspect.Parameter]:
        """`--recipe` (where there are recipes), `--config`, `--set`, then the flags."""
        recipe = [self._recipe_option(self.recipes)] if self.recipes else []
        flags = [self._flag_option(index, flag) for index, flag in enumerate(self.flags)]
        return [*recipe, self._config_option(), self._set_option(), *flags]

    def settle(self, kwargs: dict[str, Any]) -> BaseModel:
        """The settings the options in `kwargs` give (taken out of it): the recipe, then the
        file, then `--set` and the flags."""
        config_file = kwargs.pop("_config_file")
        sets = kwargs.pop("_set") or []
        recipe = _recipe(self.recipes, kwargs.pop("_recipe", None))
        options = self._flag_values([kwargs.pop(_flag_name(i)) for i in range(len(self.flags))])
        options.update(parse_set(self.model, text, self.command) for text in sets)
        file = read_toml(config_file) if config_file else None
        return settle(self.model, recipe=recipe, file=file, options=options)

    def _flag_values(self, values: Sequence[Any]) -> dict[str, Any]:
        """The settings the given flags set, by path (a later flag wins)."""
        options: dict[str, Any] = {}
        for flag, value in zip(self.flags, values, strict=True):
            if value is None:
                continue
            if isinstance(value, enum.Enum):  # a choice: as --set reads it (64 -> 64)
                value = parse_value(by_path(self.model)[flag.path].info, value.value)
            if flag.zero_is_none and value == 0:
                value = None
            options.update(dict.fromkeys((flag.path, *flag.also), value))
        return options

    def _recipe_option(self, recipes: Mapping[str, Mapping[str, Any]]) -> inspect.Parameter:
        return _keyword(
            "_recipe",
            str,
            typer.Option(
                next(iter(recipes)),
                "--recipe",
                rich_help_panel=self.panel,
                help=f"starting point for the settings: {' or '.join(recipes)}",
            ),
        )

    def _config_option(self) -> inspect.Parameter:
        return _keyword(
            "_config_file",
            Path | None,
            typer.Option(
                None,
                "--config",
                rich_help_panel=self.panel,
                help="TOML file of settings: tables of `artstyle config show "
                f"{self.command}` (flat names too); the options given here win",
            ),
        )

    def _set_option(self) -> inspect.Parameter:
        return _keyword(
            "_set",
            list[str] | None,
            typer.Option(
                None,
                "--set",
                metavar="SECTION.FIELD=VALUE",
                rich_help_panel=self.panel,
                help=f"any setting, repeatable, e.g. --set {self.example} "
                f"(every one: `artstyle config show {self.command}`)",
            ),
        )

    def _flag_option(self, index: int, flag: Flag) -> inspect.Parameter:
        setting = by_path(self.model)[flag.path]
        about = flag.help or f"{setting.description or setting.path} " + escape(
            f"[default: {shown(setting.default)}]"
        )
        return _keyword(
            _flag_name(index),
            _option_type(self.model, flag),
            typer.Option(
                None,
                *flag_decls(self.model, flag),
                help=about,
                hidden=flag.hidden,
                rich_help_panel=self.panel,
                show_default=False,
            ),
        )


def _flag_name(index: int) -> str:
    """The parameter of the `index`-th flag."""
    return f"_flag_{index}"


def _keyword(name: str, annotation: Any, option: Any) -> inspect.Parameter:
    """A keyword-only parameter whose default is a typer option."""
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=option
    )


def _recipe(
    recipes: Mapping[str, Mapping[str, Any]] | None, name: str | None
) -> Mapping[str, Any] | None:
    if not recipes or name is None:
        return None
    if name not in recipes:
        raise ArtstyleError(f"unknown recipe {name!r}; known: {', '.join(recipes)}")
    return recipes[name]


class SettingsCommand(TyperCommand):
    """A command with settings (`with_settings`): a flag that spells a setting of
    `settings_model` but is not one of the command's options is one line naming `--set`."""

    settings_model: type[BaseModel] | None = None
    settings_name = ""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if self.settings_model is not None:
            refuse_removed_flags(self.params, self.settings_model, args, self.settings_name)
        return super().parse_args(ctx, args)


def refuse_removed_flags(
    params: Sequence[Any], model: type[BaseModel], args: Sequence[str], name: str
) -> None:
    """One error line for the first flag in `args` that names a setting of `model` (its flat
    name, or `--no-` one) without being one of the command's `params`."""
    known = {
        spelling
        for param in params
        for spelling in (*param.opts, *getattr(param, "secondary_opts", []))
    }
    flat = by_flat_name(model)
    for arg in args:
        if arg == "--":
            return
        if not arg.startswith("--"):
            continue
        spelled = arg.split("=", 1)[0]
        if spelled in known:
            continue
        word = spelled[2:].replace("-", "_")
        negated = word.startswith("no_") and word[3:] in flat
        setting = flat.get(word[3:] if negated else word)
        if setting is None:
            continue
        kind = value_type(setting.info)
        value = ("false" if negated else "true") if kind is bool else "VALUE"
        raise ArtstyleError(
            f"{spelled} is now --set {setting.path}={value} "
            f"(`artstyle config show {name}` lists every setting)"
        )
