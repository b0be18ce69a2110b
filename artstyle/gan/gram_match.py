"""Gram feature matching: a generator loss on the statistics the style stage consumes.

The style stage sees a style batch only through the mean of its Gram matrices at the style
layers (see `artstyle.style_gap`). A GAN alone learns those statistics slowly and loosely on a
few hundred paintings, so the generator may also be pulled towards them directly: the loss is
`sum_l ||M_l - T_l||^2 / ||T_l||^2`, with `T_l` the mean Gram of all the training images and `M_l`
the mean Gram of the generated batch (feature matching, Salimans et al. 2016, on Gram matrices as
in texture networks, Ulyanov et al. 2016).

With a small batch, `M_l` is noisy and the squared error would also punish the batch for being
diverse (its expectation adds the variance of `M_l`). So the error uses a running mean of `M_l`
over the last steps and only the gradient passes through the current batch: the mean statistics
are pulled to the target, the spread between samples is left to the adversarial loss. Inception
KID, which shares nothing with VGG, stays the independent judge of the result.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from artstyle.backbone import PRESETS, VGGFeatures, gram
from artstyle.images import signed_to_unit


def matched_layers(preset: str) -> tuple[str, ...]:
    """The layers of a `TrainConfig.gram_layers` choice."""
    if preset == "both":
        return PRESETS["ast-gan"].style + PRESETS["gatys"].style
    return PRESETS[preset].style


class GramMatch:
    """The target Gram matrices of a painting set and the running mean of the generated ones."""

    def __init__(
        self,
        paintings: Sequence[torch.Tensor],
        device: torch.device,
        layers: Sequence[str] = PRESETS["ast-gan"].style,
        decay: float = 0.9,
        chunk: int = 32,
    ) -> None:
        """`paintings`: the training paintings as uint8 (3, h, w), at the scale G learns; those
        of one shape go through the network together, `chunk` at a time. `layers`: the VGG19
        layers whose Gram matrices are matched."""
        self.net = VGGFeatures(layers).to(device)
        self.decay = decay
        by_shape: dict[tuple[int, ...], list[torch.Tensor]] = {}
        for painting in paintings:
            by_shape.setdefault(tuple(painting.shape), []).append(painting)
        sums: list[torch.Tensor] = []
        with torch.inference_mode():
            for group in by_shape.values():
                for start in range(0, len(group), chunk):
                    x = torch.stack(group[start : start + chunk]).to(device).float().div(255)
                    grams = [gram(f, self.net.unit).sum(0).double() for f in self.net(x)]
                    sums = grams if not sums else [s + g for s, g in zip(sums, grams)]
        self.targets = [(s / len(paintings)).float() for s in sums]
        self.running: list[torch.Tensor] | None = None

    def loss(self, fake: torch.Tensor) -> tuple[torch.Tensor, float]:
        """Loss on generated images in -1..1, and the running relative error (mean over layers);
        in fp32 even where the network runs in bf16 or fp16 (under autocast).

        The loss's value is not the error; its gradient is that of the squared relative error
        with the running mean in place of the noisy batch mean.
        """
        grams = [gram(f, self.net.unit).mean(0) for f in self.net(signed_to_unit(fake))]
        if self.running is None:
            self.running = [g.detach().clone() for g in grams]
        else:
            for r, g in zip(self.running, grams):
                r.lerp_(g.detach(), 1 - self.decay)
        loss = grams[0].new_zeros(())  # fp32, as the Gram matrices are
        errors = []
        for g, r, t in zip(grams, self.running, self.targets):
            norm2 = t.pow(2).sum()
            loss = loss + 2 * ((r - t) * g).sum() / norm2
            errors.append(float(((r - t).pow(2).sum() / norm2).sqrt()))
        return loss, sum(errors) / len(errors)

    def state(self) -> dict[str, torch.Tensor]:
        """The running means, for a checkpoint (the targets are recomputed from the data)."""
        return {f"gram_running.{i}": r for i, r in enumerate(self.running or [])}

    def load_state(self, tensors: dict[str, torch.Tensor]) -> None:
        keys = sorted(k for k in tensors if k.startswith("gram_running."))
        # a retune to other layers starts the running means afresh from the next samples
        if len(keys) == len(self.targets):
            device = self.targets[0].device
            self.running = [tensors[f"gram_running.{i}"].to(device) for i in range(len(keys))]
