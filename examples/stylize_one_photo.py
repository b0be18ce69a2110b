"""Paint one photo with the style of a few explicit paintings, printing the loss as it goes.

    .venv/bin/python examples/stylize_one_photo.py ../shared/data/photos/photo_0003.jpg \
        ../shared/data/paintings/vangogh/vangogh_0001.jpg \
        ../shared/data/paintings/vangogh/vangogh_0002.jpg -o out/photo_0003_vangogh.png
"""

from __future__ import annotations

import argparse

from artstyle import StyleTransfer
from artstyle.images import write_image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo")
    parser.add_argument("styles", nargs="+", help="style images: together they form the batch")
    parser.add_argument("-o", "--out", default="out/stylized.png")
    parser.add_argument("--size", type=int, help="longest side of the output (default 512)")
    parser.add_argument("--steps", type=int, help="L-BFGS evaluations (default 26)")
    args = parser.parse_args()

    # 26 L-BFGS evaluations at 512 px (the defaults); see docs/style_transfer.md
    painter = StyleTransfer(args.styles)
    settings = {k: v for k, v in (("size", args.size), ("steps", args.steps)) if v is not None}

    def report(step: int, losses: dict[str, float], image: object) -> None:
        if step % 10 == 0:
            print(f"step {step:4d}  content {losses['content']:.3g}  style {losses['style']:.3g}")

    result = painter.run(args.photo, report, **settings)
    print(f"{result.seconds:.0f} s -> {write_image(result.image, args.out, protect=[args.photo])}")


if __name__ == "__main__":
    main()
