"""The transparency log's Merkle tree: RFC 9162 §2.1 hashing, proofs, verification.

Hashing: leaf ``SHA-256(0x00 ‖ data)``, interior node ``SHA-256(0x01 ‖ left ‖
right)``, empty tree ``SHA-256("")``. The 0x00/0x01 prefixes keep a leaf from
being passed off as an interior node (second-preimage attacks).

Verification (:func:`verify_inclusion`, :func:`verify_consistency`) follows
the algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2 step by step, from the
proof alone, without rebuilding any tree; every failure raises
:class:`~sync.errors.ProofError`.

**Size-0 policy** (the project's one choice, as transparency-dev/merkle):
a consistency proof *from* the empty tree is an error, whatever the second
size -- it proves nothing, since every tree extends the empty tree, and
accepting it invites clients to skip a real check. Clients start from their
first verified checkpoint instead. When both sizes are equal (and non-zero)
the proof must be empty and the roots equal; in that one case roots are only
compared, not length-checked (as transparency-dev does; nothing is hashed).

Generation reads hashes through :class:`TreeHashes`, whose only question is
"the hash of the complete, aligned subtree of ``2**level`` leaves number
``index``". :class:`MemoryTree` answers it from a cache it extends as leaves
are appended (O(log n) per append and per proof); the hub can answer it from
PostgreSQL (stored tiles or memoised subtree rows). Plain sequences of leaf
hashes are also accepted, at O(n) per proof.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from sync.errors import ProofError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MemoryTree",
    "TreeHashes",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "root_from_inclusion_proof",
    "verify_consistency",
    "verify_inclusion",
]

#: SHA-256 output size.
HASH_SIZE = 32

#: Root of the empty tree, ``SHA-256("")``.
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash: ``SHA-256(0x00 ‖ data)``."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: ``SHA-256(0x01 ‖ left ‖ right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


@runtime_checkable
class TreeHashes(Protocol):
    """Read access to a log's hashes, enough to generate any proof.

    ``complete_subtree(level, index)`` is the hash of leaves
    ``[index * 2**level, (index + 1) * 2**level)``, all of which must exist
    (level 0 is the leaf hash itself). Such subtrees never change once
    complete, which is what makes them safe to cache and store.
    """

    @property
    def size(self) -> int:
        """Number of leaves currently in the log."""
        ...

    def complete_subtree(self, level: int, index: int) -> bytes:
        """Hash of the complete subtree of ``2**level`` leaves number ``index``."""
        ...


class MemoryTree:
    """An in-memory append-only tree that keeps every complete subtree hash.

    ``levels[k][i]`` is the hash of complete subtree ``i`` at level ``k``;
    storage is about two hashes per leaf, appends are O(log n) and so are
    proofs. Suitable for tests, tools and the in-process log.
    """

    def __init__(self, leaf_hashes: Sequence[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        for h in leaf_hashes:
            self.append_hash(h)

    @property
    def size(self) -> int:
        """Number of leaves."""
        return len(self._levels[0])

    def append(self, data: bytes) -> int:
        """Append leaf data (hashed with :func:`leaf_hash`); returns its index."""
        return self.append_hash(leaf_hash(data))

    def append_hash(self, h: bytes) -> int:
        """Append a leaf hash; returns its index."""
        if len(h) != HASH_SIZE:
            raise ValueError("leaf hashes are 32 bytes")
        index = len(self._levels[0])
        self._levels[0].append(h)
        level, i = 0, index
        # Each time a right child completes, its parent completes too.
        while i % 2 == 1:
            parent = node_hash(self._levels[level][i - 1], self._levels[level][i])
            level, i = level + 1, i // 2
            if len(self._levels) == level:
                self._levels.append([])
            self._levels[level].append(parent)
        return index

    def complete_subtree(self, level: int, index: int) -> bytes:
        """See :meth:`TreeHashes.complete_subtree`."""
        if level < 0 or index < 0 or level >= len(self._levels):
            raise ProofError(f"no complete subtree at level {level}, index {index}")
        row = self._levels[level]
        if index >= len(row):
            raise ProofError(f"no complete subtree at level {level}, index {index}")
        return row[index]

    def root(self, size: int | None = None) -> bytes:
        """Root of the first ``size`` leaves (default: all)."""
        return _range_hash(self, 0, self.size if size is None else size)


class _SequenceTree:
    """Adapter: a plain sequence of leaf hashes as :class:`TreeHashes` (O(2**level) per call)."""

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        self._leaves = leaf_hashes

    @property
    def size(self) -> int:
        return len(self._leaves)

    def complete_subtree(self, level: int, index: int) -> bytes:
        start, width = index << level, 1 << level
        if index < 0 or start + width > len(self._leaves):
            raise ProofError(f"no complete subtree at level {level}, index {index}")
        return _fold_complete(self._leaves[start : start + width])


def _fold_complete(hashes: Sequence[bytes]) -> bytes:
    row = list(hashes)
    while len(row) > 1:
        row = [node_hash(row[i], row[i + 1]) for i in range(0, len(row), 2)]
    return row[0]


def _as_tree(tree: Sequence[bytes] | TreeHashes) -> TreeHashes:
    if isinstance(tree, TreeHashes):
        return tree
    return _SequenceTree(tree)


def _largest_power_of_two_below(n: int) -> int:
    """Largest power of two strictly less than ``n`` (n >= 2): RFC 9162's ``k``."""
    return 1 << ((n - 1).bit_length() - 1)


def _range_hash(tree: TreeHashes, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for a range that is a node of the RFC 9162 tree (or a whole tree).

    Such a range splits, left to right, into aligned complete subtrees of
    strictly decreasing size; the RFC tree hashes them right to left.
    """
    if end == start:
        return EMPTY_ROOT
    pieces: list[bytes] = []
    pos = start
    while pos < end:
        width = 1 << ((end - pos).bit_length() - 1)
        if pos % width:
            raise ProofError(f"range [{start}, {end}) is not a node of the tree")
        pieces.append(tree.complete_subtree(width.bit_length() - 1, pos // width))
        pos += width
    acc = pieces[-1]
    for piece in reversed(pieces[:-1]):
        acc = node_hash(piece, acc)
    return acc


def root(leaf_hashes: Sequence[bytes] | TreeHashes, size: int | None = None) -> bytes:
    """MTH of the first ``size`` leaves (default: all); ``SHA-256("")`` for none."""
    tree = _as_tree(leaf_hashes)
    n = tree.size if size is None else size
    if not 0 <= n <= tree.size:
        raise ProofError(f"size {n} outside the tree (size {tree.size})")
    return _range_hash(tree, 0, n)


def inclusion_proof(
    index: int, leaf_hashes: Sequence[bytes] | TreeHashes, size: int | None = None
) -> list[bytes]:
    """RFC 9162 §2.1.3.1 ``PATH(index, D[size])``: the audit path, leaf upwards.

    ``size`` defaults to the whole tree; pass an older size to prove inclusion
    in a published checkpoint.
    """
    tree = _as_tree(leaf_hashes)
    n = tree.size if size is None else size
    if not 0 <= n <= tree.size:
        raise ProofError(f"size {n} outside the tree (size {tree.size})")
    if not 0 <= index < n:
        raise ProofError(f"index {index} not in a tree of size {n}")
    path: list[bytes] = []
    lo, hi, m = 0, n, index
    # Walk down from the root; siblings are collected top-down, returned bottom-up.
    while hi - lo > 1:
        k = _largest_power_of_two_below(hi - lo)
        if m < k:
            path.append(_range_hash(tree, lo + k, hi))
            hi = lo + k
        else:
            path.append(_range_hash(tree, lo, lo + k))
            lo, m = lo + k, m - k
    path.reverse()
    return path


def consistency_proof(
    m: int, leaf_hashes: Sequence[bytes] | TreeHashes, size: int | None = None
) -> list[bytes]:
    """RFC 9162 §2.1.4.1 ``PROOF(m, D[size])``: the first ``m`` leaves are a prefix.

    ``0 < m <= size`` (size-0 policy in the module docstring); ``m == size``
    gives the empty proof.
    """
    tree = _as_tree(leaf_hashes)
    n = tree.size if size is None else size
    if not 0 <= n <= tree.size:
        raise ProofError(f"size {n} outside the tree (size {tree.size})")
    if not 0 < m <= n:
        raise ProofError(f"no consistency proof from size {m} to {n} (need 0 < first <= second)")
    proof: list[bytes] = []
    lo, hi, first, complete = 0, n, m, True
    # SUBPROOF(first, D[lo:hi], complete), unrolled; siblings collected top-down.
    while first != hi - lo:
        k = _largest_power_of_two_below(hi - lo)
        if first <= k:
            proof.append(_range_hash(tree, lo + k, hi))
            hi = lo + k
        else:
            proof.append(_range_hash(tree, lo, lo + k))
            lo, first, complete = lo + k, first - k, False
    if not complete:
        proof.append(_range_hash(tree, lo, hi))
    proof.reverse()
    return proof


def _check_hash(name: str, h: bytes) -> None:
    if not isinstance(h, bytes) or len(h) != HASH_SIZE:
        raise ProofError(f"{name} must be {HASH_SIZE} bytes")


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root_hash: bytes
) -> None:
    """RFC 9162 §2.1.3.2: check that ``leaf`` is leaf ``index`` of the tree ``root_hash``.

    Raises :class:`ProofError` if the index is outside the tree, any hash has
    the wrong length, the proof has the wrong number of nodes, or the
    computed root differs.
    """
    _check_hash("root", root_hash)
    if root_from_inclusion_proof(index, size, leaf, proof) != root_hash:
        raise ProofError("inclusion proof does not lead to the root")


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` yields for ``leaf`` at ``index`` (RFC 9162 §2.1.3.2 steps 1-4).

    Only meaningful once the result is compared with a trusted root (or, for
    batch signatures, covered by a signature); raises :class:`ProofError` for
    an impossible index or a proof of the wrong shape.
    """
    if not 0 <= index < size:
        raise ProofError(f"index {index} not in a tree of size {size}")
    _check_hash("leaf hash", leaf)
    for p in proof:
        _check_hash("proof node", p)
    # Expected length: the nodes below the point where the paths of `index` and
    # of the last leaf diverge, plus one per left sibling above it.
    inner = (index ^ (size - 1)).bit_length()
    expected = inner + bin(index >> inner).count("1")
    if len(proof) != expected:
        raise ProofError(f"inclusion proof has {len(proof)} nodes, expected {expected}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof too short")
    return r


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """RFC 9162 §2.1.4.2: check that tree ``root2`` (``size2``) extends tree ``root1`` (``size1``).

    Raises :class:`ProofError` when ``size1 > size2``, when ``size1 == 0``
    (policy, see the module docstring), when equal sizes come with a proof or
    different roots, or when the proof does not reproduce both roots.
    """
    if size1 < 0 or size2 < size1:
        raise ProofError(f"size1 {size1} must be within 0..size2 {size2}")
    if size1 == 0:
        raise ProofError("a consistency proof from the empty tree proves nothing (policy)")
    if size1 == size2:
        if proof:
            raise ProofError("equal sizes need an empty proof")
        if root1 != root2:
            raise ProofError("equal sizes but different roots")
        return
    _check_hash("root1", root1)
    _check_hash("root2", root2)
    for p in proof:
        _check_hash("proof node", p)
    # 1. An empty proof cannot prove anything for 0 < size1 < size2.
    if not proof:
        raise ProofError("empty consistency proof")
    path = list(proof)
    # 2. If size1 is a power of two, the old root is itself a node of the new tree.
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    # 3.
    fn, sn = size1 - 1, size2 - 1
    # 4.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = path[0]
    # 6.
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # 7.
    if sn != 0:
        raise ProofError("consistency proof too short")
    if fr != root1:
        raise ProofError("consistency proof does not reproduce root1")
    if sr != root2:
        raise ProofError("consistency proof does not reproduce root2")
