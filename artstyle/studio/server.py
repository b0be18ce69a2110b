"""The studio's web layer: FastAPI routes over `studio.jobs.Studio`, a page, and server-sent
events for live progress, behind `studio.guard`'s door. Nothing here paints or stores; every
error is one line of JSON."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.resources
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from artstyle.config import MAX_SEED, NUM_STYLES, SHOWN_STYLES, SteeringConfig, with_overrides
from artstyle.errors import ArtstyleError
from artstyle.studio.guard import Door, Guard
from artstyle.studio.jobs import (
    PAGE_SETTINGS,
    Studio,
    StudioJob,
    StyleChoice,
    defaults,
    steering_defaults,
)

PAGE = Path(str(importlib.resources.files("artstyle.studio").joinpath("page")))


def create_app(studio: Studio, door: Door) -> FastAPI:
    """The studio's web app, serving `studio` at `door`'s address only."""
    app = FastAPI(title="artstyle studio", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.studio = studio
    app.add_middleware(Guard, door=door)
    app.exception_handler(ArtstyleError)(_one_line)
    app.exception_handler(RequestValidationError)(_bad_field)
    app.exception_handler(HTTPException)(_http_error)
    app.exception_handler(Exception)(_no_traceback)
    app.include_router(_routes)
    app.mount("/static", StaticFiles(directory=PAGE), name="static")
    return app


async def _one_line(request: Request, exc: ArtstyleError) -> JSONResponse:
    return JSONResponse({"error": str(exc)}, status_code=400)


async def _bad_field(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in exc.errors())
    return JSONResponse({"error": f"bad request: {problems}"}, status_code=422)


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)


async def _no_traceback(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, status_code=500)


def _studio(request: Request) -> Studio:
    """The studio `create_app` gave the app."""
    studio: Studio = request.app.state.studio
    return studio


#: The studio a route serves: the app's (`create_app`).
_AppStudio = Annotated[Studio, Depends(_studio)]

#: The page and the API; `create_app` gives every app these.
_routes = APIRouter()


@_routes.get("/")
async def page() -> FileResponse:
    return FileResponse(PAGE / "index.html")


@_routes.get("/api/setup")
async def setup(studio: _AppStudio) -> dict[str, Any]:
    """The models on offer and the controls' defaults."""
    return {"models": studio.models, "defaults": defaults(), "steering": steering_defaults()}


@_routes.get("/api/models/{name:path}")
async def model(
    studio: _AppStudio, name: str, seed: int = 0, n: int = NUM_STYLES
) -> dict[str, Any]:
    """A model's card facts and a generated batch."""
    if not 1 <= n <= SHOWN_STYLES:
        raise ArtstyleError(f"a batch holds 1 to {SHOWN_STYLES} images")
    images = await asyncio.to_thread(studio.style_batch, name, seed, n)
    return {"facts": studio.model_facts(name), "images": images}


@_routes.post("/api/jobs")
async def submit(
    studio: _AppStudio,
    photos: list[UploadFile] = File(...),
    paintings: list[UploadFile] | None = File(None),
    model: str | None = Form(None),
    seed: int = Form(0),
    num_styles: int = Form(NUM_STYLES),
    picks: str | None = Form(None, description="comma-separated batch indices"),
    settings: str = Form("{}", description="JSON object of the page's settings"),
    batch: str | None = Form(None, description="a steered batch's id"),
    mask: UploadFile | None = File(None, description="greyscale: the style paints white"),
    rest: str | None = Form(None, description="with a mask: the model for black"),
) -> dict[str, Any]:
    """Queue every photo with one style and one set of settings (and a mask, if given);
    all is checked before any upload is kept, so a refused request leaves nothing behind."""
    chosen, picked = _page_choices(settings, picks)
    style = StyleChoice(
        model=None if paintings else model, seed=seed, num_styles=num_styles,
        picks=picked, batch=None if paintings else batch or None,
    )  # fmt: skip
    studio.check(style, chosen, photos=len(photos), paintings=len(paintings or []))
    masked = [mask] if mask is not None and mask.filename else []
    rest = rest or None  # the page sends "" for the photo itself
    jobs = await _queue(studio, photos, paintings or [], masked, style, chosen, rest)
    return {"jobs": [job.public() for job in jobs]}


@_routes.post("/api/jobs/{job_id}/cancel")
async def cancel(studio: _AppStudio, job_id: str) -> dict[str, str]:
    studio.cancel(job_id)
    return {"ok": job_id}


@_routes.get("/api/jobs/{job_id}/preview.png")
async def preview(studio: _AppStudio, job_id: str) -> Response:
    if job_id not in studio.previews:
        raise ArtstyleError(f"no preview for {job_id!r} yet")
    return Response(studio.previews[job_id], media_type="image/png")


@_routes.get("/api/events")
async def events(studio: _AppStudio, request: Request) -> StreamingResponse:
    """Server-sent events: the jobs and the gallery, whenever either changes."""
    return StreamingResponse(_changes(studio, request), media_type="text/event-stream")


@_routes.get("/api/results/{result_id}.png")
async def result(studio: _AppStudio, result_id: str) -> FileResponse:
    path = studio.result_path(result_id)
    return FileResponse(path, media_type="image/png", filename=f"artstyle-{result_id}.png")


@_routes.get("/api/results/{result_id}/photo.png")
async def result_photo(studio: _AppStudio, result_id: str) -> FileResponse:
    return FileResponse(studio.result_photo(result_id), media_type="image/png")


@_routes.get("/api/results/{result_id}/style.json")
async def result_style(studio: _AppStudio, result_id: str) -> FileResponse:
    path = studio.result_style_file(result_id)
    return FileResponse(path, media_type="application/json", filename=f"style-{result_id}.json")


@_routes.post("/api/batches/more")
async def more_like(studio: _AppStudio, payload: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """A new batch near the picked images of a batch (`Studio.more_like`)."""
    style, steer = _steering(payload)
    return await asyncio.to_thread(studio.more_like, style, steer)


@_routes.post("/api/batches/between")
async def between(studio: _AppStudio, payload: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """A new batch on the path between two images of a batch (`Studio.between`)."""
    style, steer = _steering(payload)
    if style.picks is None or len(style.picks) != 2:
        raise ArtstyleError("pick exactly two images to walk between")
    ends = (style.picks[0], style.picks[1])
    return await asyncio.to_thread(studio.between, style, ends, steer)


@_routes.post("/api/results/{result_id}/remake")
async def remake(studio: _AppStudio, result_id: str) -> dict[str, Any]:
    return studio.remake(result_id).public()


def _page_choices(
    settings: str, picks: str | None
) -> tuple[dict[str, Any], tuple[int, ...] | None]:
    """The page's settings (a JSON object) and picked batch indices (comma-separated) as
    values; anything malformed is one line."""
    try:
        chosen = json.loads(settings)
        picked = tuple(int(i) for i in picks.split(",")) if picks else None
    except ValueError:
        raise ArtstyleError("settings or picks are not well formed") from None
    if not isinstance(chosen, dict):
        raise ArtstyleError(f"settings must be an object of {PAGE_SETTINGS}")
    return chosen, picked


async def _queue(
    studio: Studio,
    photos: list[UploadFile],
    paintings: list[UploadFile],
    masked: list[UploadFile],
    style: StyleChoice,
    chosen: dict[str, Any],
    rest: str | None,
) -> list[StudioJob]:
    """Keep the uploads and queue a job per photo, every file read and checked before any job
    is queued; a bad one keeps none."""
    kept: list[str] = []
    try:
        for upload in [*paintings, *photos, *masked]:
            kept.append(await _keep(studio, upload))
        styles = len(paintings)
        style = dataclasses.replace(style, uploads=tuple(kept[:styles]))
        mask_id = kept[-1] if masked else None
        photo_ids = kept[styles : styles + len(photos)]
        return [
            studio.submit(upload_id, photo.filename or "photo", style, chosen, mask_id, rest)
            for upload_id, photo in zip(photo_ids, photos, strict=True)
        ]
    except ArtstyleError:
        studio.discard(kept)
        raise


async def _changes(studio: Studio, request: Request) -> AsyncIterator[str]:
    """The jobs and the gallery as one event, again after each change, until the page goes."""
    version = -1
    while not await request.is_disconnected():
        now = await asyncio.to_thread(studio.wait_for_change, version, 1.0)
        if now != version:
            version = now
            state = {
                "jobs": [j.public() for j in studio.jobs.values()],
                "gallery": studio.gallery(),
            }
            yield f"data: {json.dumps(state)}\n\n"


def _steering(payload: dict[str, Any]) -> tuple[StyleChoice, SteeringConfig]:
    """A steering request: the batch it starts from (`source`: a model, seed and size, or a
    steered batch's id) with the picked indices, and the new batch's settings (bounded by
    `SteeringConfig`); anything malformed is one line."""
    try:
        source = payload.get("source") or {}
        picks = tuple(int(i) for i in payload.get("picks") or ())
        style = StyleChoice(
            model=str(source["model"]), seed=int(source.get("seed", 0)),
            num_styles=int(source.get("num_styles", NUM_STYLES)),
            batch=str(source["batch"]) if source.get("batch") else None, picks=picks,
        )  # fmt: skip
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ArtstyleError("a steering request needs source {model, seed, num_styles or "
                            "batch} and picks (batch indices)") from None  # fmt: skip
    if not 1 <= style.num_styles <= SHOWN_STYLES or not 0 <= style.seed <= MAX_SEED:
        raise ArtstyleError(
            f"a batch holds 1 to {SHOWN_STYLES} images, from a seed of 0 to {MAX_SEED}"
        )
    if not picks or len(picks) > style.num_styles:
        raise ArtstyleError("pick at least one image of the batch")
    fields = {k: payload[k] for k in SteeringConfig.model_fields if k in payload}
    return style, with_overrides(SteeringConfig, None, fields)


async def _keep(studio: Studio, upload: UploadFile) -> str:
    """Read an upload up to the studio's limit (never more into memory) and keep it."""
    data = await upload.read(studio.max_upload_bytes + 1)
    return await asyncio.to_thread(studio.upload, data, upload.filename or "upload")
