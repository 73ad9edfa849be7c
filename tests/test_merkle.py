"""The anchor tree's fixed format (verity/merkle.py), recomputed here from its definition."""

from __future__ import annotations

import hashlib

import pytest

from verity.merkle import inclusion_proofs, leaf_hash, merkle_root, root_from_proof


def h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def test_a_leaf_hashes_kind_id_length_and_head_behind_a_zero_byte() -> None:
    head = "ab" * 32
    assert leaf_hash("custody", "clip-1", 7, head) == h(b"\x00custody\nclip-1\n7\n" + head.encode())


def test_three_leaves_promote_the_odd_one_unchanged() -> None:
    a, b, c = (leaf_hash("case", str(n), 1, "00" * 32) for n in range(3))
    assert merkle_root([a, b, c]) == h(b"\x01" + h(b"\x01" + a + b) + c)
    assert merkle_root([a]) == a


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8, 13, 100])
def test_every_proof_leads_from_its_leaf_to_the_root(count: int) -> None:
    leaves = [leaf_hash("incident", f"i{n}", n + 1, f"{n:064x}") for n in range(count)]
    root, proofs = inclusion_proofs(leaves)
    assert root == merkle_root(leaves)
    for leaf, proof in zip(leaves, proofs, strict=True):
        assert root_from_proof(leaf, proof) == root
    assert root_from_proof(leaves[0], proofs[-1]) != root or count == 1


def test_a_proof_names_the_side_its_sibling_stands_on() -> None:
    a, b, c = (leaf_hash("custody", str(n), 1, "11" * 32) for n in range(3))
    _root, proofs = inclusion_proofs([a, b, c])
    assert proofs[0] == [{"side": "right", "hash": b.hex()}, {"side": "right", "hash": c.hex()}]
    assert proofs[2] == [{"side": "left", "hash": h(b"\x01" + a + b).hex()}]
