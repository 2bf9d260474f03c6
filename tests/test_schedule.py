"""The plotted schedule is the one a real torch optimizer sees under build_scheduler, step by step."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from tortoise_studio.config import SchedulerConfig, TrainingConfig
from tortoise_studio.train.optim import build_scheduler, learning_rates, lr_multiplier
from tortoise_studio.config.schedule import (milestone_epochs,
                                      milestone_steps, steps_per_epoch, total_steps)


def cfg(**changes) -> TrainingConfig:
    return dataclasses.replace(TrainingConfig(dataset="ds", epochs=10, learning_rate=1e-4), **changes)


def optimizer_lrs(c: TrainingConfig, spe: int, n_steps: int) -> tuple[list[float], dict]:
    """The lr each optimizer step of a real AdamW used, with scheduler.step() after each one."""
    torch.manual_seed(0)
    weight = torch.nn.Parameter(torch.randn(4))
    optimizer = torch.optim.AdamW([weight], lr=c.learning_rate, betas=(0.9, 0.96))
    scheduler = build_scheduler(optimizer, c, spe)
    seen = []
    for _ in range(n_steps):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.zero_grad()
        (weight ** 2).sum().backward()
        optimizer.step()
        scheduler.step()
    return seen, scheduler.state_dict()


CASES = {
    "multistep": cfg(scheduler=SchedulerConfig(type="multistep", milestones=[2, 5, 7.5], gamma=0.5)),
    "multistep-default": cfg(),
    "cosine": cfg(scheduler=SchedulerConfig(type="cosine", restarts=3, eta_min=1e-7)),
    "constant": cfg(scheduler=SchedulerConfig(type="constant")),
    "multistep-warmup": cfg(warmup_steps=7, scheduler=SchedulerConfig(milestones=[1, 3])),
    "cosine-warmup": cfg(warmup_steps=5, scheduler=SchedulerConfig(type="cosine", restarts=2)),
    "constant-warmup": cfg(warmup_steps=4, scheduler=SchedulerConfig(type="constant")),
}


@pytest.mark.parametrize("name", CASES)
def test_plot_equals_what_the_optimizer_sees(name):
    c, spe = CASES[name], 4
    n = total_steps(c, 4 * 4 + 3) + 5  # past the end too
    seen, _ = optimizer_lrs(c, spe, n)
    assert learning_rates(c, spe, n) == pytest.approx(seen, rel=1e-12, abs=0)


def test_counting_drops_the_incomplete_batch():
    assert steps_per_epoch(19, 4) == 4 and steps_per_epoch(3, 4) == 0 and steps_per_epoch(8, 0) == 0
    assert total_steps(cfg(batch_size=4, max_steps=3), 19) == 40  # max_steps is not part of the schedule


def test_multistep_milestones_in_epochs_become_steps():
    c = CASES["multistep"]
    assert milestone_steps(c, 4) == [8, 20, 30]
    lrs = learning_rates(c, 4, 40)
    assert lrs[7] == 1e-4 and lrs[8] == 5e-5 and lrs[19] == 5e-5 and lrs[20] == 2.5e-5
    assert lrs[30] == 1.25e-5 and lrs[39] == 1.25e-5


def test_default_milestones_scale_with_the_epochs():
    assert milestone_epochs(cfg(epochs=20)) == [10, 15, 18]
    assert milestone_epochs(cfg(epochs=500)) == [250, 375, 450]
    # The predecessor reached 1/8 of the lr by epoch 10; the default keeps the full lr for half the run.
    lrs = learning_rates(cfg(epochs=200), 10, 2000)
    assert lrs[999] == 1e-4 and lrs[1000] == 5e-5


def test_cosine_restarts_in_equal_cycles_from_lr_to_eta_min():
    c = cfg(scheduler=SchedulerConfig(type="cosine", restarts=4, eta_min=1e-8))
    lrs = learning_rates(c, 10, 100)  # 100 steps, cycles of 25
    assert [lrs[i] for i in (0, 25, 50, 75)] == [1e-4] * 4
    assert lrs[24] == pytest.approx(1e-8 + (1e-4 - 1e-8) * 0.5 * (1 + math.cos(math.pi * 24 / 25)))
    assert min(lrs) > 1e-8 and lrs[24] < 1e-6
    assert lrs[12] == pytest.approx(1e-8 + (1e-4 - 1e-8) * 0.5 * (1 + math.cos(math.pi * 12 / 25)))
    assert all(a > b for a, b in zip(lrs[:24], lrs[1:25]))  # decreasing within a cycle


def test_warmup_ramps_linearly_then_follows_the_schedule():
    c = cfg(warmup_steps=4, scheduler=SchedulerConfig(type="constant"))
    assert learning_rates(c, 10, 6) == pytest.approx([2.5e-5, 5e-5, 7.5e-5, 1e-4, 1e-4, 1e-4])


def test_resume_from_the_scheduler_state_continues_the_same_curve():
    c, spe = CASES["cosine-warmup"], 4
    _, state = optimizer_lrs(c, spe, 13)
    weight = torch.nn.Parameter(torch.zeros(2))
    optimizer = torch.optim.AdamW([weight], lr=c.learning_rate)
    scheduler = build_scheduler(optimizer, c, spe)
    scheduler.load_state_dict(state)
    expected = learning_rates(c, spe, 15)
    assert scheduler.get_last_lr()[0] == pytest.approx(expected[13], rel=1e-12)
    optimizer.step()
    scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(expected[14], rel=1e-12)


def test_unknown_schedule_is_refused():
    with pytest.raises(ValueError, match="scheduler.type"):
        lr_multiplier(cfg(scheduler=SchedulerConfig(type="linear")), 4)
