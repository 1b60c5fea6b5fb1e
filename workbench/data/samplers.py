"""Batches by length: shuffled (optionally length-grouped) for training, sorted for evaluation.

Any task whose encoded splits have ``lengths`` (tokens per example; images: all equal)
batches through these. Putting texts of similar length together cuts the pad tokens a
transformer computes on; order stays random at the level of batches, so the optimizer
still sees a shuffled stream.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import Sampler


class GroupedBatchSampler(Sampler[list[int]]):
    """Shuffled batches; with ``group_by_length`` each batch holds texts of similar length.

    Per epoch: shuffle with ``seed + epoch``, cut into mega-batches of 50 batches, sort each
    mega-batch by length, cut into batches, shuffle the batch order. Deterministic for a
    seed and epoch, which is what lets ``--resume`` skip exactly the batches already seen.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        seed: int,
        group_by_length: bool = True,
        mega: int = 50,
    ) -> None:
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.group_by_length = group_by_length
        self.mega = mega
        self.epoch = 0
        self.drop_last = False  # read by accelerate when it shards batches across processes

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def batches(self) -> list[list[int]]:
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(len(self.lengths), generator=g).tolist()
        if self.group_by_length:
            span = self.batch_size * self.mega
            order = [
                i
                for start in range(0, len(order), span)
                for i in sorted(order[start : start + span], key=lambda j: -self.lengths[j])
            ]
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        if self.group_by_length:
            perm = torch.randperm(len(batches), generator=g).tolist()
            batches = [batches[i] for i in perm]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches())

    def __len__(self) -> int:
        return (len(self.lengths) + self.batch_size - 1) // self.batch_size


class SortedBatchSampler(Sampler[list[int]]):
    """Evaluation batches sorted by length: least padding; ``index`` restores the order."""

    def __init__(self, lengths: Sequence[int], batch_size: int) -> None:
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        self._batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        self.batch_size = batch_size
        self.drop_last = False

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self._batches)

    def __len__(self) -> int:
        return len(self._batches)


def padding_waste(batches: Sequence[Sequence[int]], lengths: Sequence[int]) -> float:
    """Share of computed token positions that are padding."""
    real = sum(lengths[i] for b in batches for i in b)
    padded = sum(max(lengths[i] for i in b) * len(b) for b in batches if b)
    return 1.0 - real / padded if padded else 0.0
