"""Data sets: the IDX format, and MNIST and Fashion-MNIST as Datasets.

    from tinynet.data import MNIST
    from tinynet.utils.data import DataLoader
    train = MNIST(train=True)                 # downloads once, or reads $TINYNET_DATA_DIR
    for x, y in DataLoader(train, batch_size=128, shuffle=True):
        ...                                   # x float32 (128, 1, 28, 28) in [0, 1], y int64

``tinynet.data.DataLoader`` is ``tinynet.utils.data.DataLoader``, kept here for old imports.
"""
from ..utils.data import DataLoader
from .datasets import FashionMNIST, MNIST
from .idx import read_idx, write_idx

__all__ = ["read_idx", "write_idx", "MNIST", "FashionMNIST", "DataLoader"]
