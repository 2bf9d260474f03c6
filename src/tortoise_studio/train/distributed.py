"""Processes: rank and world size from torchrun's environment, and the few collectives the loop needs.

With one process (no torchrun) every collective is a no-op, so the same loop runs either way.
Gradients are averaged by torch's DistributedDataParallel (see recipe.py), which overlaps the
all-reduce with the backward pass; the few collectives here are for losses, stops and barriers.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import UserError


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1

    def sum_(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum `tensor` over all ranks in place (returns it)."""
        if self.active:
            torch.distributed.all_reduce(tensor, op=torch.distributed.ReduceOp.SUM)
        return tensor

    def any(self, flag: bool, device: torch.device) -> bool:
        """True on every rank when `flag` is true on any rank (ranks agree on stopping)."""
        if not self.active:
            return flag
        value = torch.tensor([1.0 if flag else 0.0], device=device)
        torch.distributed.all_reduce(value, op=torch.distributed.ReduceOp.MAX)
        return bool(value.item() > 0)

    def barrier(self) -> None:
        if self.active:
            torch.distributed.barrier()


    def agree(self, ok: bool, device: torch.device) -> bool:
        """True on every rank only when `ok` is true on every rank."""
        return not self.any(not ok, device)


def parallel(module: torch.nn.Module, dist: Dist, device: torch.device, *,
             static_graph: bool = False) -> torch.nn.Module:
    """`module` wrapped in DistributedDataParallel when several processes train; itself otherwise.

    DDP averages gradients over processes (the caller scales each process's loss by the process count
    so that the result is a sum). `static_graph` is needed with reentrant gradient checkpointing, which
    runs parts of the graph twice.
    """
    if not dist.active:
        return module
    from torch.nn.parallel import DistributedDataParallel
    return DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None,
                                   static_graph=static_graph, gradient_as_bucket_view=True,
                                   broadcast_buffers=False)  # constant buffers (attention masks)


def check_shared_folder(dist: Dist, folder: Path, device: torch.device) -> None:
    """Fail on every rank, before training, when a process cannot see what rank 0 writes in `folder`.

    Several machines need the run folder shared between them: rank 0 alone writes checkpoints and
    metrics, and a resume on another machine reads them back.
    """
    if not dist.active:
        return
    marker = folder / ".shared-folder-check"
    token = [secrets.token_hex(8) if dist.is_main else None]
    if dist.is_main:
        marker.write_text(token[0])
    torch.distributed.broadcast_object_list(token, src=0)
    try:
        seen = marker.read_text() == token[0]
    except OSError:
        seen = False
    everyone = dist.agree(seen, device)
    dist.barrier()
    if dist.is_main:
        marker.unlink(missing_ok=True)
    if not everyone:
        where = "this machine" if not seen else "another machine of this run"
        raise UserError(f"{folder}: {where} cannot see the run folder as node 0 writes it; with nodes > 1 the "
                        f"run folder must be one folder shared between the machines (e.g. a network mount at "
                        f"the same path)")


def from_environment() -> Dist:
    """Rank, world size and local rank as torchrun sets them (RANK, WORLD_SIZE, LOCAL_RANK); 1 process otherwise."""
    env = os.environ
    return Dist(rank=int(env.get("RANK", 0)), world=int(env.get("WORLD_SIZE", 1)),
                local_rank=int(env.get("LOCAL_RANK", 0)))


def start(dist: Dist, device: torch.device) -> None:
    """Join the process group: NCCL between GPUs, gloo on CPU (the rendezvous comes from torchrun's env)."""
    if dist.active and not torch.distributed.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        torch.distributed.init_process_group(backend=backend)


def stop() -> None:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
