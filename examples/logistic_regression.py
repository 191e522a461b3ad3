"""Softmax regression on MNIST: the whole training loop of a linear classifier, in one page.

    python examples/logistic_regression.py --epochs 5

The model is one matrix W (784 x 10) and one bias b: logits = x @ W.T + b. The loss is the
cross-entropy of softmax(logits) against the true digit, and SGD moves W and b a small step
against the gradient of that loss, batch after batch. About 92% of test digits end up right.
"""
import argparse

import tinynet as tn
import tinynet.nn.functional as F
from tinynet.data import MNIST
from tinynet.utils.data import DataLoader

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--lr", type=float, default=0.5)
parser.add_argument("--data-dir", default=None, help="folder holding mnist/")
args = parser.parse_args()

tn.manual_seed(0)
train = DataLoader(MNIST(args.data_dir, train=True), batch_size=100, shuffle=True)
test = DataLoader(MNIST(args.data_dir, train=False), batch_size=1000)

W = tn.zeros(10, 784, requires_grad=True)  # zeros are fine: the loss is convex
b = tn.zeros(10, requires_grad=True)

for epoch in range(1, args.epochs + 1):
    lr = args.lr / epoch                     # a decaying step size helps SGD settle
    for x, y in train:                       # x: (100, 1, 28, 28) floats in [0, 1]; y: digits
        x = x.reshape(len(x), 784)           # one row of 784 pixels per image
        logits = x @ W.T + b                 # (100, 10): one score per class
        loss = F.cross_entropy(logits, y)    # mean of -log softmax(logits)[y]
        W.grad = b.grad = None               # forget the previous batch's gradient
        loss.backward()                      # dloss/dlogits = (softmax - onehot) / 100
        with tn.no_grad():                   # the update itself is not part of the model
            W -= lr * W.grad
            b -= lr * b.grad

    correct = 0
    with tn.no_grad():
        for x, y in test:
            correct += ((x.reshape(len(x), 784) @ W.T + b).argmax(1) == y).long().sum().item()
    print(f"epoch {epoch}: last batch loss {loss.item():.4f}, "
          f"test accuracy {100 * correct / 10000:.2f}%")
