"""The studio's work: style batches, a queue of photos painted one after another by a background
worker, cancel, and a gallery of results on disk.

Everything the web page can do is a method here, so the web layer (`studio.server`) stays thin
and this is tested without a browser. Files live under one output folder, with names made here:

    OUT/uploads/ID.png    photos and paintings as uploaded (decoded, re-encoded)
    OUT/results/ID.png    finished paintings
    OUT/results/ID.json   what made each one (style, settings, photo): the gallery
    OUT/styles/ID.json    a result's learned style batch as a style file (`gan.steering`)

Style batches drawn by steering ("more like these", "between these two") are kept in memory by
id; a result records its batch as a style file, so it can be painted again after a restart.
"""

from __future__ import annotations

import base64
import io
import json
import queue
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from PIL import Image
from pydantic import BaseModel

from artstyle import atomic
from artstyle.config import (
    MAX_STYLES,
    NUM_STYLES,
    PipelineConfig,
    SteeringConfig,
    TransferConfig,
    with_overrides,
)
from artstyle.errors import ArtstyleError
from artstyle.gan import (
    StyleBatch,
    StyleGenerator,
    load_style,
    read_card,
    resolve_model,
    save_style,
    shipped_models,
)
from artstyle.gan import between as latents_between
from artstyle.gan import more_like as latents_like
from artstyle.images import DEFAULT_MAX_PIXELS, read_image, to_pil, write_image
from artstyle.nst import KEEP, StyleTransfer, from_mask, read_mask
from artstyle.pipeline import StylePipeline
from artstyle.settings import by_flat_name, per_photo_names, settings_of, settle


def page_settings(model: type[BaseModel]) -> tuple[str, ...]:
    """The settings the page offers, by flat name: those `model` tags for the studio
    (`Field(json_schema_extra={"studio": True})`); the rest keep the library's defaults."""
    tagged = [s for s in settings_of(model) if s.extra("studio")]
    return tuple(s.flat for s in sorted(tagged, key=lambda s: not s.per_photo))


PAGE_SETTINGS = page_settings(PipelineConfig)
#: The settings that may change from one photo to the next (the others make a style anew).
PER_PHOTO = per_photo_names(PipelineConfig)
#: Largest upload accepted, in MB, and most photos waiting or being painted, unless told.
MAX_UPLOAD_MB, MAX_QUEUE = 25, 32
#: Style transfers kept ready (their Gram targets computed), most recently used last.
CACHED_STYLES = 4
#: Steered style batches kept by id (latents only: a few kB each), most recent last.
KEPT_BATCHES = 64

State = Literal["queued", "running", "done", "failed", "cancelled"]


class Cancelled(Exception):
    """Raised inside a transfer's callback to stop it."""


def defaults() -> dict[str, Any]:
    """The page's controls with their defaults, from the settings models (written once there)."""
    settings = by_flat_name(PipelineConfig)
    return {
        name: {"default": settings[name].default, "about": settings[name].description}
        for name in (*PAGE_SETTINGS, "num_styles")
    }


def steering_defaults() -> dict[str, Any]:
    """The steering controls' defaults and bounds, from `SteeringConfig` (written once there)."""
    fields = SteeringConfig.model_fields
    return {
        name: {"default": f.default, "about": f.description or ""} for name, f in fields.items()
    }


@dataclass(frozen=True)
class StyleChoice:
    """Where a style batch comes from: `picks` of a model's batch (None: all), or uploads."""

    model: str | None = None
    seed: int = 0
    num_styles: int = NUM_STYLES
    picks: tuple[int, ...] | None = None
    uploads: tuple[str, ...] = ()  # upload ids
    batch: str | None = None  # a steered batch's id (instead of the seed's batch)

    def describe(self) -> str:
        if self.uploads:
            return f"{len(self.uploads)} uploaded painting(s)"
        chosen = "all" if self.picks is None else f"{len(self.picks)} picked"
        drawn = f"steered batch {self.batch[:6]}" if self.batch else f"seed {self.seed}"
        return f"{self.model}, {drawn}, {chosen} of {self.num_styles}"


@dataclass
class StudioJob:
    """One photo to paint and where it has got to."""

    id: str
    photo: str  # upload id
    photo_name: str  # shown, never used as a path
    style: StyleChoice
    settings: dict[str, Any]
    state: State = "queued"
    step: int = 0
    steps: int = 0
    losses: dict[str, float] = field(default_factory=dict)
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    error: str | None = None
    preview_step: int = 0
    mask: str | None = None  # upload id of a greyscale mask: the style paints where it is white
    rest: str | None = None  # with a mask, the model that paints the black part (None: the photo)

    def public(self) -> dict[str, Any]:
        """What the page sees: state, progress, timing and, when done, the result's address."""
        now = time.time()
        elapsed = ((self.finished or now) - self.started) if self.started else 0.0
        left = elapsed / self.step * (self.steps - self.step) if self.step and self.steps else None
        return {
            "id": self.id, "photo_name": self.photo_name, "style": self.style.describe(),
            "settings": self.settings, "state": self.state, "step": self.step,
            "steps": self.steps, "losses": self.losses, "elapsed": round(elapsed, 1),
            "left": None if left is None or self.state != "running" else round(left, 1),
            "error": self.error, "preview_step": self.preview_step,
            "regions": self.regions(),
        }  # fmt: skip

    def regions(self) -> str | None:
        """What the mask does, for the page; None without one."""
        if self.mask is None:
            return None
        return f"mask: white {self.style.describe()}, black {self.rest or 'keeps the photo'}"


class Studio:
    """The studio's state and its one background worker."""

    def __init__(
        self,
        out: str | Path,
        models: list[str] | None = None,
        device: str = "auto",
        max_upload_bytes: int = MAX_UPLOAD_MB * 2**20,
        max_queue: int = MAX_QUEUE,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        preview_every: int = 5,
    ) -> None:
        self.out = Path(out)
        self.uploads = self.out / "uploads"
        self.results = self.out / "results"
        self.styles = self.out / "styles"
        for folder in (self.uploads, self.results, self.styles):
            folder.mkdir(parents=True, exist_ok=True)
        self.models = [*shipped_models(), *(models or [])]
        self.device = device
        self.max_upload_bytes = max_upload_bytes
        self.max_queue = max_queue
        self.max_pixels = max_pixels
        self.preview_every = preview_every
        self.jobs: dict[str, StudioJob] = {}
        self.previews: dict[str, bytes] = {}
        self.version = 0  # bumped on every change the page should see
        self._changed = threading.Condition()
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._cancel: set[str] = set()
        self._generators: dict[str, StyleGenerator] = {}
        self._transfers: OrderedDict[tuple[Any, ...], StyleTransfer] = OrderedDict()
        self._batches: OrderedDict[str, tuple[str, StyleBatch]] = OrderedDict()
        self._lock = threading.Lock()  # models and transfers: the worker and page requests
        self._worker = threading.Thread(target=self._work, name="artstyle-studio", daemon=True)
        self._worker.start()

    # --- models and style batches ---------------------------------------------------------

    def generator(self, model: str) -> StyleGenerator:
        """A model the studio offers, loaded once."""
        if model not in self.models:
            raise ArtstyleError(f"unknown model {model!r}; this studio offers {self.models}")
        with self._lock:
            if model not in self._generators:
                self._generators[model] = StyleGenerator.from_pretrained(model, self.device)
            return self._generators[model]

    def model_facts(self, model: str) -> dict[str, Any]:
        """A model card's key facts for the page."""
        card = read_card(resolve_model(model))
        keys = ("images", "iterations", "style_size", "style_gap", "style_gap_ratio",
                "inception_kid_x1000", "training_seconds", "machine")  # fmt: skip
        return {"name": model, **{k: card[k] for k in keys if k in card}}

    def style_batch(self, model: str, seed: int, n: int) -> list[str]:
        """A model's batch as PNG data URLs, the page's grid (seed and size within the
        settings' bounds)."""
        with_overrides(PipelineConfig, None, {"model": model, "seed": seed, "num_styles": n})
        images = self.generator(model).sample(n, seed)
        return [_data_url(to_pil(img)) for img in images]

    # --- steering --------------------------------------------------------------------------

    def source_batch(self, style: StyleChoice) -> tuple[str, StyleBatch]:
        """(model, whole batch) a style choice draws from: its steered batch or its seed's."""
        if style.batch is not None:
            with self._lock:
                if style.batch not in self._batches:
                    raise ArtstyleError(f"no batch {style.batch!r} (drawn before a restart?)")
                return self._batches[style.batch]
        if style.model is None:
            raise ArtstyleError("choose a model to steer its style")
        gen = self.generator(style.model)
        return style.model, StyleBatch.sampled(gen, style.num_styles, style.seed)

    def keep_batch(self, model: str, batch: StyleBatch) -> str:
        """Remember a drawn batch; its id."""
        batch_id = uuid.uuid4().hex[:12]
        with self._lock:
            self._batches[batch_id] = (model, batch)
            while len(self._batches) > KEPT_BATCHES:
                self._batches.popitem(last=False)
        return batch_id

    def more_like(self, style: StyleChoice, steer: SteeringConfig) -> dict[str, Any]:
        """A new batch near the picked images of `style`'s batch: its id and images."""
        model, batch = self.source_batch(style)
        picked = batch.pick(style.picks).picked()
        z = latents_like(picked, steer.num_styles, steer.spread, steer.seed)
        return self._drawn(model, StyleBatch(z, steer.seed + 1))

    def between(
        self, style: StyleChoice, ends: tuple[int, int], steer: SteeringConfig
    ) -> dict[str, Any]:
        """A new batch on the path between two images of `style`'s batch: its id and images."""
        model, batch = self.source_batch(style)
        if not all(0 <= i < len(batch.z) for i in ends):
            raise ArtstyleError(f"between needs two images of 0..{len(batch.z) - 1}, got {ends}")
        if steer.num_styles < 2:
            raise ArtstyleError("a path between two images needs at least 2 of them")
        z = latents_between(batch.z[ends[0]], batch.z[ends[1]], steer.num_styles)
        return self._drawn(model, StyleBatch(z, steer.seed + 1))

    def _drawn(self, model: str, batch: StyleBatch) -> dict[str, Any]:
        images = [_data_url(to_pil(img)) for img in batch.images(self.generator(model))]
        return {"batch": self.keep_batch(model, batch), "model": model, "images": images}

    # --- uploads ----------------------------------------------------------------------------

    def upload(self, data: bytes, name: str) -> str:
        """Keep an uploaded image under a name made here; its id. Read by the project's image
        reader (pixel limit, decompression-bomb guard); one line naming `name` if it is bad."""
        label = Path(name).name or "upload"
        if len(data) > self.max_upload_bytes:
            limit = self.max_upload_bytes / 2**20
            raise ArtstyleError(f"{label}: larger than the upload limit of {limit:.0f} MB")
        upload_id = uuid.uuid4().hex
        raw = self.uploads / f"{upload_id}.upload"
        atomic.write_bytes(raw, data)
        try:
            image = read_image(raw, max_pixels=self.max_pixels)
        except ArtstyleError as exc:
            raise ArtstyleError(f"{label}: {str(exc).split(': ', 1)[-1]}") from None
        finally:
            raw.unlink(missing_ok=True)
        write_image(image, self.uploads / f"{upload_id}.png")
        return upload_id

    def discard(self, upload_ids: list[str]) -> None:
        """Forget uploads no job will use (those of a request refused half-way)."""
        for upload_id in upload_ids:
            self._upload_path(upload_id).unlink()

    # --- jobs -------------------------------------------------------------------------------

    def check(
        self, style: StyleChoice, settings: dict[str, Any], photos: int = 1, paintings: int = 0
    ) -> None:
        """Refuse with one line, before anything is kept or queued, what the studio would not
        paint: unknown settings or values outside the settings' bounds, picks that are not
        images of the batch, more paintings than a style batch holds, a full queue. `photos`
        and `paintings`: how many are about to be uploaded for it."""
        unknown = set(settings) - set(PAGE_SETTINGS)
        if unknown:
            raise ArtstyleError(f"unknown setting(s) {sorted(unknown)}; known: {PAGE_SETTINGS}")
        if style.model is None and not (style.uploads or paintings):
            raise ArtstyleError("choose a model or upload paintings for the style")
        self._config(style, settings)  # one clear line for a bad value
        picks = style.picks
        if picks is not None and not (style.uploads or paintings):
            outside = [i for i in picks if not 0 <= i < style.num_styles]
            if outside or not picks or len(set(picks)) < len(picks):
                raise ArtstyleError(
                    f"picks must be distinct images 0 to {style.num_styles - 1} of the batch "
                    f"(given {len(picks)}, {len(outside)} outside it)"
                )
        if len(style.uploads) + paintings > MAX_STYLES:
            raise ArtstyleError(f"at most {MAX_STYLES} paintings make a style")
        waiting = sum(j.state in ("queued", "running") for j in self.jobs.values())
        if waiting + photos > self.max_queue:
            raise ArtstyleError(
                f"cannot queue {photos} more photo(s): the queue holds at most "
                f"{self.max_queue} and has {waiting}; wait for some to finish or cancel them"
            )

    def submit(
        self,
        photo: str,
        photo_name: str,
        style: StyleChoice,
        settings: dict[str, Any],
        mask: str | None = None,
        rest: str | None = None,
    ) -> StudioJob:
        """Queue a photo (an upload id) for painting; everything is checked now, not later.
        With `mask` (an upload id), the style paints where it is white and `rest` (a model, or
        None: the photo) where it is black."""
        self.check(style, settings)
        for upload_id in (photo, *style.uploads, *([mask] if mask else [])):
            self._upload_path(upload_id)
        if style.batch is not None:
            self.source_batch(style)
        if rest is not None:
            if mask is None:
                raise ArtstyleError("a style for the rest of the photo needs a mask")
            self.generator(rest)
        if mask is not None:
            read_mask(self._upload_path(mask))  # one clear line for a coloured mask
        job = StudioJob(uuid.uuid4().hex[:12], photo, Path(photo_name).name, style, dict(settings))
        job.mask, job.rest = mask, rest
        self.jobs[job.id] = job
        self._queue.put(job.id)
        self._touch()
        return job

    def cancel(self, job_id: str) -> None:
        """Stop a running job at its next step, or drop a queued one."""
        job = self._job(job_id)
        if job.state in ("queued", "running"):
            self._cancel.add(job_id)
            if job.state == "queued":
                job.state = "cancelled"
            self._touch()

    def remake(self, result_id: str) -> StudioJob:
        """Queue a gallery result again, with the photo, style and settings that made it."""
        record = self._record(result_id)
        style = record["style"]
        batch = None
        if style.get("batch"):  # a steered batch: from the result's style file
            model, drawn = load_style(self.styles / f"{result_id}.json")
            batch = self.keep_batch(model, drawn.pick(None))
        choice = StyleChoice(
            model=style["model"], seed=style["seed"], num_styles=style["num_styles"],
            picks=None if style["picks"] is None else tuple(style["picks"]),
            uploads=tuple(style["uploads"]), batch=batch,
        )  # fmt: skip
        return self.submit(
            record["photo"], record["photo_name"], choice, record["settings"],
            record.get("mask"), record.get("rest"),
        )  # fmt: skip

    def gallery(self) -> list[dict[str, Any]]:
        """Finished results, newest first, from the output folder (so they survive a restart)."""
        records = []
        for path in self.results.glob("*.json"):
            try:
                records.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue  # a half-written or foreign file is not a result
        return sorted(records, key=lambda r: r.get("finished", 0), reverse=True)

    def result_path(self, result_id: str) -> Path:
        self._record(result_id)
        return self.results / f"{result_id}.png"

    def result_photo(self, result_id: str) -> Path:
        """The photo a result painted (for a before/after view)."""
        return self._upload_path(self._record(result_id)["photo"])

    def result_style_file(self, result_id: str) -> Path:
        """A result's style file (a learned style's latents and picks)."""
        self._record(result_id)
        path = self.styles / f"{result_id}.json"
        if not path.is_file():
            raise ArtstyleError(f"result {result_id!r} was painted with uploaded paintings")
        return path

    def wait_for_change(self, version: int, timeout: float) -> int:
        """Block until the studio changes after `version` (or `timeout`); the new version."""
        with self._changed:
            self._changed.wait_for(lambda: self.version != version, timeout)
            return self.version

    def wait_idle(self, timeout: float = 600) -> None:
        """Until no job is queued or running (tests, scripts)."""
        deadline = time.monotonic() + timeout
        while any(j.state in ("queued", "running") for j in self.jobs.values()):
            if time.monotonic() > deadline:
                raise TimeoutError("the studio's jobs did not finish in time")
            self.wait_for_change(self.version, 0.2)

    def close(self) -> None:
        """Stop the worker after the job it is on (queued jobs are dropped)."""
        for job in self.jobs.values():
            if job.state == "queued":
                self.cancel(job.id)
        self._queue.put(None)

    # --- the worker -------------------------------------------------------------------------

    def _work(self) -> None:
        while (job_id := self._queue.get()) is not None:
            job = self.jobs[job_id]
            if job_id in self._cancel:
                continue
            job.state, job.started = "running", time.time()
            self._touch()
            try:
                self._paint(job)
                job.state = "done"
            except Cancelled:
                job.state = "cancelled"
            except ArtstyleError as exc:
                job.state, job.error = "failed", str(exc)
            except Exception as exc:
                job.state, job.error = "failed", f"{type(exc).__name__}: {exc}"
            job.finished = time.time()
            self._cancel.discard(job_id)
            self._touch()

    def _paint(self, job: StudioJob) -> None:
        transfer = self._transfer(job.style, job.settings)
        if job.mask is not None:
            mask = read_mask(self._upload_path(job.mask))
            rest = None
            if job.rest is not None:
                other = StyleChoice(job.rest)
                rest = self._transfer(other, job.settings).targets
            names = (job.style.describe(), job.rest or KEEP)
            transfer = transfer.with_regions(from_mask(mask, transfer.targets, rest, names))
        per_photo = {k: v for k, v in job.settings.items() if k in PER_PHOTO}
        cfg = transfer.config.per_photo(**per_photo)
        job.steps = sum(steps for _, steps in cfg.passes())

        def progress(step: int, losses: dict[str, float], image: torch.Tensor) -> None:
            if job.id in self._cancel:
                raise Cancelled
            job.step, job.losses = step, {k: round(v, 4) for k, v in losses.items()}
            if step % self.preview_every == 0 or step == job.steps:
                self.previews[job.id] = _png(to_pil(image.detach().clamp(0, 1).squeeze(0)))
                job.preview_step = step
            self._touch()

        result = transfer.run(self._upload_path(job.photo), progress, **per_photo)
        write_image(result.image, self.results / f"{job.id}.png")
        if not job.style.uploads:
            model, batch = self.source_batch(job.style)
            save_style(self.styles / f"{job.id}.json", model, batch.pick(job.style.picks))
        record = {
            "id": job.id, "photo": job.photo, "photo_name": job.photo_name,
            "style": {**asdict(job.style), "describe": job.style.describe()},
            "settings": job.settings, "finished": time.time(),
            "seconds": round(time.time() - (job.started or time.time()), 1),
            "size": list(result.image.size), "mask": job.mask, "rest": job.rest,
            "regions": job.regions(),
        }  # fmt: skip
        atomic.write_text(self.results / f"{job.id}.json", json.dumps(record, indent=2))

    def _config(self, style: StyleChoice, settings: dict[str, Any]) -> TransferConfig:
        """The settings of a style's stage; a bad value or an unknown model is one line."""
        studio = {"device": self.device, "seed": style.seed}
        if style.model is not None and not style.uploads:
            self.generator(style.model)  # a model this studio offers
            chosen = {**studio, "model": style.model, "num_styles": style.num_styles}
            return settle(PipelineConfig, recipe=chosen, options=settings)
        return settle(TransferConfig, recipe=studio, options=settings)

    def _transfer(self, style: StyleChoice, settings: dict[str, Any]) -> StyleTransfer:
        """The style stage for a batch, its targets computed once and kept for the next photos:
        uploads as they are, a model's picked images through `StylePipeline` (which paints them
        at the scale its generator learned)."""
        fixed = {k: v for k, v in settings.items() if k not in PER_PHOTO}
        key = (style, tuple(sorted(fixed.items())))
        with self._lock:
            if key in self._transfers:
                self._transfers.move_to_end(key)
                return self._transfers[key]
        cfg = self._config(style, fixed)
        if style.uploads:
            transfer = StyleTransfer([self._upload_path(u) for u in style.uploads], cfg)
        else:
            model, batch = self.source_batch(style)
            chosen = with_overrides(PipelineConfig, cfg, {"model": model})
            pipe = StylePipeline(self.generator(model), chosen, batch.pick(style.picks))
            transfer = pipe.transfer
        with self._lock:
            self._transfers[key] = transfer
            while len(self._transfers) > CACHED_STYLES:
                self._transfers.popitem(last=False)
        return transfer

    # --- helpers ----------------------------------------------------------------------------

    def _job(self, job_id: str) -> StudioJob:
        if job_id not in self.jobs:
            raise ArtstyleError(f"no job {job_id!r}")
        return self.jobs[job_id]

    def _record(self, result_id: str) -> dict[str, Any]:
        path = self.results / f"{result_id}.json"
        if not result_id.isalnum() or not path.is_file():
            raise ArtstyleError(f"no result {result_id!r}")
        record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return record

    def _upload_path(self, upload_id: str) -> Path:
        path = self.uploads / f"{upload_id}.png"
        if not upload_id.isalnum() or not path.is_file():
            raise ArtstyleError(f"no upload {upload_id!r}")
        return path

    def _touch(self) -> None:
        with self._changed:
            self.version += 1
            self._changed.notify_all()


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _data_url(image: Image.Image) -> str:
    return "data:image/png;base64," + base64.b64encode(_png(image)).decode()
