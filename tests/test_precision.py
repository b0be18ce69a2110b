"""Reduced precision: chosen by what the machine has, networks in bf16/fp16, sums in fp32, and
no autocast (nor any other change) in fp32."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from synthetic import moving_parameters, write_paintings
from torch import nn

from artstyle import precision
from artstyle.backbone import VGGFeatures, gram
from artstyle.config import TrainConfig, stored_train_config
from artstyle.gan import train as training
from artstyle.gan.data import load_paintings
from artstyle.gan.terms import TERMS
from artstyle.nst.transfer import StyleTransfer

CPU = torch.device("cpu")
TINY = {"width": 4, "batch_size": 8, "settle_steps": 0, "arch": "texture", "gram_batch": 2}


@pytest.fixture(scope="module")
def paintings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("paintings")
    write_paintings(folder, 8, size=96)
    return folder


def _cpuinfo(tmp_path: Path, flags: str) -> str:
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: test\nflags\t\t: fpu sse2 {flags}\n\n")
    return str(path)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("avx2 avx512f", torch.float32),
        ("avx512f avx512_bf16", torch.bfloat16),
        ("amx_tile amx_bf16", torch.bfloat16),
    ],
)
def test_auto_follows_the_cpu_flags(
    flags: str, expected: torch.dtype, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _cpuinfo(tmp_path, flags)
    monkeypatch.setattr(precision, "CPUINFO", path)
    assert precision.resolve_dtype("auto", CPU) == expected
    # asked for by name, a precision is used whatever the machine has
    assert precision.resolve_dtype("fp32", CPU) == torch.float32
    assert precision.resolve_dtype("bf16", CPU) == torch.bfloat16
    assert precision.resolve_dtype("fp16", CPU) == torch.float16


def test_no_cpuinfo_means_fp32(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(precision, "CPUINFO", str(tmp_path / "absent"))
    assert precision.resolve_dtype("auto", CPU) == torch.float32


def test_gram_is_summed_in_fp32_even_under_autocast() -> None:
    features = torch.randn(2, 8, 16, 16).to(torch.bfloat16)
    expected = gram(features.float(), 3.0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        inside = gram(features, 3.0)
    assert inside.dtype == torch.float32
    torch.testing.assert_close(inside, expected, rtol=0, atol=0)


class _Spy:
    """Records the dtype reaching the first convolution of a network, and whether autocast was
    on: what a precision setting really changed."""

    def __init__(self, net: nn.Module) -> None:
        self.seen: list[tuple[torch.dtype, bool]] = []
        conv = next(m for m in net.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d))
        conv.register_forward_pre_hook(self._hook)

    def _hook(self, module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        self.seen.append((module.weight.dtype, torch.is_autocast_enabled("cpu")))


def _styles() -> torch.Tensor:
    return torch.rand(3, 3, 40, 40, generator=torch.Generator().manual_seed(0))


def test_painting_in_fp32_runs_the_fp32_network_without_autocast() -> None:
    st = StyleTransfer(_styles(), size=48, style_size=None, steps=2, precision="fp32")
    assert st.paint_net is st.net
    spy = _Spy(st.net)
    st.run(torch.rand(1, 3, 48, 48))
    assert spy.seen and set(spy.seen) == {(torch.float32, False)}


def test_painting_in_bf16_keeps_the_image_losses_and_targets_in_fp32() -> None:
    photo = torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(1))
    fp32 = StyleTransfer(_styles(), size=48, style_size=None, steps=8, precision="fp32")
    bf16 = StyleTransfer(_styles(), size=48, style_size=None, steps=8, precision="bf16")
    assert bf16.paint_net.net[0].weight.dtype == torch.bfloat16
    for a, b in zip(fp32.targets, bf16.targets, strict=True):  # computed once, in fp32
        assert torch.equal(a.mean, b.mean) and a.spread == b.spread
    spy = _Spy(bf16.paint_net)
    result = bf16.run(photo)
    assert set(spy.seen) == {(torch.bfloat16, False)}
    assert result.tensor.dtype == torch.float32
    start = bf16.score(photo, photo)["total"]
    reference = fp32.score(photo, fp32.run(photo).tensor)["total"]
    painted = fp32.score(photo, result.tensor)["total"]  # scored in fp32 by either
    assert painted == pytest.approx(bf16.score(photo, result.tensor)["total"], rel=1e-6)
    assert painted < 0.5 * start  # it did paint
    assert painted == pytest.approx(reference, rel=0.1)  # and about as well as fp32


def test_vgg_in_bf16_returns_features_close_to_fp32() -> None:
    image = torch.rand(1, 3, 32, 32)
    fp32 = VGGFeatures(["conv_1", "conv_5"])(image)
    bf16 = VGGFeatures(["conv_1", "conv_5"], dtype=torch.bfloat16)(image)
    for a, b in zip(fp32, bf16, strict=True):
        assert b.dtype == torch.bfloat16
        torch.testing.assert_close(b.float(), a, rtol=0.05, atol=0.05 * float(a.abs().max()))


def _run(cfg: TrainConfig, paintings: Path) -> training.Run:
    return training.Run(cfg, load_paintings(paintings, 64, cfg.data.crop), Path("unused"))


@pytest.mark.parametrize(
    ("name", "dtype", "autocast"),
    [("fp32", torch.float32, False), ("bf16", torch.bfloat16, True), ("fp16", torch.float16, True)],
)
def test_a_training_step_runs_the_networks_in_its_precision(
    name: str, dtype: torch.dtype, autocast: bool, paintings: Path
) -> None:
    run = _run(TrainConfig(**TINY, precision=name, gram_weight=1.0), paintings)  # type: ignore[arg-type]
    spies = [_Spy(run.g_net), _Spy(run.d_net), _Spy(run.gram.net)]  # type: ignore[union-attr]
    g0 = [p.clone() for p in moving_parameters(run.g_net)]
    stats = run.train_step(torch.arange(8))
    off = {f for n, term in TERMS.items() if n not in run.terms for f in term.log_fields}
    assert all(torch.isfinite(torch.tensor(v)) for k, v in stats.items() if k not in off)
    for spy in spies:  # weights stay fp32; autocast runs the convolutions in `dtype`
        assert set(spy.seen) == {(torch.float32, autocast)}
    assert run.dtype == dtype and run.scaler.is_enabled() == (dtype == torch.float16)
    for net in (run.g_net, run.d_net, run.ema):
        assert all(p.dtype == torch.float32 for p in net.parameters())  # type: ignore[union-attr]
    for state in run.opt_g.state.values():
        assert all(v.dtype == torch.float32 for k, v in state.items() if k != "step")
    if dtype != torch.float16:  # fp16's first steps may be skipped while the scale settles
        assert all(not torch.equal(a, b) for a, b in zip(g0, moving_parameters(run.g_net)))


def test_runs_from_before_precision_existed_resume_in_fp32() -> None:
    assert stored_train_config({"epochs": 3}).optim.precision == "fp32"
    assert TrainConfig().optim.precision == "auto"
