"""Reverse-mode automatic differentiation: the graph node, grad mode and backward.

Every differentiable op is a subclass of ``Function`` with two methods on raw backend arrays:

    forward(self, *arrays, **options) -> output array      (saves what backward needs on self)
    backward(self, gy) -> one gradient array (or None) per input

``backward`` receives dL/dy (``gy``, shaped like the output) and returns dL/dx_i for every
input. It may skip inputs whose ``self.needs_input_grad[i]`` is False (labels, constants) by
returning None there. Broadcasting is undone here, in ``run_backward``, not in each op.
"""
from __future__ import annotations

from typing import Any

from .backend import HOST_ARRAY, array_module, backend_of, host_dtype
from .grad_mode import _grad_enabled, enable_grad, is_grad_enabled, no_grad  # noqa: F401
from .versions import _writes, check_unmodified, mark_modified, shared_stamp  # noqa: F401

backward_hooks: list = []  # callables(node, output_tensor, gy, input_grads); see trace.py
_queued: list = []  # callables to run once the backward pass now running has ended


class Function:
    """One application of a differentiable op: a node of the graph.

    ``inputs`` are the input Tensors (kept so backward can reach them), ``needs_input_grad``
    says which of them need a gradient. Subclasses declare ``__slots__`` for the arrays they
    save: the engine frees exactly those after backward, so a subclass without
    ``__slots__`` (whose attributes the engine could not find) is refused when defined.

    ``saves_inputs`` / ``saves_output`` say whether backward reads the input arrays or
    the output array: if one of those is changed in place between forward and backward,
    the gradient would be computed from the wrong values, and backward raises instead.
    ``born`` is the in-place write clock when the node was recorded.
    """

    __slots__ = ("inputs", "needs_input_grad", "born")
    saves_inputs = True
    saves_output = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__slots__" not in cls.__dict__:
            raise TypeError(f"Function subclass {cls.__name__} must declare __slots__ (the "
                            "names of what forward saves for backward, or () for nothing): "
                            "the engine frees the slots after backward")
        cls._saved_slots = _saved_slots(cls)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def backward(self, gy: Any) -> tuple:
        raise NotImplementedError

    @property
    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name}Backward0>"  # as PyTorch prints grad_fn: <MulBackward0>

    @classmethod
    def apply(cls, *inputs: Any, **kwargs: Any) -> Any:
        """Run forward on the inputs' arrays; record the node when a gradient is needed.

        The output is wrapped by the first input (``_wrap``), so the engine never names
        the Tensor class.
        """
        node = cls()
        if len(inputs) == 1:  # most ops have one or two inputs: the steps below, unrolled
            a, = inputs
            if type(a.array) is not HOST_ARRAY:
                on_one_device(inputs)
            node.needs_input_grad = needs = (a._requires_grad,)
            result = a._wrap(node.forward(a.array, **kwargs))
        elif len(inputs) == 2:
            a, b = inputs
            x, y = a.array, b.array
            if type(x) is not HOST_ARRAY or type(y) is not HOST_ARRAY:
                on_one_device(inputs)
            node.needs_input_grad = needs = (a._requires_grad, b._requires_grad)
            result = a._wrap(node.forward(x, y, **kwargs))
        else:
            arrays = [t.array for t in inputs]
            if any(type(x) is not HOST_ARRAY for x in arrays):
                on_one_device(inputs)
            node.needs_input_grad = needs = tuple([t._requires_grad for t in inputs])
            result = inputs[0]._wrap(node.forward(*arrays, **kwargs))
        if True in needs and _grad_enabled[0]:
            node.inputs = inputs
            node.born = _writes[0]
            result._requires_grad = True
            result._node = node
        return result


def on_one_device(inputs: tuple) -> None:
    """Inputs that are not all NumPy arrays must live on one device, which becomes the
    current one (CuPy makes new arrays on the current GPU, whatever its inputs' GPU)."""
    check_same_device(inputs)
    backend_of(inputs[0].array).make_current()


def check_same_device(tensors: tuple) -> None:
    devices = [t.device for t in tensors]
    if len(set(devices)) > 1:
        raise RuntimeError("expected all tensors to be on the same device, found "
                           + " and ".join(sorted(set(devices))))


def unbroadcast(g: Any, shape: tuple) -> Any:
    """Sum ``g`` down to ``shape``: the adjoint of broadcasting ``shape`` up to ``g.shape``.

    Broadcasting adds leading axes and stretches size-1 axes, so its adjoint sums over the
    leading axes and over the stretched ones (keeping them as size 1). Nothing is reshaped:
    a gradient that is not a broadcast of ``shape`` keeps a wrong shape, and the engine's
    check names the op that returned it.
    """
    extra = g.ndim - len(shape)
    if extra < 0:
        return g
    xp = array_module(g)
    stretched = tuple([i + extra for i, n in enumerate(shape)
                       if n == 1 and g.shape[i + extra] != 1])
    if stretched:
        g = xp.sum(g, axis=stretched, keepdims=True)
    if extra:
        g = xp.sum(g, axis=tuple(range(extra)))
    return g


def run_backward(root: Any, gy: Any, retain_graph: bool = False) -> None:
    """Backpropagate ``gy`` (dL/droot) through the graph that produced ``root``.

    1. Order the nodes so that each comes after every node that uses its output
       (an iterative depth-first search: no recursion limit on long chains).
    2. Walk that order, calling each node's backward with the summed gradient of its output
       and handing the results to its inputs: leaves accumulate into ``.grad``.
    3. Unless ``retain_graph``, drop every node's saved arrays as soon as it has run, so
       activations are freed during the pass and the graph cannot be used twice. The
       engine's own reference to each tensor goes too (popped from the order), so an
       intermediate result that nothing else holds is freed once its node has run, and
       the next arrays of the pass can reuse its memory while it is still in the cache.
    4. Run the callbacks that backward steps queued (``queue_callback``).
    """
    del _queued[:]  # what a pass that raised had queued is dropped
    order = _topological_order(root)
    grads: dict[Any, Any] = {root: gy}  # tensor -> dL/dtensor so far (keys hash by identity)
    writes, hooks = _writes, backward_hooks
    while order:
        t = order.pop()
        node = t._node
        g = grads.pop(t, None)
        if g is None:  # this output did not influence the loss
            continue
        if node.born != writes[0]:  # some tensor was written in place since forward
            check_unmodified(node, t)
        if type(g) is not HOST_ARRAY:
            backend_of(g).make_current()
        inputs = node.inputs
        input_grads = node.backward(g)
        if len(input_grads) != len(inputs):
            raise RuntimeError(f"{node.name}.backward returned {len(input_grads)} gradients "
                               f"for {len(inputs)} inputs")
        if hooks:
            for hook in hooks:
                hook(node, t, g, input_grads)
        for x, gx in zip(inputs, input_grads):
            if gx is None or not x._requires_grad:
                continue
            array = x.array
            if gx.shape != array.shape:
                gx = unbroadcast(gx, array.shape)
                if gx.shape != array.shape:
                    _wrong_gradient(node, x, gx)
            if gx.dtype is not array.dtype and gx.dtype != array.dtype:
                _wrong_gradient(node, x, gx)
            if x._node is None:  # a leaf: accumulate into .grad
                if x.grad is None:
                    # gx may be the very array handed to another input (Add returns gy
                    # twice); a leaf's .grad must own its array since it is updated in place.
                    owned = gx is not g and (gx.base is None if type(gx) is HOST_ARRAY
                                             else backend_of(gx).owns_memory(gx))
                    x.grad = x._wrap(gx if owned else array_module(gx).asarray(gx, copy=True))
                else:
                    x.grad.array += gx
            else:  # a computed tensor: sum the gradients from all its uses
                before = grads.get(x)
                grads[x] = gx if before is None else before + gx
        if not retain_graph:  # free what the node saved: activations go as backward runs
            node.inputs = None
            for slot in node._saved_slots:
                setattr(node, slot, None)
    callbacks, _queued[:] = list(_queued), []
    for callback in callbacks:  # every gradient is accumulated now
        callback()


def queue_callback(callback: Any) -> None:
    """Call ``callback()`` once the backward pass now running has accumulated every
    gradient into the leaves' ``.grad`` (PyTorch's ``Engine.queue_callback``). Queued
    twice in one pass, it runs once. An op's backward queues it (``ops.OnBackward``):
    DistributedDataParallel averages gradients over processes this way."""
    if callback not in _queued:
        _queued.append(callback)


def _wrong_gradient(node: Function, x: Any, gx: Any) -> None:
    raise RuntimeError(f"{node.name}.backward returned a gradient of shape "
                       f"{tuple(gx.shape)} and dtype {host_dtype(gx.dtype)} for an input of "
                       f"shape {x.shape} and dtype {x.dtype}")


def _saved_slots(cls: type) -> tuple:
    """The slots in which a Function subclass saves arrays for backward (its own and its
    bases'), kept on the class as ``_saved_slots`` when it is defined."""
    return tuple(slot for c in cls.__mro__ for slot in getattr(c, "__slots__", ())
                 if slot not in Function.__slots__)


def _topological_order(root: Any) -> list:
    """Non-leaf tensors reachable from ``root``, each after the tensors it was made from
    (``root`` last), so that popping from the end gives every tensor before its inputs.

    A depth-first search with an explicit stack: a tensor is appended once all its inputs
    are.
    """
    order, expanded = [], set()
    stack = [(root, False)]
    while stack:
        t, inputs_done = stack.pop()
        if inputs_done:
            order.append(t)
            continue
        if t in expanded:  # Tensors hash by identity
            continue
        expanded.add(t)
        inputs = t._node.inputs
        if inputs is None:
            raise RuntimeError(
                f"trying to backward through the graph a second time (through {t._node.name}): "
                "its saved arrays were freed after the first backward; call "
                "backward(retain_graph=True) the first time if you need to")
        stack.append((t, True))
        for x in inputs:
            if x._node is not None and x not in expanded:
                stack.append((x, False))
    return order
