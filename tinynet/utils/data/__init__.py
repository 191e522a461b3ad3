"""Data sets, samplers and the DataLoader, with ``torch.utils.data``'s names and semantics.

    from tinynet.utils.data import DataLoader, TensorDataset, random_split
    train, val = random_split(TensorDataset(x, y), [0.8, 0.2])
    for xb, yb in DataLoader(train, batch_size=64, shuffle=True):
        ...

Files: ``dataset.py`` (Dataset, TensorDataset, Subset, ConcatDataset, random_split),
``sampler.py`` (the samplers), ``distributed.py`` (DistributedSampler), ``collate.py``
(default_collate), ``dataloader.py`` (DataLoader).
"""
from .collate import default_collate, default_convert
from .dataloader import DataLoader
from .dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from .distributed import DistributedSampler
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                      SubsetRandomSampler, WeightedRandomSampler)

__all__ = ["Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split",
           "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler", "DistributedSampler", "DataLoader",
           "default_collate", "default_convert"]
