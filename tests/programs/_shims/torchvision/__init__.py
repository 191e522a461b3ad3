"""A stand-in for the few pieces of torchvision that the programs use (torchvision is not a
dependency of this project and cannot download here).

``datasets.MNIST`` / ``datasets.FashionMNIST`` read the local IDX files (or a synthetic set of
the same shapes when they are absent), ``transforms.ToTensor`` / ``Compose`` turn an image into
a float tensor. They are written against ``torch`` names only, so under the harness they run on
whichever framework stands behind ``torch``.
"""
from . import datasets, transforms  # noqa: F401
