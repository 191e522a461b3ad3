"""ToTensor and Compose, as torchvision defines them for the images the stand-in datasets give."""
import numpy as np


class ToTensor:
    """An (H, W) uint8 image -> a float32 tensor (1, H, W) with values in [0, 1]."""

    def __call__(self, pic):
        import torch  # the framework standing behind ``torch`` in this run
        return torch.tensor(np.asarray(pic, dtype=np.float32)[None] / np.float32(255))


class Compose:
    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img


class Lambda:
    def __init__(self, lambd):
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)
