"""The hub's transparency log: sequencing, checkpoints, proofs, witness cosignatures."""
