"""Exact training: every clip's true targets in any batch, and the same run for any accumulation, any
number of processes (also stopped midway and resumed) and two (simulated) machines. Tiny models, real clips, real torch.distributed (gloo)."""

from __future__ import annotations

import shutil
import socket

import pytest
import torch

from test_distributed import _assert_same_losses, _assert_same_weights, _losses, _train, _weights
from test_launch import wait_for
from train_helpers import make_dataset, make_run, rows
from tortoise_studio.dataset.audio import load_audio
from tortoise_studio.runs.checkpoints import latest_checkpoint
from tortoise_studio.runs.launch import run_foreground, run_status, start_run
from tortoise_studio.models.dvae import DiscreteVAE
from tortoise_studio.models.mel import normalized_mel
from tortoise_studio.runs.status import local_pid_files, log_tail, read_pid_file
from tortoise_studio.train.cache import TAIL_SILENCE, FeatureEncoder, code_count
from tortoise_studio.dataset.audio import MAX_CLIP_SAMPLES
from tortoise_studio.train.data import collate, step_widths
from tortoise_studio.train.recipe import Trainer

STOP_MEL = 8193
STEPS = 4


pytestmark = pytest.mark.usefixtures("one_torch_thread")




def test_codes_are_those_of_the_clip_padded_with_silence_as_dlas_made_them(tortoise_voices):
    torch.manual_seed(0)
    dvae = DiscreteVAE()  # TorToiSe's published sizes, random weights that still follow the mel
    with torch.no_grad():
        dvae.encoder[-1].bias.zero_()
        dvae.codebook.embed.mul_(0.1)
    encoder = FeatureEncoder(dvae, torch.device("cpu"))
    for clip in ("train_lescault/lescault_new1.wav", "emma/3.wav"):
        wav = torch.from_numpy(load_audio(tortoise_voices / clip, 22050))
        n = wav.shape[0]
        features = encoder(wav)
        assert features.codes.numel() == code_count(n) == n // 1024 + 1
        dlas = dvae.codes(normalized_mel(torch.nn.functional.pad(wav, (0, MAX_CLIP_SAMPLES - n))[None]))[0]
        assert torch.equal(features.codes, dlas[:n // 1024 + 1])
        bare = dvae.codes(normalized_mel(wav[None]))[0]  # the old way: one code short, and the edge differs
        assert bare.numel() == n // 1024
    assert TAIL_SILENCE >= 27 * 256 + 512  # the DVAE's reach to the right, in samples


def test_a_clips_targets_are_the_same_in_any_batch_its_codes_then_one_stop(workspace, tortoise_voices, tiny_models,
                                                                          monkeypatch):
    make_dataset(workspace, tortoise_voices)
    trainer = Trainer(make_run(workspace, tiny_models))
    trainer.setup()
    try:
        samples = trainer.train_samples
        by_length = sorted(range(len(samples)), key=lambda i: samples[i].n_samples)
        shortest, clip, longest = by_length[0], by_length[len(by_length) // 2], by_length[-1]
        assert samples[shortest].n_samples < samples[clip].n_samples < samples[longest].n_samples

        captured = []
        real_cross_entropy = torch.nn.functional.cross_entropy

        def probe(logits, targets, *args, **kwargs):  # records what reaches the loss, then computes it
            captured.append(targets.detach().clone())
            return real_cross_entropy(logits, targets, *args, **kwargs)

        monkeypatch.setattr(torch.nn.functional, "cross_entropy", probe)

        def mel_targets(micro_batch: list[int], step: list[int]) -> torch.Tensor:
            captured.clear()
            batch = collate([samples[i] for i in micro_batch], [(0, 0)] * len(micro_batch), trainer.silence,
                            step_widths([samples[i] for i in step]))
            with torch.no_grad():
                trainer.forward_module(batch.cond_mels, batch.text, batch.text_lengths, batch.codes, batch.wav_lengths)
            text_targets, mel = captured
            return mel[micro_batch.index(clip)]

        seen = [mel_targets([longest, clip], [longest, clip]),      # not the longest of its batch
                mel_targets([shortest, clip], [shortest, clip]),    # the longest, in second place
                mel_targets([clip], [clip, longest, shortest])]     # alone, in a micro-batch of a wider step
        codes = samples[clip].codes
        assert codes.numel() == samples[clip].n_samples // 1024 + 1
        for targets in seen:
            end = codes.numel()
            assert torch.equal(targets[:end], codes)
            assert targets[end] == STOP_MEL and torch.all(targets[end:] == STOP_MEL)  # padding scores as stop
        assert seen[0][:codes.numel() + 1].equal(seen[1][:codes.numel() + 1])
    finally:
        trainer.cleanup()


def _same_run(a, b) -> None:
    steps = range(1, STEPS + 1)
    la, lb = _losses(a), _losses(b)
    assert sorted(la) == sorted(lb) == list(steps)
    _assert_same_losses(la, lb, steps)
    assert la[STEPS] != la[1]
    _assert_same_weights(_weights(a, STEPS), _weights(b, STEPS))


@pytest.fixture(scope="module")
def space(tmp_path_factory, tortoise_voices, tiny_models):
    from tortoise_studio.workspace import Workspace
    workspace = Workspace.at(tmp_path_factory.mktemp("exact") / "ws").ensure()
    make_dataset(workspace, tortoise_voices, n_train=8, n_val=2)
    return workspace


@pytest.fixture(scope="module")
def reference(space, tiny_models):
    """One process, no accumulation, batch 4: the run every other shape must reproduce."""
    config = make_run(space, tiny_models, run="reference", max_steps=STEPS)
    _train(config)
    return config.parent


def test_gradient_accumulation_does_not_change_the_run(space, tiny_models, reference):
    config = make_run(space, tiny_models, run="accumulated", max_steps=STEPS, gradient_accumulation=2)
    _train(config)
    start, = rows(config.parent, event="start")
    assert start["micro_batches"] == 2
    _same_run(reference, config.parent)


@pytest.mark.slow
def test_two_processes_give_the_run_of_one(space, tiny_models, reference):
    config = make_run(space, tiny_models, run="two-gpus", max_steps=STEPS, gpus=2)
    _train(config)
    assert read_pid_file(config.parent).argv[2] == "torch.distributed.run"
    start, = rows(config.parent, event="start")
    assert start["processes"] == 2
    _same_run(reference, config.parent)
    assert run_status(config.parent).state in ("stopped", "done")


@pytest.mark.slow
def test_a_two_process_run_stopped_midway_resumes_to_the_run_of_one(space, tiny_models, reference):
    half = STEPS // 2
    config = make_run(space, tiny_models, run="two-gpus-resumed", max_steps=half, gpus=2)
    _train(config)
    assert latest_checkpoint(config.parent).step == half
    _train(config, resume="latest", overrides=[f"max_steps={STEPS}"])
    assert [row["step"] for row in rows(config.parent, event="resume")] == [half]
    _same_run(reference, config.parent)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_machines_simulated_on_one_give_the_run_of_one(space, tiny_models, reference):
    config = make_run(space, tiny_models, run="two-nodes", max_steps=STEPS, nodes=2)
    endpoint = f"127.0.0.1:{_free_port()}"
    start_run(config, nnodes=2, node_rank=1, rdzv_endpoint=endpoint, detach=True)
    assert "--node-rank=1" in read_pid_file(config.parent, "run.node1.pid").argv  # the same run's other part
    code = run_foreground(config, echo=False, nnodes=2, node_rank=0, rdzv_endpoint=endpoint)
    assert code == 0, log_tail(config.parent, lines=40)
    argv = read_pid_file(config.parent).argv
    assert "--nnodes=2" in argv and f"--rdzv-endpoint={endpoint}" in argv and "--node-rank=0" in argv
    # Node 1 may still be shutting down; the next test launches in this workspace and would
    # rightly refuse to share the CPU with a run that is still alive.
    wait_for(lambda: not any(info.alive() for info in local_pid_files(config.parent)), 60, "node 1 to exit")
    start, = rows(config.parent, event="start")
    assert start["processes"] == 2
    _same_run(reference, config.parent)


@pytest.mark.slow
def test_a_machine_that_cannot_see_the_run_folder_says_so_before_training(space, tiny_models, tmp_path):
    config = make_run(space, tiny_models, run="unshared", max_steps=STEPS, nodes=2)
    # The second "machine" has its own copy of the workspace: what node 0 writes never reaches it.
    elsewhere = tmp_path / "other-machine"
    shutil.copytree(space.root, elsewhere / "ws", ignore=shutil.ignore_patterns("runs"))
    copy = elsewhere / "ws" / config.relative_to(space.root)
    copy.parent.mkdir(parents=True)
    shutil.copy(config, copy)
    endpoint = f"127.0.0.1:{_free_port()}"
    start_run(copy, nnodes=2, node_rank=1, rdzv_endpoint=endpoint, detach=True)
    code = run_foreground(config, echo=False, nnodes=2, node_rank=0, rdzv_endpoint=endpoint)
    assert code != 0
    error, = rows(config.parent, event="error")
    assert "must be one folder shared between the machines" in error["message"]
    assert str(config.parent) in error["message"]
    assert not rows(config.parent, kind="train")
    other_log = wait_for(lambda: "cannot see the run folder" in log_tail(copy.parent, lines=80, node_rank=1)
                         and log_tail(copy.parent, lines=80, node_rank=1), 60, "node 1's message")
    assert str(copy.parent) in other_log


def test_clips_and_texts_beyond_dlas_limits_are_skipped_with_their_reason(workspace, tortoise_voices, tiny_models):
    import numpy as np
    from tortoise_studio.dataset.audio import write_wav
    from tortoise_studio.train import run
    folder = make_dataset(workspace, tortoise_voices, n_train=4, n_val=0)
    long_clip = np.concatenate([load_audio(tortoise_voices / "emma" / f"{i}.wav", 22050) for i in (1, 2, 3)])
    assert len(long_clip) > MAX_CLIP_SAMPLES  # longer than 11.6 s, well within the model's 604 codes
    write_wav(folder / "audio" / "long.wav", long_clip)
    wordy = " ".join(["Rice is often served in round bowls."] * 30)  # far more than 200 tokens
    with open(folder / "train.txt", "a") as f:
        f.write(f"audio/long.wav|A long clip.\naudio/clip_0000.wav|{wordy}\n")
    config = make_run(workspace, tiny_models, max_steps=1)
    assert run(config) == 0
    skipped = {s["where"]: s["reason"] for s in rows(config.parent, event="skipped")}
    assert f"{len(long_clip) / 22050:.2f} s is longer than the 11.61 s" in skipped["train.txt:5"]
    assert "the model takes 1 to 200" in skipped["train.txt:6"]
    start, = rows(config.parent, event="start")
    assert start["n_train"] == 4
