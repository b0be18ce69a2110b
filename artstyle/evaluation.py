"""Every figure of a generator against its paintings, in one call (what `artstyle evaluate` prints
and a model card keeps): the style gap, Inception KID, VGG-KID and the memorisation ratio."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from artstyle.errors import ArtstyleError
from artstyle.gan import inception
from artstyle.gan.data import PaintingSet
from artstyle.gan.generator import StyleGenerator
from artstyle.gan.metrics import Evaluation, Reference, evaluate
from artstyle.style_gap import StyleGap, style_gap


@dataclass(frozen=True)
class Measures:
    """The figures of one generator; Inception KID is None where its extra is not installed."""

    vgg: Evaluation
    gap: StyleGap
    inception_kid: tuple[float, float] | None

    def card_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {**self.gap.card_fields(), **self.vgg.card_fields()}
        if self.inception_kid is not None:
            fields["inception_kid_x1000"] = round(self.inception_kid[0], 1)
            fields["inception_kid_x1000_std"] = round(self.inception_kid[1], 1)
            fields["inception_kid_size"] = inception.KID_SIZE
        return fields


class Evaluator:
    """Scores generators against one folder of paintings; the paintings' features are computed
    once and shared by every generator scored (a model and its baseline)."""

    def __init__(self, paintings: PaintingSet, device: str = "cpu") -> None:
        self.paintings = paintings
        self.device = device
        self._vgg: Reference | None = None
        self._inception: Any = None  # features, or the ArtstyleError saying why there are none

    def inception_reference(self) -> Any:
        if self._inception is None:
            try:
                self._inception = inception.inception_features(self.paintings.images, self.device)
            except ArtstyleError as exc:
                self._inception = exc
        return self._inception

    def __call__(self, generator: StyleGenerator, n: int = 64, seed: int = 0) -> Measures:
        if self._vgg is None:
            self._vgg = Reference.of(self.paintings, generator.device)
        vgg = evaluate(generator, self._vgg, n=n, seed=seed)
        gap = style_gap(generator, self.paintings.files, n=n, seed=seed)
        reference = self.inception_reference()
        kid = None
        if not isinstance(reference, ArtstyleError):
            samples = generator.sample(n, seed)
            kid = inception.inception_kid(
                inception.inception_features(samples, self.device), reference, seed
            )
        return Measures(vgg, gap, kid)

    @property
    def inception_problem(self) -> str | None:
        """Why Inception KID is missing, if it is."""
        ref = self._inception
        return str(ref) if isinstance(ref, ArtstyleError) else None
