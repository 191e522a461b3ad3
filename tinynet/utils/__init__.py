"""Utilities under PyTorch's names: ``tinynet.utils.data`` (Dataset, DataLoader, samplers)."""
from . import data

__all__ = ["data"]
