"""The parts of ``d2l/torch.py`` (d2l-ai/d2l-en, branch r0.17) that the programs call.

Functions are copied in meaning from the book's saved code; imports of torch.utils.data and
torchvision are made inside the functions that need them, so that a program is charged only for
what it uses (the real module imports them all at the top).
"""
import torch

# Aliases, as at the end of d2l/torch.py.
ones = torch.ones
zeros = torch.zeros
tensor = torch.tensor
arange = torch.arange
exp = torch.exp
log = torch.log
normal = torch.normal
matmul = torch.matmul
size = lambda x, *args, **kwargs: x.numel(*args, **kwargs)  # noqa: E731
reshape = lambda x, *args, **kwargs: x.reshape(*args, **kwargs)  # noqa: E731
reduce_sum = lambda x, *args, **kwargs: x.sum(*args, **kwargs)  # noqa: E731
argmax = lambda x, *args, **kwargs: x.argmax(*args, **kwargs)  # noqa: E731
astype = lambda x, *args, **kwargs: x.type(*args, **kwargs)  # noqa: E731


def synthetic_data(w, b, num_examples):
    """Generate y = Xw + b + noise."""
    X = normal(0, 1, (num_examples, len(w)))
    y = matmul(X, w) + b
    y += normal(0, 0.01, y.shape)
    return X, reshape(y, (-1, 1))


def load_array(data_arrays, batch_size, is_train=True):
    """Construct a PyTorch data iterator."""
    from torch.utils import data
    dataset = data.TensorDataset(*data_arrays)
    return data.DataLoader(dataset, batch_size, shuffle=is_train)


def sgd(params, lr, batch_size):
    """Minibatch stochastic gradient descent."""
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


def get_dataloader_workers():
    """Use 4 processes to read the data."""
    return 4


def load_data_fashion_mnist(batch_size, resize=None):
    """Download the Fashion-MNIST dataset and then load it into memory."""
    import torchvision
    from torch.utils import data
    from torchvision import transforms
    trans = [transforms.ToTensor()]
    if resize:
        trans.insert(0, transforms.Resize(resize))
    trans = transforms.Compose(trans)
    mnist_train = torchvision.datasets.FashionMNIST(
        root="../data", train=True, transform=trans, download=True)
    mnist_test = torchvision.datasets.FashionMNIST(
        root="../data", train=False, transform=trans, download=True)
    return (data.DataLoader(mnist_train, batch_size, shuffle=True,
                            num_workers=get_dataloader_workers()),
            data.DataLoader(mnist_test, batch_size, shuffle=False,
                            num_workers=get_dataloader_workers()))


def get_fashion_mnist_labels(labels):
    """Return text labels for the Fashion-MNIST dataset."""
    text_labels = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat',
                   'sandal', 'shirt', 'sneaker', 'bag', 'ankle boot']
    return [text_labels[int(i)] for i in labels]
