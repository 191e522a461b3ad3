"""The cross-entropy snippets of the two tutorials this project grew from (shared/seeds/): the
Italian course page's NumPy one-liner for binary cross-entropy, applied to the model's output
tensor and averaged over N examples, and the Russian W&B report's PyTorch training step that
logs ``loss.item()`` of ``nn.CrossEntropyLoss`` after ``loss.backward()``.

Sources: shared/seeds/003_b930e1c8a826a62c.txt ("Funzione di Perdita": ``loss = -(target *
np.log(output) + (1 - target) * np.log(1 - output))`` and its mean over N samples) and
shared/seeds/000_fccad924aa3f5646.txt ("Реализация на основе PyTorch": ``criterion =
nn.CrossEntropyLoss()``, ``train_step`` with ``loss.backward()`` and ``wandb.log({"Training
Loss": loss.item()})``).
Changed: the snippets elide the model and data (``...``); here they are a fixed Linear(4, 3)
and eight fixed examples, trained by SGD for 20 steps; ``wandb`` is a stand-in class that keeps
what would be logged (the client needs an account).
"""
import numpy as np
import torch
import torch.nn as nn


class wandb:
    """Stand-in for the W&B client: keeps the logged values."""
    history = []

    @staticmethod
    def init(**kwargs):
        return wandb

    @staticmethod
    def log(values):
        wandb.history.append(values)

    @staticmethod
    def finish():
        pass


# Binary cross-entropy, as the Italian tutorial writes it: `output` is the predicted
# probability y^, `target` the label y.
logits = torch.tensor([2.0, -1.0, 0.5, 3.0, -2.5, 0.0])
output = torch.sigmoid(logits)
target = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 0.0])
loss = -(target * np.log(output) + (1 - target) * np.log(1 - output))
print(loss)

# Averaged over the N samples of the forward pass.
N = len(target)
mean_loss = loss.sum() / N
print(mean_loss.item(), nn.BCELoss()(output, target).item())

# Categorical cross-entropy for three classes, trained as in the Russian report.
data = torch.tensor([[0.5, -1.0, 2.0, 0.0],
                     [1.5, 0.3, -0.7, 1.0],
                     [-0.2, 0.8, 0.1, -1.5],
                     [2.0, -0.5, 0.4, 0.3],
                     [-1.0, -1.0, 1.0, 1.0],
                     [0.0, 2.0, -0.3, 0.6],
                     [0.9, 0.1, 0.2, -0.4],
                     [-0.6, 1.2, 1.7, 0.2]])
labels = torch.tensor([2, 0, 1, 0, 2, 1, 0, 2])

model = nn.Linear(4, 3)
with torch.no_grad():
    model.weight.copy_(torch.tensor([[0.1, -0.2, 0.3, 0.0],
                                     [-0.3, 0.2, 0.1, 0.4],
                                     [0.2, 0.1, -0.1, -0.2]]))
    model.bias.zero_()
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)

# Define the Loss Function
criterion = nn.CrossEntropyLoss()

# Create a W&B Run
run = wandb.init(project="cross-entropy")


def train_step(data, target):
    output = model(data)
    loss = criterion(output, target)
    # Back-propagation
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    # Log to Weights and Biases
    wandb.log({"Training Loss": loss.item()})


for step in range(20):
    train_step(data, labels)

# Finish the run and sync metrics
run.finish()
training_losses = [entry["Training Loss"] for entry in wandb.history]
print(training_losses[0], training_losses[-1])
