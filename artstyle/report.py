"""`artstyle report RUN_DIR`: one self-contained HTML page about a training run.

Everything is embedded (images as base64 data URIs, styles inline), so the page can be mailed or
archived alone and opened in any browser; every text from files is escaped.
"""

from __future__ import annotations

import base64
import html
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from artstyle import atomic, explore, tensorfile
from artstyle.errors import ArtstyleError
from artstyle.gan import CHECKPOINT, REPORT, StyleGenerator, plot_runs

#: Sample indices the report's interpolation and arithmetic use (pick others with the CLI).
WALK = (0, 1, 2, 3, 4, 5)
A, B, CS = (0, 1, 2), (3, 4, 5), ((6,), (7,), (8,))

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9em; }
td, th { border: 1px solid #ddd; padding: 0.2em 0.6em; text-align: left; }
figure { margin: 1em 0; } img { max-width: 100%; image-rendering: pixelated; }
figcaption { color: #555; font-size: 0.9em; } .missing { color: #a33; }
"""


@dataclass
class Section:
    """One embedded picture of the report, or why it is missing."""

    key: str
    title: str
    caption: str
    data: bytes = b""
    mime: str = "image/png"
    missing: str = ""


def _table(facts: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in facts.items()
    )
    return f"<table>{rows}</table>"


def _figure_html(fig: Section) -> str:
    title = f"<h2>{html.escape(fig.title)}</h2>"
    if fig.missing:
        return f'{title}<p class="missing" id="{fig.key}">{html.escape(fig.missing)}</p>'
    src = f"data:{fig.mime};base64,{base64.b64encode(fig.data).decode('ascii')}"
    return (
        f'{title}<figure id="{fig.key}"><img alt="{html.escape(fig.title)}" src="{src}">'
        f"<figcaption>{html.escape(fig.caption)}</figcaption></figure>"
    )


def _render(key: str, title: str, caption: str, make: Callable[[], explore.View]) -> Section:
    """Render one view; a missing input (no log, no discriminator) becomes a note, not a failure."""
    try:
        data, mime = explore.to_png(make())
    except ArtstyleError as exc:
        return Section(key, title, caption, missing=f"not available: {exc}")
    return Section(key, title, caption, data, mime)


def _facts(run_dir: Path, gen: StyleGenerator) -> dict[str, Any]:
    """The model card, or the checkpoint's progress facts for a run that is still training."""
    if gen.card:
        return {k: v for k, v in gen.card.items() if k not in ("hyperparameters", "description")}
    ckpt = run_dir / CHECKPOINT
    meta = tensorfile.load(ckpt)[1] if ckpt.exists() else {}
    return {"weights": gen.source.name, **{k: v for k, v in meta.items() if k != "config"}}


def build_report(run_dir: str | Path, *, count: int = 64, seed: int = 0) -> str:
    """The HTML page: card, settings, samples, curves, interpolation, arithmetic, activations."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ArtstyleError(f"{run_dir}: no such run folder")
    gen = StyleGenerator.from_pretrained(run_dir, device="cpu")
    count = max(count, max(*WALK, *A, *B, *(i for c in CS for i in c)) + 1)
    walk = ", ".join(map(str, WALK))
    figures = [
        _render(
            "samples", "Samples", f"{count} samples (seed {seed}) with their indices.",
            lambda: explore.sample_grid(gen, count, seed),
        ),
        _render(
            "curves", "Training curves", "From log.csv (and eval.csv when present).",
            lambda: plot_runs([run_dir]),
        ),
        _render(
            "interpolation", "Latent interpolation",
            f"Spherical walks between samples {walk}; each row ends where the next starts, the "
            "last wraps back to the first.",
            lambda: explore.interpolation_grid(gen, WALK, 8, seed=seed, count=count),
        ),
        _render(
            "arithmetic", "Vector arithmetic",
            f"mean(z of {list(A)}) - mean(z of {list(B)}) + z_c for c in {[c[0] for c in CS]}.",
            lambda: explore.arithmetic_figure(gen, A, B, CS, seed=seed, count=count),
        ),
        _render(
            "activations", "Discriminator activations",
            "D's feature maps for sample 0 and guided-backprop reconstructions of its most "
            "active units.",
            lambda: explore.activation_figure(
                explore.load_discriminator(run_dir), gen.decode(gen.latents(count, seed)[:1])[0]
            ),
        ),
    ]  # fmt: skip
    config = gen.config.flat()
    description = gen.card.get("description", "")
    stamp = time.strftime("%Y-%m-%d %H:%M %Z")
    body = [
        f"<h1>artstyle run {html.escape(run_dir.name)}</h1>",
        f"<p>{html.escape(str(run_dir.resolve()))} · written {stamp}</p>",
        f"<p>{html.escape(str(description))}</p>" if description else "",
        "<h2>Model card</h2>",
        _table(_facts(run_dir, gen)),
        "<h2>Settings</h2>",
        _table(config),
        *(_figure_html(f) for f in figures),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>artstyle report: {html.escape(run_dir.name)}</title><style>{_CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def write_report(
    run_dir: str | Path, out: str | Path | None = None, *, count: int = 64, seed: int = 0
) -> Path:
    """Write the report atomically (default `RUN_DIR/report.html`) and return its path."""
    path = Path(out) if out is not None else Path(run_dir) / REPORT
    atomic.write_text(path, build_report(run_dir, count=count, seed=seed))
    return path
