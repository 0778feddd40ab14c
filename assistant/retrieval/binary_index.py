"""All binary codes in one compact in-process array, searched by Hamming distance.

48 bytes of code + 8 bytes of chunk id per chunk. Codes are viewed as six uint64
words so XOR and popcount run a word at a time, in blocks that stay in cache.
"""

from __future__ import annotations

import numpy as np

BLOCK = 65_536


class BinaryIndex:
    def __init__(self, ids: np.ndarray, codes: np.ndarray) -> None:
        self.ids = np.ascontiguousarray(ids, dtype=np.int64)
        self.codes = np.ascontiguousarray(codes, dtype=np.uint8)

    @classmethod
    def from_db(cls, db, model: str) -> "BinaryIndex":
        rows = db.execute("SELECT chunk_id, binary FROM vectors WHERE model = ? ORDER BY chunk_id", [model]).fetchall()
        if not rows:
            return cls(np.zeros(0, dtype=np.int64), np.zeros((0, 48), dtype=np.uint8))
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        codes = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.uint8).reshape(len(rows), -1)
        return cls(ids, codes)

    def __len__(self) -> int:
        return len(self.ids)

    def distances(self, query_code: np.ndarray) -> np.ndarray:
        words = self.codes.view(np.uint64)
        q = np.ascontiguousarray(query_code, dtype=np.uint8).view(np.uint64)
        out = np.empty(len(words), dtype=np.uint16)
        for start in range(0, len(words), BLOCK):
            block = np.bitwise_xor(words[start : start + BLOCK], q)
            out[start : start + BLOCK] = np.bitwise_count(block).sum(axis=1, dtype=np.uint16)
        return out

    def search(self, query_code: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The `n` nearest chunk ids by Hamming distance, nearest first, with their distances."""
        if len(self) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint16)
        dist = self.distances(query_code)
        n = min(n, len(dist))
        top = np.argpartition(dist, n - 1)[:n]
        top = top[np.argsort(dist[top], kind="stable")]
        return self.ids[top], dist[top]
