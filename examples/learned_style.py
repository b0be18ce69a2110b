"""Paint one photo with the shipped learned style (the default), or any generator you trained.

.venv/bin/python examples/learned_style.py ../shared/data/photos/photo_0021.jpg
.venv/bin/python examples/learned_style.py photo.jpg --model runs/mine --num-styles 16
"""

from __future__ import annotations

import argparse

from artstyle import stylize_result, write_image
from artstyle.config import NUM_STYLES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo")
    parser.add_argument("--model", default="impressionism", help="shipped name, file or run")
    parser.add_argument(
        "--num-styles", type=int, help=f"generated style images (default {NUM_STYLES})"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--out", default="out/learned_style.png")
    parser.add_argument("--size", type=int, help="longest side of the output (default 512)")
    parser.add_argument("--steps", type=int, help="steps at full size (default 10)")
    args = parser.parse_args()
    given = (("size", args.size), ("steps", args.steps), ("num_styles", args.num_styles))
    settings = {k: v for k, v in given if v is not None}
    result = stylize_result(args.photo, model=args.model, seed=args.seed, **settings)
    print(write_image(result.image, args.out, protect=[args.photo]))


if __name__ == "__main__":
    main()
