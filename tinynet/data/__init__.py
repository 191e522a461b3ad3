"""Data sets and batching: the IDX format, MNIST and Fashion-MNIST, and a DataLoader.

    from tinynet.data import MNIST, DataLoader
    train = MNIST(train=True)                 # downloads once, or reads $TINYNET_DATA_DIR
    for x, y in DataLoader(train, batch_size=128, shuffle=True, flatten=True):
        ...                                   # x float32 (128, 784) in [0, 1], y int64
"""
from .datasets import FashionMNIST, MNIST
from .idx import read_idx, write_idx
from .loader import DataLoader

__all__ = ["read_idx", "write_idx", "MNIST", "FashionMNIST", "DataLoader"]
