"""Training metrics where people look at them: TensorBoard and Weights & Biases.

    from tinynet.loggers import TensorBoardLogger, WandbLogger

    logger = TensorBoardLogger("runs/mnist")    # or WandbLogger(project="mnist", config={...})
    for step, (x, y) in enumerate(loader):
        loss = F.cross_entropy(model(x), y)
        ...
        logger.log({"train/loss": loss}, step)  # tinynet Tensors or numbers
    logger.close()                              # or use it as a context manager

Both have the same three methods (``log``, ``close``, and ``location``, where the run is
written) and import their package only when constructed, so tinynet itself needs neither:
``pip install 'tinynet[tensorboard]'`` or ``'tinynet[wandb]'``.
"""
from .tensorboard import TensorBoardLogger
from .wandb import WandbLogger

__all__ = ["TensorBoardLogger", "WandbLogger"]
