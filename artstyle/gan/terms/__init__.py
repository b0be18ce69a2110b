"""Training terms: the parts of the GAN's objective beside the adversarial game, as small
objects registered by name, so that adding one touches no training loop.

A term (`Term`) owns its settings, its networks and optimiser state, its checkpoint entries and
its log fields, and adds to D's loss (`d_loss`), to G's loss (`g_loss`), or updates a
discriminator of its own. `Run` builds the terms its settings turn on, in the order of `TERMS`,
and the step asks each in turn (see `gan.train`):

- `gradient_penalty`: WGAN-GP's penalty on D, for a loss that asks for it;
- `gram`: Gram feature matching, pulling G's style statistics to the paintings' (`gram.weight`);
- `whole_view`: a second discriminator on whole samples (`whole_view.weight`, `.discriminator`);
- `lecam`: LeCam regularisation of D (`lecam.weight`);
- `grid`: a penalty on the pixel grid G paints on, its 2 x 2 blocks and cell steps (`grid.weight`).

Each term's settings are one section of `TrainConfig`, named as the term (`Term.section`).

Adding a training term:

1. Write one file here, `terms/NAME.py`, with a `Term` subclass: its `name`, its `section` (the
   `TrainConfig` field holding its settings: step 3), its `log_fields` (fill them in
   `batch.stats`), and the hooks it needs: `__init__(run)` to build networks (`run.place`,
   `run.world.wrap`, `run.adam`), `draw` for inputs drawn with the batch, `d_loss` / `g_loss`
   returning its weighted loss, `state` / `load_state` for its checkpoint entries (`lecam.py`
   is a short example, `whole_view.py` one with its own discriminator).
2. Register it: add it to the tuple at the end of this file (its place there is its place in
   the step, and in the order of the log's columns).
3. Give `TrainConfig` (`artstyle.config`) a section of its settings (a `Section` subclass, its
   weight first and default off: a set weight turns the term on unless the term overrides
   `active`; each field's flat name in `json_schema_extra={"flat": "NAME_weight"}`; a field
   that shapes its networks tagged `"architecture": True`, so no resume changes it) and the
   field `NAME: ThatSection`. The term reads `self.config.NAME.weight`. From the section alone
   come the flat names (`TrainConfig(NAME_weight=...)`, old files), `--set NAME.weight=...`,
   `--config` tables, `artstyle config show train` and what a resume or retune may change; a
   curated flag of `artstyle train` (`artstyle.cli.gan.FLAGS`) is only for the settings people
   reach for.
"""

from __future__ import annotations

from artstyle.gan.terms.base import (
    TERMS,
    Batch,
    Term,
    active_terms,
    register,
    term_log_fields,
    unlogged,
)
from artstyle.gan.terms.gradient_penalty import GradientPenalty
from artstyle.gan.terms.gram import GramMatching
from artstyle.gan.terms.grid import GridPenalty
from artstyle.gan.terms.lecam import LeCam
from artstyle.gan.terms.whole_view import WholeView

__all__ = [
    "TERMS",
    "Batch",
    "Term",
    "active_terms",
    "register",
    "term_log_fields",
    "unlogged",
]

for _term in (GradientPenalty, GramMatching, WholeView, LeCam, GridPenalty):
    register(_term)
