"""Settings in sections: the machinery every settings model shares.

A settings model groups its fields into sections (nested models, `Section`) whose grouping is
their meaning: which settings may change from one photo to the next follows from the section
(`Section.per_photo`), and which training settings a resumed run may change (`Section.resumable`)
or must keep (`Section.architecture`, or a field tagged "architecture"), not from lists of names
kept elsewhere. Each setting has

- a path, `section.field` (`weights.style`): how `--set` and a TOML file's tables name it;
- a flat name, unique in its model (`style_weight`): how keyword arguments
  (`TransferConfig(style_weight=...)`, `run(photo, steps=100)`), the studio's requests and the
  flat files written before sections existed name it. It is the field's name unless the field
  says otherwise (`Field(json_schema_extra={"flat": ...})`).

`nest` turns flat, dotted or sectioned data into the sectioned form (sectioned models do it on
every validation, so old flat files still load), `settle` layers a recipe, a file and the
options given in that order of precedence, and `parse_set` reads one `--set path=value`.
A model without sections (a flat model) works with all of them as it is.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import NoneType, UnionType
from typing import Any, ClassVar, Literal, Self, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic.fields import FieldInfo

from artstyle.errors import ArtstyleError

M = TypeVar("M", bound=BaseModel)


class Section(BaseModel):
    """A group of settings that belong together; strict and frozen like every settings model.

    `per_photo`: the section's settings may change from one photo to the next (per call, or per
    request in the studio); the others are fixed when the work that depends on them starts.
    `resumable`: they decide only how long a training run goes and what it records, so a
    resumed run may change them; `architecture`: they shape the networks and the data they
    learn from, so no resumed run may change them (a single field says so by its tag:
    `Field(json_schema_extra={"architecture": True})`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    per_photo: ClassVar[bool] = False
    resumable: ClassVar[bool] = False
    architecture: ClassVar[bool] = False

    @classmethod
    def note(cls) -> str:
        """What `artstyle config show` says of the section beside its heading."""
        return "" if cls.per_photo else "fixed once the work starts"


class Sectioned(BaseModel):
    """A settings model made of sections that also reads flat or dotted names (`nest`)."""

    @model_validator(mode="before")
    @classmethod
    def _nest(cls, data: Any) -> Any:
        return nest(cls, data) if isinstance(data, Mapping) else data

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with `update` (flat names, paths or sections, as `nest` reads them) on top;
        unvalidated, as pydantic's."""
        if update:
            update = {
                key: getattr(self, key).model_copy(update=value, deep=deep)
                if isinstance(value, Mapping) and isinstance(getattr(self, key, None), Section)
                else value
                for key, value in nest(type(self), update).items()
            }
        return super().model_copy(update=update, deep=deep)


def section_of(info: FieldInfo) -> type[Section] | None:
    """The section a field holds (None for a plain setting)."""
    annotation = info.annotation
    if isinstance(annotation, type) and issubclass(annotation, Section):
        return annotation
    return None


@dataclass(frozen=True)
class Setting:
    """One setting of a model: where it lives and what it says about itself."""

    path: str  # "weights.style"
    flat: str  # "style_weight"
    info: FieldInfo
    section: type[Section] | None  # the section holding it; None at the top level

    @property
    def per_photo(self) -> bool:
        return self.section is not None and self.section.per_photo

    @property
    def resumable(self) -> bool:
        return self.section is not None and self.section.resumable

    @property
    def architecture(self) -> bool:
        return bool(self.section is not None and self.section.architecture) or bool(
            self.extra("architecture")
        )

    @property
    def default(self) -> Any:
        return self.info.get_default(call_default_factory=True)

    @property
    def description(self) -> str:
        return self.info.description or ""

    def extra(self, key: str) -> Any:
        """A tag of the field (`Field(json_schema_extra={key: ...})`), e.g. "studio"."""
        extra = self.info.json_schema_extra
        return extra.get(key) if isinstance(extra, dict) else None


@functools.cache
def settings_of(cls: type[BaseModel]) -> tuple[Setting, ...]:
    """Every setting of `cls`, sections' fields in their section's order."""
    return tuple(_settings(cls, "", None))


def _settings(cls: type[BaseModel], prefix: str, owner: type[Section] | None) -> Iterator[Setting]:
    for name, info in cls.model_fields.items():
        section = section_of(info)
        if section is not None:
            yield from _settings(section, f"{prefix}{name}.", section)
        else:
            extra = info.json_schema_extra
            flat = extra.get("flat", name) if isinstance(extra, dict) else name
            yield Setting(prefix + name, str(flat), info, owner)


@functools.cache
def by_flat_name(cls: type[BaseModel]) -> dict[str, Setting]:
    """The settings of `cls` by flat name (unique: a model whose flat names clash is refused)."""
    index: dict[str, Setting] = {}
    for setting in settings_of(cls):
        if setting.flat in index:
            raise TypeError(
                f"{cls.__name__}: {setting.path} and {index[setting.flat].path} share the flat "
                f"name {setting.flat!r}"
            )
        index[setting.flat] = setting
    return index


@functools.cache
def by_path(cls: type[BaseModel]) -> dict[str, Setting]:
    return {s.path: s for s in settings_of(cls)}


def given_settings(
    cls: type[BaseModel], data: Mapping[str, Any], prefix: str = ""
) -> Iterator[tuple[str, Setting | None]]:
    """(path, its setting or None if `cls` has none there) of each value in sectioned `data`."""
    paths = by_path(cls)
    for key, value in data.items():
        path = prefix + key
        if path in paths:
            yield path, paths[path]
        elif isinstance(value, Mapping) and any(p.startswith(path + ".") for p in paths):
            yield from given_settings(cls, value, path + ".")
        else:
            yield path, None


def per_photo_names(cls: type[BaseModel]) -> frozenset[str]:
    """Flat names of the settings that may change from one photo to the next."""
    return frozenset(s.flat for s in settings_of(cls) if s.per_photo)


def resumable_names(cls: type[BaseModel]) -> frozenset[str]:
    """Flat names of the settings a resumed run may change (those of resumable sections)."""
    return frozenset(s.flat for s in settings_of(cls) if s.resumable)


def architecture_names(cls: type[BaseModel]) -> frozenset[str]:
    """Flat names of the settings no resumed run may change (architecture sections' and
    fields')."""
    return frozenset(s.flat for s in settings_of(cls) if s.architecture)


def sections(cls: type[BaseModel]) -> list[tuple[str, str, bool, list[Setting]]]:
    """(name, what it holds, per photo, its settings) of each section of `cls` in order; a
    flat model's settings are one section named "" (as are top-level settings of a sectioned
    one)."""
    out: dict[str, tuple[str, str, bool, list[Setting]]] = {}
    for setting in settings_of(cls):
        name = setting.path.rpartition(".")[0]
        if name not in out:
            owner = setting.section
            about = (owner.__doc__ or "").strip().split("\n\n")[0] if owner else ""
            out[name] = (name, " ".join(about.split()), setting.per_photo, [])
        out[name][3].append(setting)
    return list(out.values())


# --- sectioned data ---------------------------------------------------------------------------


def nest(cls: type[BaseModel], data: Mapping[str, Any]) -> dict[str, Any]:
    """`data` in `cls`'s sectioned form: a flat name goes to its section (`style_weight` ->
    `weights.style`), a dotted path to its place, a section's table (or a section) stays one,
    merged with the rest. Unknown names stay where they are, for validation to name them."""
    out: dict[str, Any] = {}
    flat = by_flat_name(cls)
    for key, value in data.items():
        info = cls.model_fields.get(key)
        section = section_of(info) if info is not None else None
        if section is not None:
            if isinstance(value, BaseModel):
                value = value.model_dump(exclude_unset=True)
            if isinstance(value, Mapping):
                value = nest(section, value)
            _put(out, [key], value)
        elif info is not None:
            out[key] = value
        elif "." in key:
            _put(out, key.split("."), value)
        elif key in flat:
            _put(out, flat[key].path.split("."), value)
        else:
            out[key] = value
    return out


def _put(out: dict[str, Any], path: list[str], value: Any) -> None:
    """Set `out[a][b]...` = value, merging tables already there."""
    *parents, last = path
    for name in parents:
        if not isinstance(out.get(name), dict):
            out[name] = {}
        out = out[name]
    if isinstance(value, Mapping) and isinstance(out.get(last), dict):
        out[last] = _merged(out[last], value)
    else:
        out[last] = dict(value) if isinstance(value, Mapping) else value


def _merged(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        _put(out, [key], value)
    return out


def flatten(cls: type[BaseModel], data: Mapping[str, Any] | BaseModel) -> dict[str, Any]:
    """Settings by flat name, in `cls`'s order: all of a model's (as JSON values), or those
    given in flat, dotted or sectioned `data`: the form files written before sections keep."""
    if isinstance(data, BaseModel):
        given: Mapping[str, Any] = data.model_dump(mode="json")
    else:
        given = nest(cls, data)
    out: dict[str, Any] = {}
    for setting in settings_of(cls):
        value: Any = given
        for name in setting.path.split("."):
            if not isinstance(value, Mapping) or name not in value:
                break
            value = value[name]
        else:
            out[setting.flat] = value
    return out


def project(cls: type[BaseModel], data: Mapping[str, Any]) -> dict[str, Any]:
    """The part of sectioned `data` that `cls` has (a `PipelineConfig`'s settings as a
    `TransferConfig`'s: its model and batch size left out)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        info = cls.model_fields.get(key)
        if info is None:
            continue
        section = section_of(info)
        out[key] = project(section, value) if section and isinstance(value, Mapping) else value
    return out


def explicit(config: BaseModel, cls: type[BaseModel] | None = None) -> dict[str, Any]:
    """The settings of `config` that were set explicitly, sectioned (only those `cls` has)."""
    data = config.model_dump(exclude_unset=True)
    return project(cls, data) if cls is not None else data


Layer = Mapping[str, Any] | BaseModel | None


def settle(
    cls: type[M],
    *,
    recipe: Layer = None,
    file: Layer = None,
    options: Layer = None,
) -> M:
    """The settings of a command, one rule for every command and the studio: `cls`'s defaults,
    then a recipe (a named set of settings), then a settings file, then the options given (the
    curated flags and `--set`), each later one winning setting by setting. Each layer may be
    flat, dotted or sectioned (`nest`); a model contributes what was set explicitly in it.
    Bad values are one error line."""
    data: dict[str, Any] = {}
    for layer in (recipe, file, options):
        if layer is None:
            continue
        given = explicit(layer, cls) if isinstance(layer, BaseModel) else nest(cls, layer)
        data = _merged(data, given)
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise settings_error(exc) from None


def settings_error(exc: ValidationError) -> ArtstyleError:
    """One line naming every bad setting, for people (the CLI prints it; the API raises it)."""
    # a check over several settings (a model validator) has no location: its message names them
    problems = "; ".join(
        ": ".join(filter(None, [".".join(map(str, e["loc"])), e["msg"]]))
        for e in exc.errors(include_url=False)
    )
    name = exc.title.removesuffix("Config").removesuffix("Settings").lower()  # SettleSettings
    return ArtstyleError(f"bad {name} settings: {problems}")


# --- one setting from text ----------------------------------------------------------------------


def parse_set(cls: type[BaseModel], text: str, command: str = "") -> tuple[str, Any]:
    """`section.field=value` as (path, value): the value read for the field's type (comma-
    separated for a list, `none` for no value where the setting allows it; numbers, words and
    true/false as pydantic reads them when the settings are made). An unknown name is one
    line naming the closest ones."""
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ArtstyleError(f"--set {text!r}: expected SECTION.FIELD=VALUE, e.g. weights.style=1e5")
    paths = by_path(cls)
    if name not in paths:
        raise ArtstyleError(unknown_setting(cls, name, command))
    return name, parse_value(paths[name].info, raw)


def unknown_setting(cls: type[BaseModel], name: str, command: str = "") -> str:
    """One line for a setting `cls` does not have, naming the closest ones."""
    paths = by_path(cls)
    flat = by_flat_name(cls)
    if name in flat:  # a flat name: the path it has now
        close = [flat[name].path]
    else:
        close = difflib.get_close_matches(name, list(paths), n=3, cutoff=0.5)
        close += [flat[f].path for f in difflib.get_close_matches(name, list(flat), cutoff=0.6)]
        close = list(dict.fromkeys(close))[:3]
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    every = f" (`artstyle config show {command}` lists every setting)" if command else ""
    return f"unknown setting {name!r}{hint}{every}"


def parse_value(info: FieldInfo, raw: str) -> Any:
    """Text for a field: `none` -> None where allowed, a comma-separated list for a list."""
    text = raw.strip()
    args = _union_args(info.annotation)
    if text.lower() in ("none", "null") and NoneType in args:
        return None
    if any(get_origin(a) is list for a in args):
        return [t.strip() for t in text.split(",") if t.strip()]
    for arg in args:  # a choice of numbers (`Literal[64, 128]`): the one spelled so
        if get_origin(arg) is Literal:
            for choice in get_args(arg):
                if str(choice) == text:
                    return choice
    return text


def _union_args(annotation: Any) -> tuple[Any, ...]:
    if get_origin(annotation) in (Union, UnionType):
        return get_args(annotation)
    return (annotation,)


def value_type(info: FieldInfo) -> Any:
    """The field's type without None (`int | None` -> int)."""
    args = [a for a in _union_args(info.annotation) if a is not NoneType]
    return args[0] if len(args) == 1 else info.annotation


def shown(value: Any) -> str:
    """A default as people write it: none, true/false, lists comma-separated."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | tuple):
        return ",".join(map(str, value))
    return str(value)
