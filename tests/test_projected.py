"""The whole view on frozen EfficientNet-lite0 features (Projected GAN's discriminator)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from artstyle.config import TrainConfig, stored_train_config
from artstyle.errors import ArtstyleError
from artstyle.gan import checkpoint, projected
from artstyle.gan import train as training
from artstyle.gan.data import load_paintings

TINY = {"width": 4, "batch_size": 8, "gram_batch": 4, "settle_steps": 0, "sample_every": 1}


def test_the_default_whole_view_is_projected_at_the_samples_size() -> None:
    cfg = TrainConfig()
    assert cfg.whole_view_weight == 1 and cfg.whole_view.discriminator == "projected"
    assert cfg.whole_size == cfg.sample_size == 128
    # designs without whole samples larger than their patches have no whole view by default...
    assert TrainConfig(arch="dcgan", crop="center").whole_view_weight == 0
    # ...and say so when asked for one
    with pytest.raises(ValueError, match="whole samples larger than the patches"):
        TrainConfig(arch="dcgan", crop="center", whole_weight=1.0)
    # runs written before the projected whole view read as they were trained
    old = stored_train_config({"arch": "texture", "g_norm": "pixel"})
    assert old.whole_view_weight == 0 and old.gram.layers == "ast-gan"


def test_only_the_heads_learn(large_painting_folder: Path) -> None:
    run = training.Run(
        TrainConfig(**TINY), load_paintings(large_painting_folder, 64, "patch"), Path("unused")
    )
    term = run.terms["whole_view"]
    d = term.net
    assert isinstance(d, projected.ProjectedDiscriminator)
    assert term.wholes.shape[-2:] == (128, 128)

    def frozen_weights() -> list[torch.Tensor]:
        return [p for m in d.frozen for p in m.parameters()]

    frozen = [p.clone() for p in frozen_weights()]
    heads = [p.clone() for p in d.parameters()]
    assert not any(k.startswith("frozen") for k in d.state_dict())  # not checkpointed
    stats = run.train_step(torch.arange(8))
    assert 0 < stats["whole_fake"] < 1
    assert all(torch.equal(a, b) for a, b in zip(frozen, frozen_weights()))
    assert all(not torch.equal(a, b) for a, b in zip(heads, d.parameters()))
    assert not any(p.requires_grad for p in frozen_weights())


def test_a_projected_run_resumes_exactly(large_painting_folder: Path, tmp_path: Path) -> None:
    cfg = TrainConfig(**TINY, epochs=2, checkpoint_every=1)
    training.train(large_painting_folder, tmp_path / "full", cfg, progress=False)
    first = cfg.model_copy(update={"epochs": 1})
    training.train(large_painting_folder, tmp_path / "cut", first, progress=False)
    training.train(large_painting_folder, tmp_path / "cut", cfg, resume=True, progress=False)
    for name in ("generator.safetensors", "checkpoint.safetensors"):
        full, _ = checkpoint.load(tmp_path / "full" / name)
        cut, _ = checkpoint.load(tmp_path / "cut" / name)
        assert full.keys() == cut.keys() and all(torch.equal(full[k], cut[k]) for k in full)


def test_weights_are_checked_by_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "weights.pth"
    torch.save({"_conv_stem.weight": torch.zeros(1)}, fake)
    monkeypatch.setattr(projected, "_weights_path", lambda: fake)
    projected._pretrained_state.cache_clear()
    try:
        with pytest.raises(ArtstyleError, match="not the EfficientNet-lite0 weights"):
            projected.pretrained_features()
    finally:
        projected._pretrained_state.cache_clear()
