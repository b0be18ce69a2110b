"""What a training term is, what one step shows it (`Batch`), and the registry of terms."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import torch

from artstyle.config import TrainConfig
from artstyle.gan.registry import Registry
from artstyle.settings import Section

if TYPE_CHECKING:
    from artstyle.gan.train import Run


@dataclass(eq=False)
class Batch:
    """One step's share of the batch, filled in top to bottom as the step goes; the terms read
    it and write their log values to `stats`."""

    #: this rank's real images, latents and (texture arch) local noise
    real: torch.Tensor
    z: torch.Tensor
    noise: torch.Tensor | None
    #: the real label of this epoch (one-sided label smoothing)
    label: float
    #: draws the step's extra whole samples (`samples`)
    make_samples: Callable[[], torch.Tensor]
    #: what terms drew with the batch (`Term.draw`), by term name
    inputs: dict[str, torch.Tensor] = field(default_factory=dict)
    #: the terms' log values of this step, by log field
    stats: dict[str, float] = field(default_factory=dict)
    #: G's images, then D's raw outputs for the real and the fake ones (set by the step)
    fake: torch.Tensor = field(init=False)
    d_real: torch.Tensor = field(init=False)
    d_fake: torch.Tensor = field(init=False)
    _samples: torch.Tensor | None = field(default=None, init=False)

    def samples(self) -> torch.Tensor:
        """This rank's share of `gram_batch` samples at the style stage's size (the training
        images themselves where that is their size), drawn once, by the first term asking.

        They come from the bare generator: their gradient joins the adversarial one in G's one
        backward pass, so gradient averaging still happens once."""
        if self._samples is None:
            self._samples = self.make_samples()
        return self._samples


class Term:
    """One part of the training objective beside the adversarial game: it owns its settings,
    its networks and optimiser state, its checkpoint entries and its log fields.

    A subclass sets `name`, `section` and `log_fields`, says when the settings turn it on
    (`active`), and overrides the hooks it needs; each does nothing by default. The step calls
    them on every active term in registration order (`TERMS`), so the order of randomness and
    of additions is the registry's."""

    #: the name it is registered and found under (`Run.terms[name]`)
    name: ClassVar[str] = ""
    #: the `TrainConfig` section holding its settings (its weight first): a newcomer's setting
    #: goes there, and from there reaches flat names, `--set`, `artstyle config show train`
    #: and resuming (a field tagged "architecture" shapes its networks: no resume changes it)
    section: ClassVar[str] = ""
    #: its columns in `log.csv`, NaN in the steps (or runs) it does not fill them
    log_fields: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def settings(cls, config: TrainConfig) -> Section:
        """Its section of `config`."""
        section = getattr(config, cls.section)
        assert isinstance(section, Section), f"{cls.section} is not a section of TrainConfig"
        return section

    @classmethod
    def active(cls, config: TrainConfig) -> bool:
        """Whether `config` turns the term on: by default, its section's first setting (its
        weight) is set and not 0."""
        settings = cls.settings(config)
        return bool(getattr(settings, next(iter(type(settings).model_fields))))

    def __init__(self, run: Run) -> None:
        """Built with the run (after G, D and the EMA copy): take what it needs of `run`."""
        self.run = run
        self.config = run.config

    def draw(self, batch: Batch, index: torch.Tensor, mine: slice) -> None:
        """Inputs of its own for the global batch `index` (of which this rank keeps `mine`),
        drawn with the batch from torch's global generator, which all ranks share."""

    def d_loss(self, batch: Batch) -> torch.Tensor | None:
        """What it adds to D's loss (weighted), on the D outputs in `batch`."""
        return None

    def g_loss(self, batch: Batch) -> torch.Tensor | None:
        """What it adds to G's loss (weighted), asked only when G updates; a term with a
        discriminator of its own updates it here."""
        return None

    def state(self) -> dict[str, torch.Tensor]:
        """Its checkpoint entries, under names of its own."""
        return {}

    def load_state(self, tensors: dict[str, torch.Tensor]) -> None:
        """Take its entries back from a checkpoint's `tensors`."""


#: The registered terms, by name, in the order the step asks them.
TERMS: Registry[type[Term]] = Registry("training term")
#: Make a term part of training wherever the settings turn it on.
register = TERMS.register


def active_terms(config: TrainConfig) -> list[type[Term]]:
    """The registered terms `config` turns on, in registration order."""
    return [term for term in TERMS.values() if term.active(config)]


def term_log_fields() -> list[str]:
    """The log columns of every registered term, in registration order."""
    return [name for term in TERMS.values() for name in term.log_fields]


def unlogged() -> dict[str, float]:
    """Every term's log fields as NaN: what a step reports of terms that did not run."""
    return dict.fromkeys(term_log_fields(), math.nan)
