"""State storage shared by the engines: packed states, their keys, and a NumPy hash table.

A state is packed into one Python int: each slot takes `bit_length(hi - lo)` bits and holds
`value - lo`; slots are laid out in order in 63-bit words (a slot never straddles two words),
word `w` at bit `63 * w`. The NumPy engine sees the same state as `nwords` uint64 columns.

The visited set holds one *key* per state:
* exact, one word (the packed state fits in 63 bits): the packed state itself;
* exact, several words (by default up to two, `exact=True` for more): the words themselves;
  a two-word state of at most 63 + QUOTIENT_BITS bits still takes one word of the NumPy table
  (`KeyTable`'s quotient: the slot's block holds the bits the word leaves out);
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
from smp_explorer.explorer.spill import DiskRuns

WORD_BITS = 63
M63 = (1 << WORD_BITS) - 1
M64 = (1 << 64) - 1
INLINE_KEY_WORDS = 8             # generated code computes wider states' keys by a call
EMPTY = M64                      # an unused table slot (no key equals it: see `Layout.key`)
EXACT_WORDS = 2                  # exact keys up to this many words unless told otherwise
QUOTIENT_BITS = 12               # two-word states of up to 63 + this many bits: one word a slot
QUOTIENT_BLOCK = 8               # a quotient table's blocks have at least 2 ** this many slots

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


def fp_packed(t: int, nwords: int) -> int:
    """`fp_python` of the words of a packed state of `nwords` words."""
    return fp_python([(t >> (WORD_BITS * w)) & M63 for w in range(nwords)])


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


# an invertible mix of 63-bit words (xorshifts and odd multipliers modulo 2 ** 63), for the
# quotient table: its low bits place a key in its block, its high bits pick the block
_Q1 = 0x3C79AC492BA7B653 | 1
_Q2 = 0x1C69B3F74AC4AE35 | 1
_Q1_INV = pow(_Q1, -1, 1 << WORD_BITS)
_Q2_INV = pow(_Q2, -1, 1 << WORD_BITS)


def mix63(x, inplace: bool = False):
    """An invertible mix of an array of 63-bit words (`unmix63` inverts it); in place, or
    a new array."""
    import numpy as np
    u = np.uint64
    m = u(M63)
    t = x >> u(31)
    if not inplace:
        x = x.copy()
    x ^= t
    x *= u(_Q1)
    x &= m
    np.right_shift(x, u(29), out=t)
    x ^= t
    x *= u(_Q2)
    x &= m
    np.right_shift(x, u(32), out=t)
    x ^= t
    return x


def unmix63(x):
    """The words `mix63` was given."""
    import numpy as np
    u = np.uint64
    m = u(M63)
    x = x ^ (x >> u(32))
    x *= u(_Q2_INV)
    x &= m
    x = x ^ (x >> u(29)) ^ (x >> u(58))
    x *= u(_Q1_INV)
    x &= m
    return x ^ (x >> u(31)) ^ (x >> u(62))


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
        # A state of at most 64 bits is one word of key even when its slots take two 63-bit
        # words: the bits of word 1 go above the `used0` bits word 0 uses (exact, invertible).
        self.used0 = max((f.shift + f.width for f in fields if f.word == 0), default=0)
        self.joined = self.exact and self.nwords == 2 and self.bits <= 64
        # the key is one uint64 (the packed state, joined, or its fingerprint) or all the words
        self.key_words = self.nwords if self.exact and not self.joined else 1
        # One-word keys fold the high half of the state onto the low half (an invertible
        # xorshift, so still exact): a Python set indexes by the low bits of an int, and the
        # low slots of a packed state often take few values.
        self.fold = max(1, (self.bits + 1) // 2) if self.exact and self.key_words == 1 else 0
        # Only a 64-bit state can have the key EMPTY (all ones): the table keeps that one apart.
        self.full_width = self.exact and self.key_words == 1 and self.bits >= 64
        # A two-word state of 63 + e bits (e <= QUOTIENT_BITS) takes one word of the NumPy
        # table: the slot's block says the e bits the word leaves out (`KeyTable`, quotient).
        extra = self.bits - WORD_BITS
        self.quotient = extra if self.exact and self.key_words == 2 and \
            0 < extra <= QUOTIENT_BITS else 0

    @property
    def storage(self) -> str:
        if not self.exact:
            return "fingerprint"
        return "exact" if self.key_words == 1 else f"exact ({self.nwords} words)"

    def key_words_numpy(self, words):
        """The key of each state given as word columns: what `key` gives, as uint64 words."""
        import numpy as np
        if self.fold:
            w = words[0]
            if self.joined:
                w = w | (words[1] << np.uint64(self.used0))
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
            if self.joined:
                t = (t & M63) | ((t >> WORD_BITS) << self.used0)
            return t ^ (t >> self.fold)
        return t if self.exact else fp_python(self.words(t))

    def key_source(self, var: str) -> str:
        """Python source computing the key of packed state `var` (for generated code)."""
        if self.fold and self.joined:
            j = f"(({var} & {M63}) | (({var} >> {WORD_BITS}) << {self.used0}))"
            return f"{j} ^ ({j} >> {self.fold})"
        if self.fold:
            return f"{var} ^ ({var} >> {self.fold})"
        if self.exact:
            return var
        if self.nwords > INLINE_KEY_WORDS:
            # one call (`fp_packed`): inline, the key is a line the width of the state in
            # every step of the generated code
            return f"_fpk({var}, {self.nwords})"
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


def _distinct(a):
    """The distinct values of an integer array, sorted (`np.unique` by a sort: NumPy 2's
    hashing `unique` is many times slower on large arrays)."""
    import numpy as np
    a = np.sort(a)
    if len(a) < 2:
        return a
    keep = np.empty(len(a), dtype=bool)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]


class BlockFull(Exception):
    """A block of a quotient table has no free slot left (the table grows)."""


class KeyTable:
    """A NumPy open-addressing hash table of keys (one or more uint64 words per key), linear
    probing, at most `LOAD` full after it grows.

    `insert` takes a batch of candidate keys, each with a rank, and inserts the new ones in one
    probe that both tests and inserts; among equal keys in a batch the one with the smallest
    rank is the one inserted. That is how the vector engine keeps exactly the breadth-first order
    of the scalar engine. Equal keys of a batch start at the same slot and see the same slots in
    the same rounds, so they find their slot, or claim it, together; a batch is deduplicated as
    it is probed, at no extra pass over the table. `remove` takes back keys of the last batch
    (the rows a batch does not commit).

    The table grows when the keys it expects (the batch's candidates times the share of new
    ones in the previous batch) would fill it beyond `LOAD`, to the next power of two that
    holds them (not for every candidate of a batch: most are duplicates); should a batch bring
    more new keys than forecast, it grows in the middle of the batch before it is `FULL`.

    A *quotient* table (`extra` = e > 0) holds exact two-word keys of 63 + e bits in one word a
    slot: the key (word 0 holding its low `split` bits, word 1 the rest) is mixed invertibly
    (`mix63` of its low 63 bits; the high e bits xor the mixed word's top e bits), the table is
    2 ** e blocks, the block is the mixed high e bits, the slot in the block comes from the
    mixed word's low bits, probing wraps around within the block, and the slot keeps the mixed
    word. Two keys in one block are equal exactly when their words are: exact storage, probed
    as one-word keys are. A block found full (every slot of it probed) makes the table grow.
    """

    LOAD = 0.5
    FULL = 0.8
    CELLS = 1 << 20

    def __init__(self, key_words: int, capacity: int = 1 << 12, full_width: bool = False,
                 limit: int | None = None, split: int = 0, extra: int = 0):
        import numpy as np
        self.np = np
        self.kw = key_words
        # quotient: the high `extra` bits of a two-word key are its block (see above)
        assert not extra or key_words == 2
        self.extra, self.split = extra, split
        self.sw = 1 if extra else key_words        # words a slot stores
        self.min_bits = max(10, extra + QUOTIENT_BLOCK) if extra else 10
        # at most `limit` bytes in memory: then the keys go to disk as a sorted run (one-word
        # keys only; `explorer.spill`)
        self.limit = limit
        self.disk: DiskRuns | None = None          # made at the first spill
        # with 64-bit exact keys, the key EMPTY itself is a state: kept apart, in `top`
        self.full_width = full_width
        self.top = False
        self.count = 0
        self.ratio = 1.0            # new keys per candidate in the last batch
        self._mul = [np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F),
                     np.uint64(0x165667B19E3779F9), np.uint64(0xD6E8FEB86659FD93)]
        self._alloc(1 << max(self.min_bits, (max(capacity, 2) - 1).bit_length()))

    def _alloc(self, cap: int) -> None:
        np = self.np
        self.cap = cap
        self.bits = cap.bit_length() - 1
        self.mask = cap - 1
        self.keys = [np.full(cap, EMPTY, dtype=np.uint64)] + \
            [np.zeros(cap, dtype=np.uint64) for _ in range(self.sw - 1)]
        # probing goes round within a block: 2 ** qshift slots (the whole table unless quotient)
        self.qshift = self.bits - self.extra
        self.bmask = (1 << self.qshift) - 1
        self.hmask = self.mask ^ self.bmask

    def __len__(self) -> int:
        """The keys in memory and on disk."""
        return self.count + (self.disk.count if self.disk is not None else 0)

    @property
    def nbytes(self) -> int:
        return sum(k.nbytes for k in self.keys)

    def _next(self, h, step=1):
        """The slots after `h` (by `step`, 0 or 1) in probe order."""
        if self.extra:
            n = h + step
            n &= self.bmask
            n |= h & self.hmask
            return n
        n = h + step
        n &= self.mask
        return n

    def _internal(self, keys):
        """A quotient table's form of two-word keys: [mixed word, block]."""
        np = self.np
        if not self.extra:
            return keys
        u = np.uint64
        x = keys[1] << u(self.split)
        x |= keys[0]
        x &= u(M63)
        hi = keys[1] >> u(WORD_BITS - self.split)
        x = mix63(x, inplace=True)
        hi ^= x >> u(WORD_BITS - self.extra)
        return [x, hi]

    def _external(self, x, block):
        """`_internal` reversed: the two words of the keys with mixed words `x` in `block`."""
        np = self.np
        u = np.uint64
        hi = block ^ (x >> u(WORD_BITS - self.extra))
        lo = unmix63(x)
        w0 = lo & u((1 << self.split) - 1)
        return [w0, (lo >> u(self.split)) | (hi << u(WORD_BITS - self.split))]

    def _blocks(self, slots):
        """The blocks of slots of a quotient table, as a key column."""
        return (slots >> self.qshift).astype(self.np.uint64)

    def _hash(self, keys):
        np = self.np
        if self.extra:
            h = (keys[1] << np.uint64(self.qshift)) | (keys[0] & np.uint64(self.bmask))
            return h.astype(np.int64)
        h = keys[0] * self._mul[0]
        for i in range(1, self.kw):
            h ^= keys[i] * self._mul[i % 4]
            h *= self._mul[0]
        return (h >> np.uint64(64 - self.bits)).astype(np.int64)

    # ---- growth ------------------------------------------------------------------------------
    def capacity_for(self, keys: int) -> int:
        """The table size that holds `keys` keys at most `LOAD` full."""
        return 1 << max(self.min_bits, (int(keys / self.LOAD) - 1).bit_length())

    def reserve(self, extra: int) -> None:
        """Make room for `extra` more keys (at most `LOAD` full)."""
        if self.count + extra > self.cap * self.LOAD:
            self._grow(self.capacity_for(self.count + extra))

    def _make_room(self, candidates: int) -> None:
        expected = int(candidates * min(1.0, 1.5 * self.ratio)) + 64
        if self.count + expected <= self.cap * self.LOAD:
            return
        cap = self.capacity_for(self.count + expected)
        if self.limit is not None and self.kw == 1 and self.count > self.top and \
                8 * (cap + self.cap) > self.limit:
            # growing (the old table and the new one, while it is filled) would pass the
            # budget: the keys go to disk, and the table starts again, empty
            self.spill()
            if self.count + expected <= self.cap * self.LOAD:
                return
            cap = self.capacity_for(self.count + expected)
        self._grow(cap)

    def spill(self) -> None:
        """Write the keys in memory to disk as one sorted run; empty the table."""
        if self.disk is None:
            self.disk = DiskRuns()
        np = self.np
        t0 = self.keys[0]
        self.disk.add(t0[t0 != np.uint64(EMPTY)])
        t0.fill(EMPTY)
        self.count = int(self.top)

    def _grow(self, cap: int) -> None:
        old, old_cap, old_shift = self.keys, self.cap, self.qshift
        while True:
            self._alloc(cap)
            self.count = int(self.top)
            try:
                self._rehash(old, old_cap, old_shift)
                return
            except BlockFull:        # (a quotient table) so many keys in one block: larger
                cap *= 2

    def _rehash(self, old: list, old_cap: int, old_shift: int) -> None:
        np = self.np
        step = 1 << 22
        for a in range(0, old_cap, step):      # a slice at a time: few temporaries
            used = old[0][a:a + step] != np.uint64(EMPTY)
            keys = [k[a:a + step][used] for k in old]
            if self.extra:
                keys.append(((np.flatnonzero(used) + a) >> old_shift).astype(np.uint64))
            if len(keys[0]):
                self._place_distinct(keys)

    def _place_distinct(self, keys) -> None:
        """Insert keys known to be distinct and absent (a rehash)."""
        np = self.np
        t = self.keys
        h = self._hash(keys)
        idx = np.arange(len(keys[0]))
        empty = np.uint64(EMPTY)
        rounds = 0
        while idx.size:
            rounds += 1
            if self.extra and rounds > 2 * (self.bmask + 2):
                raise BlockFull
            free = t[0][h] == empty
            fi, fh = idx[free], h[free]
            for w in range(self.sw):
                t[w][fh] = keys[w][fi]
            ok = t[0][fh] == keys[0][fi]
            for w in range(1, self.sw):
                ok &= t[w][fh] == keys[w][fi]
            self._untear(fh, ok, [k[fi] for k in keys])
            self.count += int(np.count_nonzero(ok))
            go = np.ones(len(idx), dtype=bool)
            go[np.flatnonzero(free)[ok]] = False
            h = self._next(h, ~free)[go]
            idx = idx[go]

    def _untear(self, fh, ok, fk) -> None:
        """After several keys were written to one free slot at once, each word array holds the
        last writer's word; should two arrays disagree on who that was, no key verifies: free
        such slots again (the keys that wrote them go round again)."""
        if self.sw == 1 or ok.all():
            return
        t = self.keys
        t[0][fh[~ok]] = EMPTY
        for w in range(self.sw):
            t[w][fh[ok]] = fk[w][ok]

    # ---- batches -----------------------------------------------------------------------------
    def contains(self, keys):
        """A boolean array: which keys are in the table."""
        np = self.np
        n = len(keys[0])
        found = np.zeros(n, dtype=bool)
        if n == 0 or self.count + (self.disk.count if self.disk is not None else 0) == 0:
            return found
        if self.full_width and self.top:
            found |= keys[0] == np.uint64(EMPTY)
        if self.disk is not None and self.disk.runs:
            found |= self.disk.contains(keys[0])
        keys = self._internal(keys)
        h = self._hash(keys)
        idx = np.arange(n)
        t0 = self.keys[0]
        empty = np.uint64(EMPTY)
        rounds = 0
        while idx.size:
            rounds += 1
            if self.extra and rounds > self.bmask + 1:
                break               # every slot of their blocks probed: not there
            slot = t0[h]
            hit = slot == keys[0][idx]
            for w in range(1, self.sw):
                hit &= self.keys[w][h] == keys[w][idx]
            found[idx[hit]] = True
            go = ~hit & (slot != empty)
            idx = idx[go]
            h = self._next(h[go])
        return found

    def insert(self, keys, rank):
        """Insert the keys not present yet; return the positions (into the batch) of the keys
        inserted, in ascending rank order. Among equal keys the smallest rank wins."""
        return self.insert_slots(keys, rank)[0]

    def insert_slots(self, keys, rank):
        """`insert`, and the slots the new keys took (for `remove`), in the same order."""
        np = self.np
        n = len(keys[0])
        none = np.zeros(0, dtype=np.int64)
        if n == 0:
            return none, none
        self._make_room(n)
        keys = self._internal(keys)
        before = self.count
        rank = np.asarray(rank, dtype=np.int64)
        won_i: list = []
        won_s: list = []
        top_i = None
        if self.full_width:
            top = keys[0] == np.uint64(EMPTY)
            if top.any():
                ti = np.flatnonzero(top)
                if not self.top:      # the key EMPTY is new: its smallest rank, at "slot" -1
                    top_i = ti[np.argmin(rank[ti])]
                pos = np.flatnonzero(~top)
                self._probe([k[pos] for k in keys], won_i, won_s)
                won_i = [pos[w] for w in won_i]
            else:
                self._probe(keys, won_i, won_s)
        else:
            self._probe(keys, won_i, won_s)
        if top_i is not None:
            self.top = True
            won_i.append(np.full(1, top_i, dtype=np.int64))
            won_s.append(np.full(1, -1, dtype=np.int64))
        if not won_i:
            self.ratio = 0.0
            self.count = before
            return none, none
        wi, ws = np.concatenate(won_i), np.concatenate(won_s)
        wi, ws = self._smallest_ranks(wi, ws, rank)
        self.count = before + len(wi)
        if self.disk is not None and self.disk.runs:
            # new to the table, but perhaps seen before it last spilled
            seen = self.disk.contains(keys[0][wi])
            seen &= ws >= 0        # the key EMPTY never spills
            if seen.any():
                self.remove(ws[seen])
                wi, ws = wi[~seen], ws[~seen]
                # taking keys out moves the keys after them: where the new ones are now
                live = ws >= 0
                ws[live] = self._find([k[wi[live]] for k in keys])
        order = np.argsort(rank[wi], kind="stable")
        self.ratio = len(wi) / n
        return wi[order], ws[order]

    def _probe(self, keys, won_i: list, won_s: list) -> None:
        """Find or claim a slot for every key: `won_i`/`won_s` get the keys that claimed a free
        slot and the slot (equal keys claim their slot together)."""
        np = self.np
        t, kw = self.keys, self.sw
        h = self._hash(keys)
        idx = None                 # the first round: every key, in order (no gathers)
        empty = np.uint64(EMPTY)
        base, pending, counted = self.count, 0, 0
        rounds = 0
        while True:
            rounds += 1
            k0 = keys[0] if idx is None else keys[0][idx]
            slot = t[0][h]
            # found: done; another key: the next slot; empty: claim it
            hit = slot == k0
            if kw > 1:
                c = np.flatnonzero(hit)
                if c.size:
                    hc, ic = h[c], (c if idx is None else idx[c])
                    same = t[1][hc] == keys[1][ic]
                    for w in range(2, kw):
                        same &= t[w][hc] == keys[w][ic]
                    hit[c] = same
            nf = np.flatnonzero(slot == empty)
            if nf.size:
                # claim the free slots: one key lands in each, equal keys together; the others
                # look at the same slot again (another key: they go on; empty again: again)
                fh = h[nf]
                fi = nf if idx is None else idx[nf]
                fk = [keys[w][fi] for w in range(kw)]
                for w in range(kw):
                    t[w][fh] = fk[w]
                ok = t[0][fh] == fk[0]
                for w in range(1, kw):
                    ok &= t[w][fh] == fk[w]
                self._untear(fh, ok, fk)
                won_i.append(fi[ok])
                won_s.append(fh[ok])
                hit[nf] = ok
                pending += int(np.count_nonzero(ok))
            go = np.flatnonzero(~hit)
            if not go.size:
                return
            hg = h[go]
            h = self._next(hg)
            if nf.size and not ok.all():
                # a key that lost the claim of a free slot looks at it again
                lost = np.searchsorted(go, nf[~ok])
                h[lost] = hg[lost]
            idx = go if idx is None else idx[go]
            # (a quotient table) a key probed every slot of its block: the block is full
            full = self.extra and rounds > 2 * (self.bmask + 2)
            if full or base + pending > self.FULL * self.cap:
                # more new keys than forecast: count them exactly (equal keys share a slot)
                pending = len(_distinct(np.concatenate(won_s[counted:]))) if \
                    len(won_s) > counted else 0
                if full or base + pending > self.FULL * self.cap:
                    # grow now; the keys claimed so far move: where they are now
                    cap = self.capacity_for(base + 2 * pending)
                    self._grow(max(cap, 2 * self.cap) if full else cap)
                    won_s[:] = [self._find([k[w] for k in keys]) for w in won_i]
                    t = self.keys
                    h = self._hash([k[idx] for k in keys])
                    base, pending, counted = self.count, 0, len(won_s)
                    rounds = 0

    def _smallest_ranks(self, wi, ws, rank):
        """Of the keys that claimed one slot together (equal keys), the one of smallest rank."""
        np = self.np
        if len(ws) < 2:
            return wi, ws
        big = np.iinfo(np.int64).max
        # claims by slot modulo the number of cells, about twice the keys (two slots sharing a
        # cell only make one of them go round again), at most CELLS; for this batch only
        cells = min(self.CELLS, 1 << max(10, (2 * len(ws) - 1).bit_length()))
        cbits = cells.bit_length() - 1
        cmask = cells - 1
        # a claim's value: its slot's bits above the cell, then its rank, so the smallest value
        # of a cell is the smallest rank of one slot, and that slot is in the value
        ranks = rank[wi]
        rb = max(1, int(ranks.max()).bit_length())
        if int(ranks.min()) < 0 or rb + max(0, self.bits - cbits) > 62:
            ranks = np.unique(ranks, return_inverse=True)[1].astype(np.int64)   # same order
            rb = max(1, (len(ranks) - 1).bit_length())
        value = ((ws >> cbits) << rb) | ranks
        claim = np.full(cells, big, dtype=np.int64)
        keep = np.zeros(len(wi), dtype=bool)
        todo = None                     # the first round: all of them (no gathers)
        while True:
            s = ws if todo is None else ws[todo]
            v = value if todo is None else value[todo]
            cell = s & cmask
            np.minimum.at(claim, cell, v)
            won = claim[cell]
            first = won == v
            if todo is None:
                keep |= first
            else:
                keep[todo[first]] = True
            # not first: an equal key of larger rank (same slot), or another slot's cell
            again = np.flatnonzero((won >> rb) != (s >> cbits))
            claim[cell] = big
            if not again.size:
                return wi[keep], ws[keep]
            todo = again if todo is None else todo[again]

    def remove(self, slots) -> None:
        """Take out the keys at `slots` (from `insert_slots`): the keys that follow one in its
        run of occupied slots are inserted again, so every probe still finds its key."""
        np = self.np
        slots = np.asarray(slots, dtype=np.int64)
        if (slots < 0).any():
            self.top = False
            self.count -= 1
            slots = slots[slots >= 0]
        if not slots.size:
            return
        t = self.keys
        empty = np.uint64(EMPTY)
        t[0][slots] = empty
        self.count -= len(slots)
        runs = []
        p = self._next(slots)
        while p.size:
            p = p[t[0][p] != empty]
            runs.append(p)
            p = self._next(p)
        moved = _distinct(np.concatenate(runs))
        if moved.size:
            keys = [k[moved].copy() for k in t]
            if self.extra:
                keys.append(self._blocks(moved))
            t[0][moved] = empty
            self.count -= len(moved)
            self._place_distinct(keys)

    def _find(self, keys):
        """The slots of keys that are in the table."""
        np = self.np
        h = self._hash(keys)
        out = np.zeros(len(h), dtype=np.int64)
        idx = np.arange(len(h))
        while idx.size:
            hit = self.keys[0][h] == keys[0][idx]
            for w in range(1, self.sw):
                hit &= self.keys[w][h] == keys[w][idx]
            out[idx[hit]] = h[hit]
            idx, h = idx[~hit], self._next(h[~hit])
        return out

    def all_keys(self) -> list:
        """Every key, as word columns (in table order)."""
        np = self.np
        used = self.keys[0] != np.uint64(EMPTY)
        if self.extra:
            return self._external(self.keys[0][used], self._blocks(np.flatnonzero(used)))
        cols = [k[used] for k in self.keys]
        if self.disk is not None and self.disk.count:
            cols = [np.concatenate([cols[0], self.disk.keys()])]
        if self.top:
            cols = [np.concatenate([c, np.full(1, EMPTY if w == 0 else 0, dtype=np.uint64)])
                    for w, c in enumerate(cols)]
        return cols

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
    def from_keys(cls, layout: Layout, keys: Collection[Any], limit: int | None = None) -> KeyTable:
        """A table holding the keys of a Python-set store (or of a checkpoint)."""
        table = cls(layout.key_words, 1 << 16, layout.full_width, limit,
                    layout.used0, layout.quotient)
        table.reserve(len(keys))
        if keys:
            table.insert(table._columns(keys), table.np.arange(len(keys), dtype=table.np.int32))
        return table
