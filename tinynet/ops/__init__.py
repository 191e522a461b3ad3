"""The differentiable ops: one small Function subclass each, forward and backward on arrays.

Every graph node of tinynet is defined here, one family per file."""
from .arithmetic import Add, Div, Maximum, Mul, Neg, Pow, PowScalar, Sub, Where
from .callback import OnBackward
from .conv import Conv2d
from .convert import Cast, Clone, ToDevice
from .cross_entropy import NLLLoss, SoftmaxCrossEntropy
from .loss import BinaryCrossEntropy, BinaryCrossEntropyWithLogits, MSELoss
from .matmul import Linear, MatMul
from .normalization import BatchNorm
from .pool import AvgPool2d, MaxPool2d
from .reduce import Max, Mean, Sum
from .shape import Cat, GetItem, Permute, Reshape, Stack
from .softmax import LogSoftmax, Softmax
from .unary import Abs, Clip, Cos, Dropout, Exp, Log, ReLU, Sigmoid, Sin, Sqrt, Tanh
