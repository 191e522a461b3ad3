"""tinynet.utils.data against torch.utils.data: the same data sets, samplers and loaders give
the same batches (shapes, dtypes, values), lengths and errors. Random orders are tinynet's
own (another generator), so with shuffling the tests check the structure, not the order."""
import collections
import sys
import warnings
from types import SimpleNamespace

import numpy as np
import pytest

import tinynet as tn
import tinynet.utils.data
from tinynet.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset,
                                DistributedSampler, RandomSampler, SequentialSampler, Subset,
                                SubsetRandomSampler, TensorDataset, WeightedRandomSampler,
                                default_collate, random_split)

torch = pytest.importorskip("torch")
tud = torch.utils.data
Point = collections.namedtuple("Point", "x y")


def plain(batch):
    """A batch of either library -> nested Python containers of (dtype name, NumPy array)."""
    if isinstance(batch, tn.Tensor):
        return ("tensor", batch.dtype.name, batch.numpy())
    if isinstance(batch, torch.Tensor):
        return ("tensor", str(batch.dtype).removeprefix("torch."), batch.numpy())
    if isinstance(batch, dict):
        return (type(batch).__name__, {k: plain(v) for k, v in batch.items()})
    if isinstance(batch, (list, tuple)):
        return (type(batch).__name__, [plain(v) for v in batch])
    return batch


def assert_same(ours, theirs):
    """Same structure, container types, dtypes and values."""
    a, b = plain(ours), plain(theirs)

    def walk(a, b, path):
        assert type(a) is type(b), (path, a, b)
        if isinstance(a, tuple) and a and a[0] == "tensor":
            assert a[1] == b[1], f"{path}: dtype {a[1]} != torch's {b[1]}"
            np.testing.assert_array_equal(a[2], b[2], err_msg=path)
        elif isinstance(a, tuple):
            assert a[0] == b[0], f"{path}: container {a[0]} != torch's {b[0]}"
            walk(a[1], b[1], path)
        elif isinstance(a, dict):
            assert a.keys() == b.keys(), path
            for key in a:
                walk(a[key], b[key], f"{path}[{key!r}]")
        elif isinstance(a, list):
            assert len(a) == len(b), path
            for i, (x, y) in enumerate(zip(a, b)):
                walk(x, y, f"{path}[{i}]")
        else:
            assert a == b, path
    walk(a, b, "batch")


def both(make):
    """make(lib) with lib = tinynet, then with torch."""
    return make(tn), make(torch)


# ---- imports ---------------------------------------------------------------------------

def test_import_paths():
    assert tn.utils.data.DataLoader is DataLoader is tn.data.DataLoader
    from tinynet.utils.data import DataLoader as D, TensorDataset as T  # noqa: N817
    assert D is DataLoader and T is TensorDataset
    assert set(tud.__all__) >= set(tinynet.utils.data.__all__) - {"default_convert"}


# ---- default_collate --------------------------------------------------------------------

SAMPLES = {
    "tensors": lambda lib: [lib.tensor([1.0, 2.0]), lib.tensor([3.0, 4.0])],
    "0-d int tensors": lambda lib: [lib.tensor(1), lib.tensor(2)],
    "python ints": lambda lib: [1, 2, 3],
    "python floats": lambda lib: [1.5, 2.5],
    "bools": lambda lib: [True, False],
    "uint8 arrays": lambda lib: [np.arange(4, dtype=np.uint8).reshape(2, 2)] * 3,
    "float64 arrays": lambda lib: [np.linspace(0, 1, 3), np.ones(3)],
    "0-d arrays": lambda lib: [np.array(1.5), np.array(2.5)],
    "numpy scalars": lambda lib: [np.float32(1), np.float32(2)],
    "int32 scalars": lambda lib: [np.int32(1), np.int32(7)],
    "strings": lambda lib: ["a", "b"],
    "(x, y) tuples": lambda lib: [(lib.tensor([1.0]), 0), (lib.tensor([2.0]), 1)],
    "lists": lambda lib: [[1, 2.0], [3, 4.0]],
    "dicts": lambda lib: [{"x": np.zeros(2), "y": 1}, {"x": np.ones(2), "y": 2}],
    "ordered dicts": lambda lib: [collections.OrderedDict(a=1.0, b=[1, 2])] * 2,
    "namedtuples": lambda lib: [Point(1, 2.0), Point(3, 4.0)],
    "nested": lambda lib: [({"img": lib.zeros(2, 2), "id": "a"}, (1, 2.5))] * 3,
}


@pytest.mark.parametrize("name", SAMPLES)
def test_default_collate_matches_torch(name):
    ours, theirs = both(SAMPLES[name])
    assert_same(default_collate(ours), tud.default_collate(theirs))


def test_default_collate_errors_match_torch():
    cases = [([(1, 2), (3,)], RuntimeError, "equal size"),
             ([object()], TypeError, "batch must contain"),
             ([np.array(["a"])], TypeError, "batch must contain")]
    for batch, error, message in cases:
        with pytest.raises(error, match=message):
            tud.default_collate(batch)
        with pytest.raises(error, match=message):
            default_collate(batch)


# ---- DataLoader over TensorDataset and over Dataset subclasses ----------------------------

def xy(lib, n=10):
    x = lib.tensor(np.arange(3 * n, dtype=np.float32).reshape(n, 3))
    y = lib.tensor(np.arange(n) % 4)
    return x, y


@pytest.mark.parametrize("batch_size, drop_last", [(1, False), (3, False), (3, True),
                                                   (5, True), (10, False), (16, False),
                                                   (16, True)])
def test_loader_over_tensor_dataset_matches_torch(batch_size, drop_last):
    ours, theirs = both(lambda lib: lib.utils.data.DataLoader(
        lib.utils.data.TensorDataset(*xy(lib)), batch_size=batch_size, drop_last=drop_last))
    assert len(ours) == len(theirs) and len(ours.dataset) == len(theirs.dataset) == 10
    batches, expected = list(ours), list(theirs)
    assert len(batches) == len(expected) == len(theirs)
    for a, b in zip(batches, expected):
        assert_same(a, b)


class Squares:
    """A Dataset subclass as tutorials write them: a transform in __getitem__, Python
    numbers in the samples. Built on either library's Dataset."""

    @staticmethod
    def make(lib):
        class _Squares(lib.utils.data.Dataset):
            def __init__(self, n):
                self.x = lib.tensor(np.arange(n, dtype=np.float32))

            def __len__(self):
                return len(self.x)

            def __getitem__(self, i):
                return {"x": self.x[i] * 2, "square": float(i * i)}, i
        return _Squares(7)


def test_dataset_subclass_is_honoured_and_matches_torch():
    ours, theirs = both(lambda lib: lib.utils.data.DataLoader(Squares.make(lib), batch_size=3))
    for a, b in zip(ours, theirs):
        assert_same(a, b)
    assert len(ours) == len(theirs) == 3


def test_tensor_dataset_subclass_with_a_transform_is_honoured():
    def make(lib):
        class Doubled(lib.utils.data.TensorDataset):
            def __getitem__(self, i):
                x, y = super().__getitem__(i)
                return x * 2, y
        return lib.utils.data.DataLoader(Doubled(*xy(lib)), batch_size=4)
    ours, theirs = both(make)
    for a, b in zip(ours, theirs):
        assert_same(a, b)
    assert next(iter(ours))[0].numpy()[1, 0] == 6.0  # x[1, 0] == 3, doubled


def test_lists_arrays_and_tensors_are_map_style_data_sets():
    for make in (lambda lib: list(zip(np.arange(5.0), range(5))),
                 lambda lib: np.arange(12, dtype=np.int16).reshape(6, 2),
                 lambda lib: lib.arange(6)):
        ours, theirs = both(lambda lib: lib.utils.data.DataLoader(make(lib), batch_size=4))
        for a, b in zip(ours, theirs):
            assert_same(a, b)


def test_batch_size_none_yields_converted_samples_like_torch():
    data = [(np.ones(2, dtype=np.float32), 1), (np.zeros(2, dtype=np.float32), 0)]
    ours = list(DataLoader(data, batch_size=None))
    theirs = list(tud.DataLoader(data, batch_size=None))
    for a, b in zip(ours, theirs):
        assert_same(a, b)


def test_samplers_and_batch_samplers():
    x, y = xy(tn)
    ds = TensorDataset(x, y)
    for sampler in ([9, 0, 4], np.array([9, 0, 4]), tn.tensor([9, 0, 4]),
                    SubsetRandomSampler([9, 0, 4])):
        _, yb = next(iter(DataLoader(ds, batch_size=3, sampler=sampler)))
        assert sorted(yb.tolist()) == [0, 0, 1]  # y = index % 4
    batches = [[0, 1], [5], [2, 3, 4]]
    got = [yb.tolist() for _, yb in DataLoader(ds, batch_sampler=batches)]
    assert got == [[0, 1], [1], [2, 3, 0]]
    assert len(DataLoader(ds, batch_sampler=batches)) == 3
    # custom collate_fn, worker arguments accepted (tinynet loads in this process)
    loader = DataLoader(ds, batch_size=4, collate_fn=len, num_workers=2, pin_memory=True,
                        persistent_workers=True)
    assert list(loader) == [4, 4, 2]


def test_loader_argument_errors_match_torch():
    ds = TensorDataset(*xy(tn))
    calls = [dict(shuffle=True, sampler=[0, 1]), dict(batch_sampler=[[0]], batch_size=2),
             dict(batch_sampler=[[0]], drop_last=True), dict(batch_size=None, drop_last=True),
             dict(batch_size=0), dict(batch_size=-1), dict(num_workers=-1)]
    for kwargs in calls:
        with pytest.raises(ValueError) as theirs:
            tud.DataLoader(tud.TensorDataset(*xy(torch)), **kwargs)
        with pytest.raises(ValueError) as ours:
            DataLoader(ds, **kwargs)
        first_words = " ".join(str(theirs.value).split()[:2])
        assert first_words in str(ours.value), (kwargs, ours.value, theirs.value)


def test_old_tuple_form_is_a_clear_error():
    x, y = xy(tn)
    for form in ((x, y), [x, y], (x.numpy(), y.numpy()), (x, x)):
        with pytest.raises(TypeError, match=r"TensorDataset\(x, y\)"):
            DataLoader(form, batch_size=4)
    with pytest.raises(TypeError, match="map-style"):
        DataLoader(5)
    assert len(DataLoader([x[0], x[1]]).dataset) == 2  # a list of two samples is fine


def test_out_of_range_indices_raise_on_every_path():
    ds = TensorDataset(*xy(tn))
    for loader in (DataLoader(ds, sampler=[3, 10]), DataLoader(ds, batch_sampler=[[-11]]),
                   DataLoader(Subset(ds, [0, 12]), batch_size=2)):
        with pytest.raises(IndexError, match="out of range"):
            list(loader)
    (xb, _), = DataLoader(ds, batch_sampler=[[-1, -10]])  # negative: from the end
    np.testing.assert_array_equal(xb.numpy(), xy(tn)[0].numpy()[[9, 0]])


# ---- the fast path ------------------------------------------------------------------------

def _per_sample(ds, **kwargs):
    """The same loader forced onto the per-sample path (a collate_fn of its own)."""
    return DataLoader(ds, collate_fn=lambda b: default_collate(b), **kwargs)


@pytest.mark.parametrize("kwargs", [dict(batch_size=4), dict(batch_size=4, shuffle=True),
                                    dict(batch_size=3, drop_last=True, shuffle=True),
                                    dict(sampler=[7, 7, 2, 0, 5], batch_size=2)])
def test_fast_path_equals_per_sample_path(backend, kwargs):
    x = tn.randn(10, 2, 3)
    y = tn.arange(10)
    w = tn.tensor(np.arange(10) % 2 == 0)
    for ds in (TensorDataset(x, y, w), Subset(TensorDataset(x, y, w), [9, 3, 1, 0, 2, 8, 7, 6])):
        if isinstance(ds, Subset) and "sampler" in kwargs:
            continue
        tn.manual_seed(1)
        fast = list(DataLoader(ds, **kwargs))
        tn.manual_seed(1)
        slow = list(_per_sample(ds, **kwargs))
        assert len(fast) == len(slow) > 0
        for a, b in zip(fast, slow):
            assert all(t.device == backend.device for t in a)
            assert_same(a, b)


def test_batches_do_not_alias_the_data_set(backend):
    x, y = tn.arange(12.0).reshape(6, 2), tn.arange(6)
    for shuffle in (False, True):
        for xb, yb in DataLoader(TensorDataset(x, y), batch_size=4, shuffle=shuffle):
            with tn.no_grad():
                xb -= 100.0
                yb += 1
        np.testing.assert_array_equal(x.numpy(), np.arange(12.0).reshape(6, 2))
        np.testing.assert_array_equal(y.numpy(), np.arange(6))


def test_tensors_that_require_grad_keep_the_graph_as_in_torch():
    def grad(lib):
        w = lib.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
        (xb,), = lib.utils.data.DataLoader(lib.utils.data.TensorDataset(w), batch_size=3)
        (xb * xb).sum().backward()
        return w.grad.numpy()
    ours, theirs = both(grad)
    np.testing.assert_allclose(ours, theirs)


# ---- shuffling ------------------------------------------------------------------------------

def _order(loader):
    return np.concatenate([yb.numpy() for _, yb in loader])


def test_shuffle_draws_a_new_permutation_every_epoch_from_the_global_generator():
    n = 50
    ds = TensorDataset(tn.arange(n).reshape(n, 1) * 10, tn.arange(n))
    loader = DataLoader(ds, batch_size=8, shuffle=True)
    tn.manual_seed(3)
    orders = [_order(loader) for _ in range(3)]
    for order in orders:
        assert sorted(order.tolist()) == list(range(n))
    assert not np.array_equal(orders[0], orders[1])
    for xb, yb in loader:  # pairs stay together
        np.testing.assert_array_equal(xb.numpy()[:, 0], yb.numpy() * 10)
    tn.manual_seed(3)
    assert np.array_equal(_order(loader), orders[0])  # tn.manual_seed fixes the orders
    # The RNG state at an epoch boundary fixes the next order: what exact --resume needs.
    tn.manual_seed(3)
    _order(loader)
    state = tn.get_rng_state()
    tn.manual_seed(99)
    tn.set_rng_state(state)
    assert np.array_equal(_order(loader), orders[1])
    assert len(np.unique(_order(DataLoader(ds, batch_size=8, shuffle=True,
                                           drop_last=True)))) == 48


def test_shuffle_with_a_generator_is_reproducible_and_leaves_the_global_one_alone():
    ds = TensorDataset(tn.arange(30))
    a = DataLoader(ds, batch_size=7, shuffle=True, generator=np.random.default_rng(5))
    b = DataLoader(ds, batch_size=7, shuffle=True, generator=np.random.default_rng(5))
    state = tn.get_rng_state()
    first = [np.concatenate([t.numpy() for t, in a]) for _ in range(2)]
    second = [np.concatenate([t.numpy() for t, in b]) for _ in range(2)]
    assert np.array_equal(tn.get_rng_state(), state)
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])
    assert not np.array_equal(first[0], first[1])
    with pytest.raises(TypeError, match="generator"):
        list(DataLoader(ds, shuffle=True, generator=42))


# ---- samplers -----------------------------------------------------------------------------

def test_sampler_lengths_and_batches_match_torch():
    for n, size, drop in [(10, 3, False), (10, 3, True), (9, 3, True), (1, 5, False)]:
        ours = BatchSampler(SequentialSampler(range(n)), size, drop)
        theirs = tud.BatchSampler(tud.SequentialSampler(range(n)), size, drop)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
    for kwargs in [{}, dict(replacement=True), dict(replacement=True, num_samples=25),
                   dict(num_samples=25)]:
        ours, theirs = RandomSampler(range(10), **kwargs), tud.RandomSampler(range(10), **kwargs)
        drawn = list(ours)
        assert len(ours) == len(theirs) == len(drawn) and set(drawn) <= set(range(10))
        assert all(type(i) is int for i in drawn)
        if not kwargs.get("replacement"):  # whole permutations, then part of one
            assert sorted(drawn[:10]) == list(range(10))
            assert len(drawn) == 10 or len(set(drawn[20:])) == 5
    weighted = list(WeightedRandomSampler([0, 1, 0, 3], 200))
    assert set(weighted) == {1, 3} and weighted.count(3) > weighted.count(1)
    assert sorted(WeightedRandomSampler([1, 1, 1], 3, replacement=False)) == [0, 1, 2]
    assert sorted(SubsetRandomSampler([4, 8, 15])) == [4, 8, 15]


def test_sampler_errors_match_torch():
    for call in (lambda m: m.RandomSampler(range(3), num_samples=0),
                 lambda m: m.BatchSampler(range(3), 0, False),
                 lambda m: m.BatchSampler(range(3), 2, "no"),
                 lambda m: m.WeightedRandomSampler([1, 2], 0)):
        with pytest.raises(ValueError):
            call(tud)
        with pytest.raises(ValueError):
            call(tinynet.utils.data)
    with pytest.raises(TypeError, match="replacement"):
        RandomSampler(range(3), replacement=1)


# ---- Subset, random_split, ConcatDataset --------------------------------------------------

@pytest.mark.parametrize("n, lengths", [(10, [0.8, 0.2]), (11, [0.5, 0.3, 0.2]),
                                        (7, [0.1, 0.1, 0.8]), (100, [1 / 3] * 3),
                                        (10, [3, 7]), (5, [0.5, 0.5])])
def test_random_split_lengths_match_torch(n, lengths):
    ours = random_split(range(n), lengths)
    theirs = tud.random_split(range(n), lengths)
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    seen = [i for split in ours for i in split]
    assert sorted(seen) == list(range(n))  # disjoint, and together everything


def test_random_split_errors_warning_and_generator():
    for lengths in ([3, 3], [0.5, 0.6], [1.5, -0.5]):
        with pytest.raises(ValueError) as theirs:
            tud.random_split(range(10), lengths)
        with pytest.raises(ValueError) as ours:
            random_split(range(10), lengths)
        assert str(theirs.value)[:20] in str(ours.value)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        random_split(range(2), [0.9, 0.1, 0.0])
    assert any("Length of split at index 2 is 0" in str(w.message) for w in caught)
    a = random_split(range(20), [0.5, 0.5], generator=np.random.default_rng(1))
    b = random_split(range(20), [0.5, 0.5], generator=np.random.default_rng(1))
    assert [list(s.indices) for s in a] == [list(s.indices) for s in b]


def test_subset_and_concat_match_torch():
    def make(lib):
        base = lib.utils.data.TensorDataset(*xy(lib))
        sub = lib.utils.data.Subset(base, [5, 1, 8])
        return sub, lib.utils.data.ConcatDataset([sub, base]), sub + sub
    (sub, cat, plus), (tsub, tcat, tplus) = both(make)
    assert (len(sub), len(cat), len(plus)) == (len(tsub), len(tcat), len(tplus)) == (3, 13, 6)
    for i in (0, 2, 3, 12, -1, -13):
        assert_same(cat[i], tcat[i])
    assert_same(sub[[0, 2]], tsub[[0, 2]])
    for loader, theirs in ((DataLoader(cat, batch_size=5), tud.DataLoader(tcat, batch_size=5)),
                           (DataLoader(plus, batch_size=4), tud.DataLoader(tplus, batch_size=4))):
        for a, b in zip(loader, theirs):
            assert_same(a, b)
    with pytest.raises(ValueError, match="should not exceed"):
        cat[-14]
    with pytest.raises(ValueError, match="empty"):
        ConcatDataset([])


def test_tensor_dataset_errors():
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(tn.zeros(3, 2), tn.zeros(4))
    with pytest.raises(TypeError, match="tinynet.tensor"):
        TensorDataset(np.zeros(3))
    with pytest.raises(NotImplementedError, match="__getitem__"):
        Dataset()[0]


# ---- DistributedSampler ---------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 7, 10, 11, 12, 13])
@pytest.mark.parametrize("replicas", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_partition_equals_torchs_without_shuffle(n, replicas, drop_last):
    for rank in range(replicas):
        ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = tud.DistributedSampler(range(n), replicas, rank, shuffle=False,
                                        drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
        assert ours.total_size == theirs.total_size


@pytest.mark.parametrize("n, replicas, drop_last", [(10, 3, False), (10, 3, True), (3, 5, False),
                                                     (12, 4, False), (2, 7, False)])
def test_distributed_sampler_shuffled_partition_has_torchs_structure(n, replicas, drop_last):
    """All ranks agree on one permutation per epoch; rank r takes every replicas-th index
    from r of it, padded cyclically (or cut) to a multiple of replicas."""
    def ranks(seed=0, epoch=0):
        samplers = [DistributedSampler(range(n), replicas, r, seed=seed, drop_last=drop_last)
                    for r in range(replicas)]
        for s in samplers:
            s.set_epoch(epoch)
        return [list(s) for s in samplers]
    parts = ranks()
    total = len(parts[0]) * replicas
    assert {len(p) for p in parts} == {len(tud.DistributedSampler(
        range(n), replicas, 0, drop_last=drop_last))}
    padded = [parts[k % replicas][k // replicas] for k in range(total)]
    order = padded[:min(n, total)]
    assert len(set(order)) == len(order) and set(order) <= set(range(n))
    if not drop_last:
        assert sorted(order) == list(range(n))
        assert padded == (order * (total // n + 1))[:total]  # cyclic padding
    assert ranks() == parts
    if n > 5:  # (few samples have few orders: two epochs may draw the same)
        assert ranks(epoch=1) != parts and ranks(seed=1) != parts


def test_distributed_sampler_defaults_errors_and_loader():
    sampler = DistributedSampler(range(10))
    assert (sampler.num_replicas, sampler.rank, sampler.shuffle) == (1, 0, True)
    assert sorted(sampler) == list(range(10))
    with pytest.raises(ValueError, match=r"Invalid rank 3, rank should be in the interval \[0, 2\]"):
        DistributedSampler(range(10), num_replicas=3, rank=3)
    ds = TensorDataset(tn.arange(10) * 2)
    sampler = DistributedSampler(ds, num_replicas=3, rank=1, shuffle=False)
    (batch,), = DataLoader(ds, batch_size=4, sampler=sampler)
    assert batch.tolist() == [2, 8, 14, 0]  # indices 1, 4, 7 and the padding 0


def test_distributed_sampler_takes_world_size_and_rank_from_tinynet_distributed(monkeypatch):
    """A stand-in for tinynet.distributed with 4 ranks shows where the defaults come from
    (only when its process group is initialised); tests/test_distributed.py runs the real
    module on real ranks."""
    world = SimpleNamespace(is_initialized=lambda: True, get_world_size=lambda: 4,
                            get_rank=lambda: 2)
    monkeypatch.setitem(sys.modules, "tinynet.distributed", world)
    sampler = DistributedSampler(range(10), shuffle=False)
    assert (sampler.num_replicas, sampler.rank, list(sampler)) == (4, 2, [2, 6, 0])
    world.is_initialized = lambda: False
    assert DistributedSampler(range(10)).num_replicas == 1
