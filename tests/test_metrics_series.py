"""Downsampling, smoothing and the overfitting warning on synthetic curves with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tortoise_studio.metrics_series import downsample, ema_smooth, overfitting_warning


def test_downsample_keeps_first_last_min_and_max():
    n = 100_000
    rng = np.random.default_rng(0)
    mel = 3.0 - np.linspace(0, 2, n) + rng.normal(0, 0.01, n)
    mel[31_337] = 9.0  # a spike
    mel[77_777] = -5.0  # a dip
    lr = np.full(n, 1e-5)
    df = pd.DataFrame({"step": np.arange(1, n + 1), "loss_mel_ce": mel, "lr": lr})
    small = downsample(df, columns=["loss_mel_ce"], max_points=2000)
    assert len(small) <= 2000
    steps = small["step"].tolist()
    assert steps[0] == 1 and steps[-1] == n
    assert steps == sorted(steps)
    assert small["loss_mel_ce"].max() == 9.0 and small["loss_mel_ce"].min() == -5.0
    assert 31_338 in steps and 77_778 in steps
    # every bucket's extremes survive: the reduced series has the same envelope
    assert small["loss_mel_ce"].iloc[-1] == mel[-1]


def test_downsample_leaves_small_frames_alone_and_skips_nan():
    df = pd.DataFrame({"step": [1, 2, 3], "loss_mel_ce": [1.0, 2.0, 3.0]})
    assert downsample(df, max_points=10) is df
    big = pd.DataFrame({"step": np.arange(10_000), "loss_mel_ce": np.where(np.arange(10_000) % 2, np.nan, 1.0)})
    small = downsample(big, max_points=100)
    assert len(small) <= 100 and small["loss_mel_ce"].notna().sum() >= 40


def tensorboard_smooth(values, weight):
    """TensorBoard's own formula, written out step by step as the reference."""
    last, count, out = 0.0, 0, []
    for v in values:
        last = last * weight + (1 - weight) * v
        count += 1
        out.append(last / (1 - weight ** count))
    return out


def test_ema_matches_tensorboard():
    values = [3.0, 2.5, 2.7, 2.0, 1.9, 2.2, 1.5]
    assert ema_smooth(values, 0.6) == pytest.approx(tensorboard_smooth(values, 0.6))
    assert ema_smooth(values, 0.0).tolist() == values
    assert ema_smooth(values, 0.6)[0] == 3.0  # debiased: the curve starts at the data, not at zero


def curves(val_mel: list[float], train_trend: float):
    """Train rows every step, one validation every 10 steps."""
    steps = np.arange(1, 10 * len(val_mel) + 1)
    train = pd.DataFrame({"step": steps, "loss_mel_ce": 3.0 + train_trend * steps})
    val = pd.DataFrame({"step": 10 * np.arange(1, len(val_mel) + 1), "loss_mel_ce": val_mel})
    return train, val


def test_overfitting_warning_when_val_rises_and_train_falls():
    train, val = curves([2.0, 1.8, 1.9, 2.0, 2.1], train_trend=-0.01)
    message = overfitting_warning(train, val)
    assert message is not None
    assert "1.900 → 2.000 → 2.100" in message
    assert "step 20" in message  # where the best validation was


def test_no_overfitting_warning_otherwise():
    assert overfitting_warning(*curves([2.0, 1.8, 1.9, 2.0, 2.1], train_trend=+0.01)) is None  # both rise
    assert overfitting_warning(*curves([2.0, 1.9, 2.0, 1.95, 2.1], train_trend=-0.01)) is None  # not 3 rising
    assert overfitting_warning(*curves([2.0, 2.1], train_trend=-0.01)) is None  # too few validations
    assert overfitting_warning(pd.DataFrame({"step": []}), pd.DataFrame({"step": []})) is None
