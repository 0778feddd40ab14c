"""All binary codes in one compact in-process array, searched by Hamming distance.

56 bytes per chunk: the 48-byte code and the 8-byte chunk id, in two numpy arrays
kept sorted by chunk id (so an id's row is found by binary search, and a new batch,
whose ids are higher than any stored, is a plain append).

The scan itself is faiss' Hamming k-NN kernel (`faiss.knn_hamming`, the code
`IndexBinaryFlat.search` runs, with its counting variant for wide lists) over our own
array. Measured at 1M codes here: numpy XOR + `bitwise_count` 34 ms, the faiss kernel
3.5–6.5 ms, reading the codes once 2–5 ms; so a hand-written scan could gain little
over faiss, while numpy loses 5–10×. Owning the array (rather than an `IndexBinaryFlat`)
lets `add`/`remove` keep ids and codes in step and scan any subset of rows for filtered
searches.
"""

from __future__ import annotations

import numpy as np

CODE_BYTES = 48
# Above this many neighbours faiss' counting variant beats its heap (measured at 1M codes).
COUNTING_FROM = 500
_BYTE_BITS = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).astype(np.float32)  # (256, 8)


def hamming_knn(query_code: np.ndarray, codes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of `codes` nearest to `query_code` by Hamming distance, nearest first: (rows, distances)."""
    import faiss

    # One query at a time gains nothing from an OpenMP team, and on a busy machine (the
    # daemon embedding beside it) waiting for one took 60 ms instead of 0.6 ms (measured).
    faiss.omp_set_num_threads(1)
    n = min(n, len(codes))
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32)
    query = np.ascontiguousarray(query_code, dtype=np.uint8).reshape(1, -1)
    dist, rows = faiss.knn_hamming(query, np.ascontiguousarray(codes), n,
                                   variant="mc" if n >= COUNTING_FROM else "hc")
    return rows[0], dist[0]


class BinaryIndex:
    def __init__(self, ids: np.ndarray | None = None, codes: np.ndarray | None = None,
                 code_bytes: int = CODE_BYTES) -> None:
        self.ids = np.zeros(0, dtype=np.int64)
        self.codes = np.zeros((0, code_bytes), dtype=np.uint8)
        if ids is not None and codes is not None:
            self.add(ids, codes)

    @classmethod
    def from_db(cls, db, model: str) -> "BinaryIndex":
        index = cls()
        index.add(*read_codes(db, model))
        return index

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def nbytes(self) -> int:
        """Resident bytes of the index (codes + id mapping)."""
        return self.ids.nbytes + self.codes.nbytes

    @property
    def max_id(self) -> int:
        return int(self.ids[-1]) if len(self.ids) else 0

    def add(self, ids, codes) -> None:
        """Add (or replace) codes for chunk ids; a batch of new, higher ids is an append."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if not len(ids):
            return
        codes = np.asarray(codes, dtype=np.uint8).reshape(len(ids), -1)
        if len(self.ids) and self.codes.shape[1] != codes.shape[1]:
            raise ValueError(f"codes of {codes.shape[1]} bytes added to an index of {self.codes.shape[1]}-byte codes")
        order = np.argsort(ids, kind="stable")
        ids, codes = ids[order], codes[order]
        if len(self.ids) and ids[0] <= self.ids[-1]:
            self.remove(ids)
            merged = np.concatenate([self.ids, ids])
            order = np.argsort(merged, kind="stable")
            self.ids, self.codes = merged[order], np.concatenate([self.codes, codes])[order]
        else:
            self.ids = np.concatenate([self.ids, ids])
            self.codes = np.concatenate([self.codes, codes]) if len(self.codes) else codes.copy()

    def remove(self, ids) -> int:
        """Drop the codes of these chunk ids (unknown ids are ignored); returns how many went."""
        gone = np.isin(self.ids, np.asarray(ids, dtype=np.int64))
        count = int(gone.sum())
        if count:
            keep = ~gone
            self.ids, self.codes = self.ids[keep], self.codes[keep]
        return count

    def rows_of(self, ids) -> np.ndarray:
        """Row positions of those chunk ids that are in the index."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if not len(self.ids):
            return np.zeros(0, dtype=np.int64)
        rows = np.minimum(np.searchsorted(self.ids, ids), len(self.ids) - 1)
        return rows[self.ids[rows] == ids]

    def search_rows(self, query_code: np.ndarray, n: int, among=None) -> tuple[np.ndarray, np.ndarray]:
        """The `n` nearest rows by Hamming distance, nearest first, with their distances.

        `among` (chunk ids) restricts the scan to those rows: the exact path for a
        selective filter, where the global shortlist may hold too few matching chunks.
        """
        if among is None:
            return hamming_knn(query_code, self.codes, n)
        subset = self.rows_of(among)
        rows, dist = hamming_knn(query_code, self.codes[subset], n)
        return subset[rows], dist

    def search(self, query_code: np.ndarray, n: int, among=None) -> tuple[np.ndarray, np.ndarray]:
        """The `n` nearest chunk ids by Hamming distance, nearest first, with their distances."""
        rows, dist = self.search_rows(query_code, n, among)
        return self.ids[rows], dist


def refine(index: BinaryIndex, query: np.ndarray, rows: np.ndarray, dist: np.ndarray,
           n: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep the `n` rows of a Hamming shortlist whose sign bits score best against the float query.

    q·bits is asymmetric (the query keeps its magnitudes), so it orders near-ties in
    Hamming distance far better, at no I/O: a wide Hamming list narrowed this way
    means fewer int8 codes to read from the store for the same recall.
    """
    if len(rows) <= n:
        return rows, dist
    codes = index.codes[rows]
    # q·bits by table lookup: per code byte, the summed query weights of each of 256 bit patterns.
    # (A float matrix-vector product here took 12 ms on a busy machine: BLAS threads waiting.)
    weights = np.zeros(codes.shape[1] * 8, dtype=np.float32)
    weights[: len(query)] = query
    table = _BYTE_BITS @ weights.reshape(-1, 8).T  # (256, code bytes)
    scores = table[codes, np.arange(codes.shape[1])].sum(axis=1)
    keep = np.argpartition(-scores, n - 1)[:n]
    keep.sort()  # keep Hamming order among the survivors
    return rows[keep], dist[keep]


def read_codes(db, model: str, after: int = 0, upto: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(chunk ids, binary codes) stored for `model` with after < chunk id <= upto, in id order."""
    rows = db.execute(
        "SELECT chunk_id, binary FROM vectors WHERE model = ? AND chunk_id > ? AND chunk_id <= ? ORDER BY chunk_id",
        [model, after, (1 << 63) - 1 if upto is None else upto],
    ).fetchall()
    return _arrays(rows)


def _arrays(rows: list) -> tuple[np.ndarray, np.ndarray]:
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros((0, CODE_BYTES), dtype=np.uint8)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    codes = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.uint8).reshape(len(rows), -1)
    return ids, codes


def read_codes_of(db, model: str, ids) -> tuple[np.ndarray, np.ndarray]:
    """(chunk ids, binary codes) stored for `model` among `ids`, in id order; absent ids are left out."""
    ids = sorted(int(i) for i in ids)
    rows = []
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        marks = ",".join("?" * len(part))
        rows += db.execute(f"SELECT chunk_id, binary FROM vectors WHERE model = ? AND chunk_id IN ({marks}) "
                           "ORDER BY chunk_id", [model, *part]).fetchall()
    return _arrays(rows)


def change_mark(db) -> int:
    """The newest entry of the store's vector change log (0 when nothing was ever logged)."""
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'vector_changes'").fetchone()
    return row[0] if row else 0


def changes_since(db, mark: int) -> tuple[list[int] | None, int]:
    """(chunk ids whose vectors changed after `mark`, the new mark); None when the log was trimmed
    past `mark`, so what changed is no longer known and the caller reloads."""
    rows = db.execute("SELECT seq, chunk_id FROM vector_changes WHERE seq > ? ORDER BY seq", [mark]).fetchall()
    # Checked after the read: a trim committed in between can only cause a needless reload, never a miss.
    oldest = db.execute("SELECT min(seq) FROM vector_changes").fetchone()[0]
    if oldest is not None and oldest > mark + 1:
        return None, mark
    return sorted({r[1] for r in rows}), (rows[-1][0] if rows else mark)
