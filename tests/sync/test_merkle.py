"""RFC 9162 Merkle tree: published vectors, our generator, and tamper cases."""

from __future__ import annotations

import base64
import json
import os
import random
from pathlib import Path
from typing import Any

import pytest

from sync.errors import ProofError
from sync.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("MINEFED_SHARED_DIR", str(REPO_ROOT.parent / "shared")))
VECTORS = SHARED / "testdata" / "merkle"


def b64(text: str) -> bytes:
    return base64.b64decode(text)


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def vector_files(kind: str) -> list[Path]:
    return sorted((VECTORS / kind).rglob("*.json")) if (VECTORS / kind).is_dir() else []


def rel(path: Path) -> str:
    return str(path.relative_to(VECTORS))


INCLUSION_FILES = vector_files("inclusion")
CONSISTENCY_FILES = vector_files("consistency")


def test_vectors_are_present() -> None:
    # Guards against an empty parametrisation silently skipping every vector.
    assert VECTORS.is_dir(), f"test vectors not found at {VECTORS}; set MINEFED_SHARED_DIR"
    assert len(INCLUSION_FILES) > 50
    assert len(CONSISTENCY_FILES) > 50
    for name in (
        "merkle_tree.json",
        "inclusion-valid.json",
        "inclusion-invalid.json",
        "consistency-valid.json",
        "consistency-invalid.json",
    ):
        assert (VECTORS / "cctv" / name).is_file()


CCTV_FILES = [
    "merkle_tree.json",
    "inclusion-valid.json",
    "inclusion-invalid.json",
    "consistency-valid.json",
    "consistency-invalid.json",
]


def test_every_vector_file_is_exercised() -> None:
    # A vector file added to the shared set but matched by no test would pass silently.
    every = {p for p in VECTORS.rglob("*") if p.is_file() and p.name != "README.md"}
    used = {*INCLUSION_FILES, *CONSISTENCY_FILES, *(VECTORS / "cctv" / n for n in CCTV_FILES)}
    assert every == used


# --- transparency-dev/merkle vectors -------------------------------------------


@pytest.mark.parametrize("path", INCLUSION_FILES, ids=rel)
def test_transparency_dev_inclusion(path: Path) -> None:
    v = load(path)
    proof = [b64(p) for p in v["proof"] or []]
    args = (v["leafIdx"], v["treeSize"], b64(v["leafHash"]), proof, b64(v["root"]))
    if v["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


# The one vector whose roots are not 32 bytes ("ZG9uJ3QgY2FyZSAy" is 12 bytes).
# Its expectation (success) is honoured: with equal sizes the proof is only the
# statement root1 == root2, nothing is hashed, and transparency-dev does not
# length-check there either.
TWELVE_BYTE_ROOTS = "consistency/additional/sizes-are-equal-one-and-proof-is-empty.json"


@pytest.mark.parametrize("path", CONSISTENCY_FILES, ids=rel)
def test_transparency_dev_consistency(path: Path) -> None:
    v = load(path)
    proof = [b64(p) for p in v["proof"] or []]
    args = (v["size1"], v["size2"], proof, b64(v["root1"]), b64(v["root2"]))
    if rel(path) == TWELVE_BYTE_ROOTS:
        assert len(args[3]) == 12 and not v["wantErr"]
    if v["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


# --- rgdd/CCTV vectors -----------------------------------------------------------


def cctv(name: str) -> Any:
    path = VECTORS / "cctv" / name
    return load(path) if path.is_file() else []


CCTV_TREE = cctv("merkle_tree.json")


def test_cctv_reference_tree_roots_match_ours() -> None:
    leaves = [leaf_hash(item["leaf_data"].encode()) for item in CCTV_TREE]
    assert leaves == [b64(item["leaf_hash"]) for item in CCTV_TREE]
    tree = MemoryTree(leaves)
    for size, item in enumerate(CCTV_TREE, start=1):
        assert root(leaves[:size]) == b64(item["root_hash"])
        assert tree.root(size) == b64(item["root_hash"])
    assert root([]) == EMPTY_ROOT


def test_cctv_reference_tree_all_generated_proofs_verify() -> None:
    leaves = [b64(item["leaf_hash"]) for item in CCTV_TREE]
    roots = [EMPTY_ROOT] + [b64(item["root_hash"]) for item in CCTV_TREE]
    tree = MemoryTree(leaves)
    for n in range(1, len(leaves) + 1):
        for i in range(n):
            verify_inclusion(i, n, leaves[i], inclusion_proof(i, tree, n), roots[n])
        for m in range(1, n + 1):
            verify_consistency(m, n, consistency_proof(m, tree, n), roots[m], roots[n])


@pytest.mark.parametrize("case", cctv("inclusion-valid.json"))
def test_cctv_inclusion_valid(case: dict[str, Any]) -> None:
    verify_inclusion(
        case["leaf_index"],
        case["tree_size"],
        b64(case["leaf_hash"]),
        [b64(p) for p in case["inclusion_path"]],
        b64(case["root_hash"]),
    )


@pytest.mark.parametrize("case", cctv("inclusion-invalid.json"))
def test_cctv_inclusion_invalid(case: dict[str, Any]) -> None:
    with pytest.raises(ProofError):
        verify_inclusion(
            case["leaf_index"],
            case["tree_size"],
            b64(case["leaf_hash"]),
            [b64(p) for p in case["inclusion_path"]],
            b64(case["root_hash"]),
        )


def consistency_args(case: dict[str, Any]) -> tuple[int, int, list[bytes], bytes, bytes]:
    return (
        case["old_size"],
        case["new_size"],
        [b64(p) for p in case["consistency_path"]],
        b64(case["old_root"]),
        b64(case["new_root"]),
    )


CCTV_CONSISTENCY_VALID = cctv("consistency-valid.json")

# Documented exception to CCTV: it accepts an empty proof from the empty tree
# (size 0 -> 0 and 0 -> 1). Our policy, like transparency-dev/merkle's, is that
# a consistency proof from size 0 is an error: it proves nothing, and accepting
# it lets a client believe it checked something. These are exactly the cases
# (old_size, new_size) we expect to reject.
CCTV_SIZE0_EXCEPTIONS = [(0, 0), (0, 1)]


@pytest.mark.parametrize("case", [c for c in CCTV_CONSISTENCY_VALID if c["old_size"] != 0], ids=str)
def test_cctv_consistency_valid(case: dict[str, Any]) -> None:
    verify_consistency(*consistency_args(case))


def test_cctv_size0_valid_cases_are_rejected_by_policy() -> None:
    size0 = [c for c in CCTV_CONSISTENCY_VALID if c["old_size"] == 0]
    assert [(c["old_size"], c["new_size"]) for c in size0] == CCTV_SIZE0_EXCEPTIONS
    for case in size0:
        with pytest.raises(ProofError, match="empty tree"):
            verify_consistency(*consistency_args(case))


@pytest.mark.parametrize("case", cctv("consistency-invalid.json"), ids=str)
def test_cctv_consistency_invalid(case: dict[str, Any]) -> None:
    with pytest.raises(ProofError):
        verify_consistency(*consistency_args(case))


# --- our generator against a naive reference ----------------------------------------


def ref_mth(d: list[bytes]) -> bytes:
    """RFC 9162 MTH, written as the recursive definition."""
    n = len(d)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return d[0]
    k = 1 << ((n - 1).bit_length() - 1)
    return node_hash(ref_mth(d[:k]), ref_mth(d[k:]))


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def random_leaves(n: int, rng: random.Random) -> list[bytes]:
    return [leaf_hash(rng.randbytes(rng.randrange(0, 40))) for _ in range(n)]


def test_generated_proofs_match_reference_and_verify() -> None:
    rng = random.Random(9162)
    leaves = random_leaves(40, rng)
    tree = MemoryTree(leaves)
    for n in range(1, len(leaves) + 1):
        d = leaves[:n]
        r = ref_mth(d)
        assert root(d) == r == tree.root(n) == root(tree, n)
        for i in range(n):
            proof = inclusion_proof(i, d)
            assert proof == ref_path(i, d) == inclusion_proof(i, tree, n)
            verify_inclusion(i, n, d[i], proof, r)
        for m in range(1, n + 1):
            proof = consistency_proof(m, d)
            assert proof == ref_subproof(m, d, True) == consistency_proof(m, tree, n)
            verify_consistency(m, n, proof, ref_mth(d[:m]), r)


def test_large_random_tree_sampled_proofs() -> None:
    rng = random.Random(6962)
    tree = MemoryTree()
    for _ in range(5000):
        tree.append(rng.randbytes(16))
    leaves = [tree.complete_subtree(0, i) for i in range(tree.size)]
    for _ in range(200):
        n = rng.randrange(1, tree.size + 1)
        i = rng.randrange(n)
        m = rng.randrange(1, n + 1)
        rn, rm = tree.root(n), tree.root(m)
        verify_inclusion(i, n, leaves[i], inclusion_proof(i, tree, n), rn)
        verify_consistency(m, n, consistency_proof(m, tree, n), rm, rn)
    assert tree.root() == root(leaves)


def test_any_single_bit_flip_is_rejected() -> None:
    rng = random.Random(1)
    leaves = random_leaves(13, rng)
    r = root(leaves)
    proof = inclusion_proof(5, leaves)
    for j in range(len(proof)):
        bad = list(proof)
        bad[j] = bytes([bad[j][0] ^ 1]) + bad[j][1:]
        with pytest.raises(ProofError):
            verify_inclusion(5, 13, leaves[5], bad, r)
    cproof = consistency_proof(6, leaves)
    r6 = root(leaves[:6])
    for j in range(len(cproof)):
        bad = list(cproof)
        bad[j] = bytes([bad[j][0] ^ 1]) + bad[j][1:]
        with pytest.raises(ProofError):
            verify_consistency(6, 13, bad, r6, r)


def test_inclusion_rejections() -> None:
    leaves = random_leaves(8, random.Random(2))
    r = root(leaves)
    proof = inclusion_proof(3, leaves)
    with pytest.raises(ProofError, match="not in a tree"):
        verify_inclusion(8, 8, leaves[3], proof, r)
    with pytest.raises(ProofError, match="expected"):
        verify_inclusion(3, 8, leaves[3], proof[:-1], r)
    with pytest.raises(ProofError, match="expected"):
        verify_inclusion(3, 8, leaves[3], [*proof, proof[0]], r)
    with pytest.raises(ProofError, match="root"):
        verify_inclusion(3, 8, leaves[4], proof, r)
    with pytest.raises(ProofError):
        verify_inclusion(2, 8, leaves[3], proof, r)


def test_generation_argument_errors() -> None:
    leaves = random_leaves(4, random.Random(3))
    with pytest.raises(ProofError):
        inclusion_proof(4, leaves)
    with pytest.raises(ProofError):
        inclusion_proof(0, leaves, size=5)
    with pytest.raises(ProofError):
        consistency_proof(0, leaves)
    with pytest.raises(ProofError):
        consistency_proof(5, leaves)
    assert consistency_proof(4, leaves) == []
    with pytest.raises(ValueError):
        MemoryTree().append_hash(b"short")
