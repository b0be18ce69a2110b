"""Training terms: the parts of the GAN's objective beside the adversarial game, as small
objects registered by name, so that adding one touches no training loop.

A term (`Term`) owns its settings, its networks and optimiser state, its checkpoint entries and
its log fields, and adds to D's loss (`d_loss`), to G's loss (`g_loss`), or updates a
discriminator of its own. `Run` builds the terms its settings turn on, in the order of `TERMS`,
and the step asks each in turn (see `gan.train`):

- `gradient_penalty`: WGAN-GP's penalty on D, for a loss that asks for it;
- `gram`: Gram feature matching, pulling G's style statistics to the paintings' (`gram_weight`);
- `whole_view`: a second discriminator on whole samples (`whole_weight`, `whole_discriminator`);
- `lecam`: LeCam regularisation of D (`lecam_weight`).

Adding a training term:

1. Write one file here, `terms/NAME.py`, with a `Term` subclass: its `name`, the `settings` it
   reads (the first, its weight, turns it on unless it overrides `active`), its `log_fields`
   (fill them in `batch.stats`), `architecture` for settings that shape its networks, and the
   hooks it needs: `__init__(run)` to build networks (`run.place`, `run.world.wrap`,
   `run.adam`), `draw` for inputs drawn with the batch, `d_loss` / `g_loss` returning its
   weighted loss, `state` / `load_state` for its checkpoint entries (`lecam.py` is a short
   example, `whole_view.py` one with its own discriminator).
2. Register it: add it to the tuple at the end of this file (its place there is its place in
   the step, and in the order of the log's columns).
3. Give `TrainConfig` (`artstyle.config`) its settings, default off, and, if it should be one,
   a CLI option in `artstyle.cli.gan`.
"""

from __future__ import annotations

from artstyle.gan.terms.base import (
    TERMS,
    Batch,
    Term,
    active_terms,
    register,
    term_architecture,
    term_log_fields,
    unlogged,
)
from artstyle.gan.terms.gradient_penalty import GradientPenalty
from artstyle.gan.terms.gram import GramMatching
from artstyle.gan.terms.lecam import LeCam
from artstyle.gan.terms.whole_view import WholeView

__all__ = [
    "TERMS",
    "Batch",
    "Term",
    "active_terms",
    "register",
    "term_architecture",
    "term_log_fields",
    "unlogged",
]

for _term in (GradientPenalty, GramMatching, WholeView, LeCam):
    register(_term)
