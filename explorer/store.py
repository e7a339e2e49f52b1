"""State storage shared by the engines: packed states, their keys, and a NumPy hash table.

A state is packed into one Python int: each slot takes `bit_length(hi - lo)` bits and holds
`value - lo`; slots are laid out in order in 63-bit words (a slot never straddles two words),
word `w` at bit `63 * w`. The NumPy engine sees the same state as `nwords` uint64 columns.

The visited set holds one *key* per state:
* exact, one word (the packed state fits in 63 bits): the packed state itself;
* exact, several words (by default up to two, `exact=True` for more): the words themselves;
* otherwise a 64-bit fingerprint of the words (TLC's choice), with the probability that two
  distinct states shared one estimated in the statistics.

States themselves are not kept: a trace is rebuilt by replaying the recorded actions from an
initial state, as Stateright does, so the store costs only the key, a parent index and an action
number per state.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Collection, Hashable, Iterable, Iterator, Mapping, Protocol

from smp_explorer.ir.model import Model

WORD_BITS = 63
M63 = (1 << WORD_BITS) - 1
M64 = (1 << 64) - 1
EMPTY = M64                      # an unused table slot (no key equals it: see `Layout.key`)
EXACT_WORDS = 2                  # exact keys up to this many words unless told otherwise

# fingerprint mixing constants (splitmix64 / murmur3 fmix64); fixed, so keys are reproducible
_K0 = 0x9E3779B97F4A7C15
_K1 = 0xBF58476D1CE4E5B9
_K2 = 0x94D049BB133111EB


def fp_python(words) -> int:
    """64-bit fingerprint of a sequence of words (same function as `fp_numpy`)."""
    h = 0
    for w in words:
        h = ((h ^ w) * _K0) & M64
        h ^= h >> 29
    h = ((h ^ (h >> 30)) * _K1) & M64
    h = ((h ^ (h >> 27)) * _K2) & M64
    h ^= h >> 31
    return h if h != EMPTY else EMPTY - 1


def fp_numpy(words):
    """The fingerprint of each column of `words` (a sequence of uint64 arrays)."""
    import numpy as np
    h = np.zeros(len(words[0]), dtype=np.uint64)
    k0, k1, k2 = np.uint64(_K0), np.uint64(_K1), np.uint64(_K2)
    s29, s30, s27, s31 = (np.uint64(n) for n in (29, 30, 27, 31))
    for w in words:
        h ^= w
        h *= k0
        h ^= h >> s29
    h ^= h >> s30
    h *= k1
    h ^= h >> s27
    h *= k2
    h ^= h >> s31
    h[h == np.uint64(EMPTY)] = np.uint64(EMPTY - 1)
    return h


@dataclass(frozen=True)
class Field:
    word: int
    shift: int      # within the word
    width: int      # bits (0 for a slot with one value)
    lo: int

    @property
    def offset(self) -> int:
        """The bit offset in the packed Python int."""
        return self.word * WORD_BITS + self.shift

    @property
    def mask(self) -> int:
        return (1 << self.width) - 1


class Layout:
    """Where each slot lives in a packed state, and how a packed state becomes a key."""

    def __init__(self, model: Model, exact: bool = False):
        fields = []
        word, used = 0, 0
        for s in model.slots:
            width = (s.hi - s.lo).bit_length()
            if used + width > WORD_BITS:
                word, used = word + 1, 0
            fields.append(Field(word, used, width, s.lo))
            used += width
        self.fields: tuple[Field, ...] = tuple(fields)
        self.nwords = word + 1
        self.bits = sum(f.width for f in fields)
        self.exact = exact or self.nwords <= EXACT_WORDS
        # the key is one uint64 (the packed state or its fingerprint) or all the words
        self.key_words = self.nwords if self.exact else 1
        # One-word keys fold the high half of the state onto the low half (an invertible
        # xorshift, so still exact): a Python set indexes by the low bits of an int, and the
        # low slots of a packed state often take few values.
        self.fold = max(1, (self.bits + 1) // 2) if self.exact and self.nwords == 1 else 0

    @property
    def storage(self) -> str:
        if not self.exact:
            return "fingerprint"
        return "exact" if self.nwords == 1 else f"exact ({self.nwords} words)"

    def key_words_numpy(self, words):
        """The key of each state given as word columns: what `key` gives, as uint64 words."""
        import numpy as np
        if self.fold:
            w = words[0]
            return [w ^ (w >> np.uint64(self.fold))]
        if self.exact:
            return list(words)
        return [fp_numpy(words)]

    def pack(self, state) -> int:
        t = 0
        for f, v in zip(self.fields, state):
            t |= (v - f.lo) << f.offset
        return t

    def unpack(self, t: int) -> tuple[int, ...]:
        return tuple(((t >> f.offset) & f.mask) + f.lo for f in self.fields)

    def words(self, t: int) -> list[int]:
        return [(t >> (WORD_BITS * w)) & M63 for w in range(self.nwords)]

    def slot_test_mask(self, facts: Mapping[int, int]) -> tuple[int, int]:
        """(mask, value) such that `packed & mask == value` exactly when each slot in `facts`
        holds its value (a value outside its slot's range: a test no state passes)."""
        mask = value = 0
        for slot, v in facts.items():
            f = self.fields[slot]
            if not 0 <= v - f.lo <= f.mask:
                return 0, 1
            mask |= f.mask << f.offset
            value |= (v - f.lo) << f.offset
        return mask, value

    def word_tests(self, facts: Mapping[int, int]) -> list[tuple[int, int, int]]:
        """`slot_test_mask` per word: (word, mask, value) for the words it tests."""
        mask, value = self.slot_test_mask(facts)
        tests = []
        for w in range(self.nwords):
            m, v = (mask >> (WORD_BITS * w)) & M63, (value >> (WORD_BITS * w)) & M63
            if m or v:
                tests.append((w, m, v))
        return tests

    def key(self, t: int) -> int:
        """The key of a packed state in the scalar engine's set: the state itself when exact
        (a Python int of any width), else its fingerprint."""
        if self.fold:
            return t ^ (t >> self.fold)
        return t if self.exact else fp_python(self.words(t))

    def key_source(self, var: str) -> str:
        """Python source computing the key of packed state `var` (for generated code)."""
        if self.fold:
            return f"{var} ^ ({var} >> {self.fold})"
        if self.exact:
            return var
        words = ", ".join(f"({var} >> {WORD_BITS * w}) & {M63}" if w else f"{var} & {M63}"
                          for w in range(self.nwords))
        return f"_fp(({words},))"

    def collision_probability(self, states: int, transitions: int) -> float:
        """TLC's optimistic estimate for 64-bit fingerprints: each of the `transitions` lookups
        could have matched one of up to `states` stored fingerprints by accident."""
        return states * max(transitions, states) / 2.0 ** 64


# Below this, the chance that fingerprints merged two states is not worth a line of the report.
NOTE_PROBABILITY = 1e-9


def fingerprint_note(layout: Layout, states: int, transitions: int) -> str | None:
    """The fingerprints' collision estimate, when it is worth reading (> NOTE_PROBABILITY)."""
    p = layout.collision_probability(states, transitions)
    if p <= NOTE_PROBABILITY:
        return None
    return (f"states stored as 64-bit fingerprints ({layout.bits}-bit states): the probability "
            f"that two distinct states were merged is about {p:.1e} (--exact stores them whole)")


class VisitedSet(Protocol):
    """The keys of the states seen so far (`Layout.key`), one at a time."""

    def __contains__(self, key: object) -> bool: ...

    def add(self, key: Hashable) -> None: ...

    @property
    def nbytes(self) -> int: ...


class KeySet:
    """The visited set as a Python set of keys. The generated scalar code works on `keys`
    itself: `in` on a plain set is much faster than on a subclass of set."""

    def __init__(self, keys: Iterable[Hashable] = ()):
        self.keys: set[Hashable] = set(keys)

    def __contains__(self, key: object) -> bool:
        return key in self.keys

    def add(self, key: Hashable) -> None:
        self.keys.add(key)

    def __len__(self) -> int:
        return len(self.keys)

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self.keys)

    @property
    def nbytes(self) -> int:
        """An estimate: the table plus one key object per state."""
        if not self.keys:
            return sys.getsizeof(self.keys)
        return sys.getsizeof(self.keys) + len(self.keys) * sys.getsizeof(next(iter(self.keys)))


class KeyTable:
    """A NumPy open-addressing hash table of keys (one or more uint64 words per key).

    `insert` takes a batch of candidate keys, each with a rank, and inserts the new ones; among
    equal keys in a batch the one with the smallest rank is the one inserted. That is how the
    vector engine keeps exactly the breadth-first order of the scalar engine.
    """

    LOAD = 0.5

    def __init__(self, key_words: int, capacity: int = 1 << 12):
        import numpy as np
        self.np = np
        self.kw = key_words
        cap = 1 << max(10, (capacity - 1).bit_length())
        self._alloc(cap)
        self.count = 0
        self._mul = [np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F),
                     np.uint64(0x165667B19E3779F9), np.uint64(0xD6E8FEB86659FD93)]

    def _alloc(self, cap: int) -> None:
        np = self.np
        self.cap = cap
        self.bits = cap.bit_length() - 1
        self.mask = cap - 1
        self.keys = [np.full(cap, EMPTY, dtype=np.uint64)] + \
            [np.zeros(cap, dtype=np.uint64) for _ in range(self.kw - 1)]
        # claims of one insertion round, by slot modulo its size: small enough to stay in cache
        # (two slots sharing a cell only make one of them try again in the next round)
        self.claim = np.full(min(cap, 1 << 20), np.iinfo(np.int32).max, dtype=np.int32)
        self.cmask = len(self.claim) - 1

    @property
    def nbytes(self) -> int:
        return sum(k.nbytes for k in self.keys) + self.claim.nbytes

    def _hash(self, keys):
        np = self.np
        h = keys[0] * self._mul[0]
        for i in range(1, self.kw):
            h ^= keys[i] * self._mul[i % 4]
            h *= self._mul[0]
        return (h >> np.uint64(64 - self.bits)).astype(np.int64)

    def reserve(self, extra: int) -> None:
        if (self.count + extra) <= self.cap * self.LOAD:
            return
        np = self.np
        cap = self.cap
        while (self.count + extra) > cap * self.LOAD:
            cap *= 4
        old = self.keys
        used = old[0] != np.uint64(EMPTY)
        keys = [k[used] for k in old]
        self._alloc(cap)
        self.count = 0
        if len(keys[0]):
            for a in range(0, len(keys[0]), 1 << 22):
                self.insert([k[a:a + (1 << 22)] for k in keys],
                            np.arange(min(1 << 22, len(keys[0]) - a), dtype=np.int32))

    def contains(self, keys):
        """A boolean array: which keys are in the table."""
        np = self.np
        n = len(keys[0])
        found = np.zeros(n, dtype=bool)
        if n == 0 or self.count == 0:
            return found
        h = self._hash(keys)
        idx = np.arange(n)
        t0 = self.keys[0]
        empty = np.uint64(EMPTY)
        while idx.size:
            slot = t0[h]
            hit = slot == keys[0][idx]
            for w in range(1, self.kw):
                hit &= self.keys[w][h] == keys[w][idx]
            found[idx[hit]] = True
            go = ~hit & (slot != empty)
            idx = idx[go]
            h = (h[go] + 1) & self.mask
        return found

    def insert(self, keys, rank):
        """Insert the keys not present yet; return the positions (into the batch) of the keys
        inserted, in ascending rank order. Among equal keys the smallest rank wins."""
        np = self.np
        n = len(keys[0])
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        self.reserve(n)
        h = self._hash(keys)
        idx = np.arange(n)
        empty = np.uint64(EMPTY)
        big = np.iinfo(np.int32).max
        t = self.keys
        claim = self.claim
        won = []
        while idx.size:
            slot = t[0][h]
            hit = slot == keys[0][idx]
            for w in range(1, self.kw):
                hit &= t[w][h] == keys[w][idx]
            free = slot == empty
            other = ~hit & ~free
            stay = np.zeros(len(idx), dtype=bool)
            ci = idx[free]
            if ci.size:
                # claim the free slots: the smallest rank per slot wins
                ch = h[free]
                cc = ch & self.cmask
                r = rank[ci]
                np.minimum.at(claim, cc, r)
                win = claim[cc] == r
                wi, wh = ci[win], ch[win]
                t[0][wh] = keys[0][wi]
                for w in range(1, self.kw):
                    t[w][wh] = keys[w][wi]
                claim[cc] = big
                won.append(wi)
                self.count += int(wi.size)
                # a loser looks at the same slot again: it now holds the winner's key
                stay[free] = ~win
            keep = other | stay
            h = np.where(other, (h + 1) & self.mask, h)[keep]
            idx = idx[keep]
        if not won:
            return np.zeros(0, dtype=np.int64)
        out = np.concatenate(won)
        return out[np.argsort(rank[out], kind="stable")]

    # ---- one key at a time (`VisitedSet`), for the rare exact steps ---------------------------
    def _columns(self, keys: Collection[Any]) -> list:
        """Python-set keys (`Layout.key`) as the table's word columns."""
        np = self.np
        if self.kw == 1:
            return [np.fromiter(keys, dtype=np.uint64, count=len(keys))]
        ks = list(keys)
        return [np.array([(k >> (WORD_BITS * w)) & M63 for k in ks], dtype=np.uint64)
                for w in range(self.kw)]

    def __contains__(self, key: object) -> bool:
        assert isinstance(key, int)
        return bool(self.contains(self._columns([key]))[0])

    def add(self, key: Hashable) -> None:
        assert isinstance(key, int)
        self.insert(self._columns([key]), self.np.zeros(1, dtype=self.np.int32))

    @classmethod
    def from_keys(cls, key_words: int, keys: KeySet) -> KeyTable:
        """A table holding the keys of a Python-set store."""
        table = cls(key_words, max(1 << 16, 4 * len(keys)))
        if keys:
            table.insert(table._columns(keys), table.np.arange(len(keys), dtype=table.np.int32))
        return table
