"""``check_batch_size``: a batch larger than an epoch's samples is refused, not shrunk."""

from __future__ import annotations

import pytest
from torch.utils.data import DataLoader, DistributedSampler

from boundaryloss.config import ConfigError
from boundaryloss.training.batching import check_batch_size, drop_last


@pytest.mark.parametrize("world_size", [1, 2, 3])
def test_refused_exactly_when_the_loader_would_shrink_every_batch(world_size):
    for samples in range(1, 10):
        for per_rank in range(1, 6):
            batch_size = per_rank * world_size
            sampler = DistributedSampler(
                list(range(samples)), num_replicas=world_size, rank=0, shuffle=False
            )
            loader = DataLoader(
                list(range(samples)),
                batch_size=per_rank,
                sampler=sampler,
                drop_last=drop_last(len(sampler), per_rank),
            )
            largest = max(len(batch) for batch in loader)
            if largest < per_rank:
                with pytest.raises(ConfigError, match=rf"data\.batch_size: {batch_size} is "):
                    check_batch_size(batch_size, samples, world_size)
            else:
                check_batch_size(batch_size, samples, world_size)


def test_message_names_the_samples_and_the_largest_batch():
    with pytest.raises(ConfigError) as error:
        check_batch_size(8, 5)
    assert str(error.value) == (
        "data.batch_size: 8 is larger than the 5 training samples of an epoch; use at "
        "most 5 (or raise data.samples_per_epoch)"
    )
    with pytest.raises(ConfigError, match=r"the 5 training samples of an epoch; use at most 6"):
        check_batch_size(8, 5, world_size=2)  # 3 samples per process
