"""Dive into Deep Learning 4.3: Concise Implementation of Multilayer Perceptrons (PyTorch
tab), on Fashion-MNIST.

Source: https://github.com/d2l-ai/d2l-en/blob/r0.17/chapter_multilayer-perceptrons/mlp-concise.md
Changed: the notebook cells in order, as one script; num_epochs 10 -> 1 and the harness
limits the data sets to their first samples. ``d2l`` is the local stand-in
(tests/programs/_shims/d2l): load_data_fashion_mnist and train_ch3 as saved in sections 3.5
and 3.6, with the Animator's plot printed instead (its asserts, thresholds for the full run,
left out).
"""
from d2l import torch as d2l
import torch
from torch import nn

net = nn.Sequential(nn.Flatten(),
                    nn.Linear(784, 256),
                    nn.ReLU(),
                    nn.Linear(256, 10))

def init_weights(m):
    if type(m) == nn.Linear:
        nn.init.normal_(m.weight, std=0.01)

net.apply(init_weights);

batch_size, lr, num_epochs = 256, 0.1, 1
loss = nn.CrossEntropyLoss(reduction='none')
trainer = torch.optim.SGD(net.parameters(), lr=lr)

train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size)
d2l.train_ch3(net, train_iter, test_iter, loss, num_epochs, trainer)
