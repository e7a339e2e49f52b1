"""The visited set (explorer.store.KeyTable, Layout) and the cached parser tables
(spec.lark_cache).

The table is checked against a Python set on random batches: the keys it says are new are the
distinct keys not seen before, each with the smallest rank of its copies in the batch, in rank
order; the keys a batch takes back (`remove`, the rows the vector engine does not commit) are
gone and every other key is still found. The expected answers come from the Python set, not
from the table.
"""
from __future__ import annotations

import random

import numpy as np
import pytest

from conftest import MODELS
from smp_explorer.explorer.engines import explore
from smp_explorer.explorer.options import Options
from smp_explorer.explorer.store import EMPTY, M64, KeyTable, Layout
from smp_explorer.runs.compiled import compile_model
from smp_explorer.spec.pipeline import load_model


def expected_new(seen: set, batch: list[tuple], ranks: list[int]) -> list[int]:
    """Positions of the keys of `batch` not in `seen`, the smallest rank of each, by rank."""
    best: dict[tuple, int] = {}
    for i, (k, r) in enumerate(zip(batch, ranks)):
        if k not in seen and (k not in best or r < ranks[best[k]]):
            best[k] = i
    return sorted(best.values(), key=lambda i: ranks[i])


def random_batches(kw: int, seed: int, top: bool = False, limit: int | None = None,
                   quotient: tuple[int, int] = (0, 0), pool_size: int = 3000):
    """With `quotient` = (split, extra): keys of 63 + extra bits, `split` of them in word 0."""
    rng = random.Random(seed)
    split, extra = quotient
    table = KeyTable(kw, 16, full_width=top, limit=limit, split=split, extra=extra)
    seen: set[tuple] = set()
    if extra:
        pool = list({(rng.getrandbits(split), rng.getrandbits(63 + extra - split))
                     for _ in range(pool_size)})
        rng.shuffle(pool)
        # keys that differ only in their high bits, or only in their low ones
        pool[:8] = [(0, 0), (0, 1 << (62 + extra - split)), (1, 0), ((1 << split) - 1, 0),
                    ((1 << split) - 1, (1 << (63 + extra - split)) - 1), (0, 1), (5, 1), (5, 0)]
    else:
        pool = [tuple(rng.getrandbits(63) for _ in range(kw)) for _ in range(pool_size)]
    if top:
        pool[:3] = [(M64,), (M64 - 1,), (0,)]
    grow = pool_size // 40
    for step in range(40):
        n = rng.randrange(1, max(700, pool_size // 5))
        batch = [rng.choice(pool[:pool_size // 10 + grow * step]) for _ in range(n)]
        ranks = rng.sample(range(10 * n), n)
        cols = [np.array([k[w] for k in batch], dtype=np.uint64) for w in range(kw)]
        want = expected_new(seen, batch, ranks)
        new, slots = table.insert_slots(cols, np.array(ranks))
        assert new.tolist() == want, step
        if step % 3 == 2 and len(new):
            # take back the keys of the ranks from a cut on (as a batch cut at a row does)
            cut = ranks[want[len(want) // 2]]
            drop = np.array([ranks[i] >= cut for i in new.tolist()], dtype=bool)
            table.remove(slots[drop])
            want = [i for i in want if ranks[i] < cut]
        seen.update(batch[i] for i in want)
        assert len(table) == len(seen)
        probe = pool[:pool_size // 5 + grow * step]
        pc = [np.array([k[w] for k in probe], dtype=np.uint64) for w in range(kw)]
        assert table.contains(pc).tolist() == [k in seen for k in probe], step
    assert sorted(zip(*[c.tolist() for c in table.all_keys()])) == sorted(seen)
    return table


@pytest.mark.parametrize("kw", [1, 2, 3])
def test_key_table_agrees_with_a_python_set(kw):
    for seed in range(3):
        random_batches(kw, seed)


@pytest.mark.parametrize("split,extra", [(63, 9), (60, 9), (40, 2), (62, 12)])
def test_quotient_table_agrees_with_a_python_set(split, extra):
    """Two-word keys of 63 + extra bits, one word a slot; `all_keys` gives the words back."""
    for seed in range(2):
        table = random_batches(2, seed, quotient=(split, extra), pool_size=20000)
        assert len(table.keys) == 1 and table.cap >= 1 << (extra + 8)


def test_a_full_block_of_a_quotient_table_makes_it_grow():
    """Keys all in one block: their block fills long before the table does; every key is
    still found, none is taken twice, and probing for an absent key ends."""
    t = KeyTable(2, 16, split=63, extra=4)
    assert t.cap == 1 << 12           # 16 blocks of 256 slots
    # keys whose block (high bits xor the mixed word's top bits) is 0: choose the mixed word
    from smp_explorer.explorer.store import unmix63
    x = np.arange(1, 1001, dtype=np.uint64) << np.uint64(20)   # top 4 bits 0: block = high bits
    lo = unmix63(x)
    keys = [lo, np.zeros(1000, dtype=np.uint64)]
    new = t.insert(keys, np.arange(1000))
    assert sorted(new.tolist()) == list(range(1000)) and len(t) == 1000
    assert t.cap >= 1 << 14           # grew: 1000 keys do not fit a block of 256
    assert t.contains(keys).all()
    other = [lo, np.ones(1000, dtype=np.uint64)]
    assert not t.contains(other).any()
    assert t.insert(keys, np.arange(1000)).tolist() == []


def test_dining_at_72_bits_is_a_quotient_table():
    model = load_model(MODELS / "classic/dining.spec", {"N": "18"})
    layout = Layout(model)
    assert (layout.bits, layout.nwords, layout.key_words, layout.quotient) == (72, 2, 2, 9)
    assert layout.storage == "exact (2 words)"


def test_a_64_bit_key_of_all_ones_is_a_key_like_any_other():
    """With 64-bit exact keys every word is a key, the empty slot's marker included."""
    table = random_batches(1, 7, top=True)
    assert table.top


def test_key_table_that_spills_agrees_with_a_python_set():
    for seed in range(3):
        table = random_batches(1, seed, limit=3 * 8 * 1024)
        assert table.disk is not None and table.disk.spills >= 2
        table.disk.close()


def test_the_smallest_rank_wins_in_one_probe():
    t = KeyTable(1, 16)
    keys = np.array([5, 9, 5, 7, 9, 11], dtype=np.uint64)
    rank = np.array([4, 3, 1, 0, 2, 5], dtype=np.int32)
    assert t.insert([keys], rank).tolist() == [3, 2, 4, 5]
    assert t.insert([keys], rank).tolist() == []
    assert len(t) == 4


def test_growth_follows_the_new_keys_not_the_candidates():
    """A batch of a million candidates that are copies of a few hundred keys does not size the
    table for a million keys."""
    t = KeyTable(1, 16)
    t.insert([np.arange(300, dtype=np.uint64)], np.arange(300))   # the share of new keys: 1
    t.insert([np.arange(300, 600, dtype=np.uint64)], np.arange(300))
    t.ratio = 1e-4          # as after a batch with few new keys
    many = np.tile(np.arange(600, 900, dtype=np.uint64), 3000)
    new = t.insert([many], np.arange(len(many)))
    assert sorted(many[new].tolist()) == list(range(600, 900))
    assert t.cap <= 1 << 13
    assert t.count / t.cap <= KeyTable.FULL
    # more new keys than forecast: the table grows in the middle of the batch, to fit them
    t.ratio = 1e-4
    many = np.tile(np.arange(1000, 6000, dtype=np.uint64), 100)
    new = t.insert([many], np.arange(len(many)))
    assert sorted(many[new].tolist()) == list(range(1000, 6000))
    assert len(t) == 5900 and t.cap <= 1 << 14
    assert t.contains([np.arange(7000, dtype=np.uint64)]).tolist() == \
        [k < 900 or 1000 <= k < 6000 for k in range(7000)]


# ---- 64-bit states -----------------------------------------------------------------------------

def test_a_64_bit_state_is_a_one_word_key():
    """Dining philosophers at N = 16 take exactly 64 bits, in two 63-bit words: the key is one
    word, exact (the packing is inverted from it), and the same in Python and NumPy."""
    model = load_model(MODELS / "classic/dining.spec", {"N": "16"})
    layout = Layout(model)
    assert (layout.bits, layout.nwords, layout.key_words) == (64, 2, 1)
    assert layout.storage == "exact" and layout.full_width
    rng = random.Random(3)
    states = [tuple(rng.randint(s.lo, s.hi) for s in model.slots) for _ in range(2000)]
    states.append(tuple(s.hi for s in model.slots))
    packed = [layout.pack(s) for s in states]
    keys = [layout.key(t) for t in packed]
    assert len(set(keys)) == len(set(states))
    assert all(0 <= k <= M64 for k in keys)
    words = [np.array([layout.words(t)[w] for t in packed], dtype=np.uint64) for w in range(2)]
    assert layout.key_words_numpy(words)[0].tolist() == keys
    # the generated scalar code computes the same key
    t = packed[-1]
    assert eval(layout.key_source("t"), {"t": t}) == keys[-1]


@pytest.mark.parametrize("n,storage,engine", [
    (16, "exact", "vector"), (16, "exact", "auto"), (16, "exact", "scalar"),
    # 72-bit states: a quotient table
    (18, "exact (2 words)", "vector"), (18, "exact (2 words)", "auto")])
def test_wide_states_explore_as_the_reference_engine_does(n, storage, engine):
    """Dining at N = 16 (64-bit states) and N = 18 (72 bits) against the reference engine's
    Python set of whole states: the same counts, verdicts and shortest traces."""
    model = load_model(MODELS / "classic/dining.spec", {"N": str(n)})
    opts = dict(max_states=30000 if n == 16 else 60000, check_deadlock=True)
    want = explore(compile_model(model), Options(engine="reference", **opts))
    got = explore(compile_model(model), Options(engine=engine, **opts))
    assert got.stats.storage == storage
    assert (got.stats.states, got.stats.transitions, got.stats.depth) == \
        (want.stats.states, want.stats.transitions, want.stats.depth)
    assert [(p.name, p.status, p.trace) for p in got.properties] == \
        [(p.name, p.status, p.trace) for p in want.properties]


def test_empty_marker_never_hides_a_state():
    """EMPTY (all ones) is the table's free-slot marker; as a 64-bit key it is stored apart."""
    t = KeyTable(1, 16, full_width=True)
    batch = np.array([EMPTY, 3, EMPTY], dtype=np.uint64)
    assert t.insert([batch], np.array([2, 1, 0])).tolist() == [2, 1]
    assert t.contains([batch]).tolist() == [True, True, True]
    assert t.insert([batch], np.array([0, 1, 2])).tolist() == []


# ---- cached parser tables ----------------------------------------------------------------------

@pytest.fixture
def cache(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("SMP_EXPLORER_CACHE", str(d))
    return d


def test_parser_tables_are_cached_and_reused(cache, tmp_path):
    from smp_explorer.spec.lark_cache import cached_lalr
    g = tmp_path / "g.lark"
    g.write_text('start: "a"+\n')
    p1 = cached_lalr(g)
    files = list(cache.iterdir())
    assert len(files) == 1 and files[0].name.startswith("lark-g-")
    stamp = files[0].stat().st_mtime_ns
    p2 = cached_lalr(g)          # read from the file, not rebuilt: the file is not rewritten
    assert files[0].stat().st_mtime_ns == stamp
    assert p1.parse("aaa") == p2.parse("aaa")


def test_a_changed_grammar_never_meets_a_stale_table(cache, tmp_path):
    from lark.exceptions import UnexpectedInput
    from smp_explorer.spec.lark_cache import cached_lalr
    g = tmp_path / "g.lark"
    g.write_text('start: "a"+\n')
    cached_lalr(g).parse("aa")
    g.write_text('start: ("a" | "b")+\n')
    assert cached_lalr(g).parse("ab") is not None
    g.write_text('start: "a"+\n')
    with pytest.raises(UnexpectedInput):
        cached_lalr(g).parse("ab")
    # a table file that is not what its name says (copied over, truncated) is rebuilt
    for f in cache.iterdir():
        f.write_bytes(b"garbage")
    assert cached_lalr(g).parse("aaa") is not None


def test_no_writable_cache_only_costs_the_rebuild(tmp_path, monkeypatch):
    from smp_explorer.spec.lark_cache import cache_dir, cached_lalr
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("SMP_EXPLORER_CACHE", str(blocker / "cache"))   # cannot be created
    assert cache_dir() is None
    g = tmp_path / "g.lark"
    g.write_text('start: "a"+\n')
    assert cached_lalr(g).parse("aa") is not None
    monkeypatch.setenv("SMP_EXPLORER_CACHE", "")
    assert cache_dir() is None


def test_the_spec_and_litmus_grammars_use_the_cache(cache):
    from smp_explorer.spec import parser
    from smp_explorer.spec.litmus import text
    parser._parser.cache_clear()
    text.lark_parser.cache_clear()
    parser._parser()
    text.lark_parser("c.lark")
    names = sorted(f.name.split("-")[1] for f in cache.iterdir())
    assert names == ["c", "grammar"]
    parser._parser.cache_clear()
    text.lark_parser.cache_clear()
