"""Paint every photo of a folder with one pipeline object: nothing is reloaded between photos.

.venv/bin/python examples/pipeline_loop.py ../shared/data/photos -o out/loop --limit 3
"""

from __future__ import annotations

import argparse
from pathlib import Path

from artstyle import StylePipeline, write_image
from artstyle.images import find_images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("-o", "--out", type=Path, default=Path("out/loop"))
    parser.add_argument("--limit", type=int, default=3, help="paint at most this many photos")
    parser.add_argument("--size", type=int, help="longest side of the output (default 512)")
    parser.add_argument("--steps", type=int, help="steps at full size (default 10)")
    args = parser.parse_args()
    settings = {k: v for k, v in (("size", args.size), ("steps", args.steps)) if v is not None}

    pipe = StylePipeline.from_pretrained("impressionism", seed=0)
    for photo in find_images([args.folder])[: args.limit]:
        result = pipe(photo, **settings)  # the style batch and its targets are reused
        path = write_image(result.image, args.out / f"{photo.stem}.png", protect=[photo])
        print(f"{path}  {result.seconds:.0f} s  style loss {result.losses['style']:.3g}")
    print(write_image(result.style_grid(), args.out / "styles.png"))  # the batch they share


if __name__ == "__main__":
    main()
