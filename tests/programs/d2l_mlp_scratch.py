"""Dive into Deep Learning 4.2: Implementation of Multilayer Perceptrons from Scratch
(PyTorch tab), on Fashion-MNIST.

Source: https://github.com/d2l-ai/d2l-en/blob/r0.17/chapter_multilayer-perceptrons/mlp-scratch.md
Changed: the notebook cells in order, as one script; num_epochs 10 -> 1 and the harness
limits the data sets to their first samples. ``d2l`` is the local stand-in
(tests/programs/_shims/d2l): load_data_fashion_mnist, train_ch3 and predict_ch3 as saved in
sections 3.5 and 3.6, with the Animator's plot printed instead (its asserts, thresholds for
the full run, left out).
"""
from d2l import torch as d2l
import torch
from torch import nn

batch_size = 256
train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size)

num_inputs, num_outputs, num_hiddens = 784, 10, 256

W1 = nn.Parameter(torch.randn(
    num_inputs, num_hiddens, requires_grad=True) * 0.01)
b1 = nn.Parameter(torch.zeros(num_hiddens, requires_grad=True))
W2 = nn.Parameter(torch.randn(
    num_hiddens, num_outputs, requires_grad=True) * 0.01)
b2 = nn.Parameter(torch.zeros(num_outputs, requires_grad=True))

params = [W1, b1, W2, b2]


def relu(X):
    a = torch.zeros_like(X)
    return torch.max(X, a)


def net(X):
    X = d2l.reshape(X, (-1, num_inputs))
    H = relu(X@W1 + b1)  # Here '@' stands for matrix multiplication
    return (H@W2 + b2)

loss = nn.CrossEntropyLoss(reduction='none')

num_epochs, lr = 1, 0.1
updater = torch.optim.SGD(params, lr=lr)
d2l.train_ch3(net, train_iter, test_iter, loss, num_epochs, updater)

d2l.predict_ch3(net, test_iter)
