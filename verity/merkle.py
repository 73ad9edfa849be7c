"""The Merkle tree that anchors many chain heads under one trusted timestamp (RFC 6962 style).

The format is fixed; the export's standalone checker recomputes it:
- leaf = SHA-256(0x00 ‖ UTF-8 of f"{kind}\\n{chain_id}\\n{length}\\n{head_hash}"), where kind is
  "custody", "incident" or "case", length the number of links in the chain when it was anchored
  and head_hash the hex hash of its last link;
- node = SHA-256(0x01 ‖ left ‖ right); a level's odd last node is promoted unchanged;
- an inclusion proof is a list of {"side": "left" | "right", "hash": hex}, applied from the leaf
  upward: "left" means the sibling stands on the left (node = H(0x01 ‖ sibling ‖ node)).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Literal, TypedDict

KINDS = ("custody", "incident", "case")


class ProofStep(TypedDict):
    side: Literal["left", "right"]
    hash: str


def leaf_hash(kind: str, chain_id: str, length: int, head_hash: str) -> bytes:
    return hashlib.sha256(b"\x00" + f"{kind}\n{chain_id}\n{length}\n{head_hash}".encode()).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """The root over `leaves` in their order (at least one)."""
    return _levels(leaves)[-1][0]


def inclusion_proofs(leaves: Sequence[bytes]) -> tuple[bytes, list[list[ProofStep]]]:
    """The root and, for each leaf in order, its inclusion proof: one pass over the tree, so
    100,000 leaves cost about 200,000 hashes."""
    levels = _levels(leaves)
    proofs: list[list[ProofStep]] = [[] for _ in leaves]
    for index in range(len(leaves)):
        position = index
        for level in levels[:-1]:
            sibling = position ^ 1
            if sibling < len(level):
                side: Literal["left", "right"] = "left" if sibling < position else "right"
                proofs[index].append({"side": side, "hash": level[sibling].hex()})
            position //= 2
    return levels[-1][0], proofs


def root_from_proof(leaf: bytes, proof: Sequence[ProofStep]) -> bytes:
    """The root a leaf and its proof lead to; compare it with the anchored root."""
    node = leaf
    for step in proof:
        sibling = bytes.fromhex(step["hash"])
        node = node_hash(sibling, node) if step["side"] == "left" else node_hash(node, sibling)
    return node


def _levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    if not leaves:
        raise ValueError("a Merkle tree needs at least one leaf")
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        level = levels[-1]
        parents = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            parents.append(level[-1])
        levels.append(parents)
    return levels
