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

import json

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
    """Binary codes by chunk id, and optionally each chunk's int8 code beside its binary one.

    With `int8` (a store small enough to hold them, see `Searcher`), rescoring reads the
    shortlist's int8 codes from memory; without, from the store. Every array is kept in
    step by the same `add`/`remove`, so the int8 codes are exactly as current as the binary.
    """

    def __init__(self, ids: np.ndarray | None = None, codes: np.ndarray | None = None,
                 code_bytes: int = CODE_BYTES, model: str | None = None, int8: np.ndarray | None = None) -> None:
        self.model = model  # whose codes these are: rescoring reads that model's int8 codes
        self.ids = np.zeros(0, dtype=np.int64)
        self.codes = np.zeros((0, code_bytes), dtype=np.uint8)
        self.int8: np.ndarray | None = None if int8 is None else np.zeros((0, np.shape(int8)[-1]), dtype=np.int8)
        if ids is not None and codes is not None:
            self.add(ids, codes, int8)

    @classmethod
    def from_db(cls, db, model: str, int8: bool = False) -> "BinaryIndex":
        """The index of `model`'s stored codes; `int8`: its int8 codes too, in memory."""
        if not int8:
            return cls(*read_codes(db, model), model=model)
        ids, codes, int8_codes = read_codes(db, model, columns=("binary", "int8"))
        return cls(ids, codes, model=model, int8=int8_codes.view(np.int8))

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def nbytes(self) -> int:
        """Resident bytes of the binary index (codes + id mapping)."""
        return self.ids.nbytes + self.codes.nbytes

    @property
    def int8_nbytes(self) -> int:
        """Resident bytes of the int8 codes held for rescoring (0 when they are read from the store)."""
        return 0 if self.int8 is None else self.int8.nbytes

    @property
    def max_id(self) -> int:
        return int(self.ids[-1]) if len(self.ids) else 0

    def add(self, ids, codes, int8=None) -> None:
        """Add (or replace) codes for chunk ids; a batch of new, higher ids is an append.
        An index that holds int8 codes needs theirs too (and one that does not, ignores them)."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if not len(ids):
            return
        codes = np.asarray(codes, dtype=np.uint8).reshape(len(ids), -1)
        if len(self.ids) and self.codes.shape[1] != codes.shape[1]:
            raise ValueError(f"codes of {codes.shape[1]} bytes added to an index of {self.codes.shape[1]}-byte codes")
        columns = [codes]
        if self.int8 is not None:
            if int8 is None:
                raise ValueError("this index holds int8 codes: add them with the binary ones")
            columns.append(np.asarray(int8).view(np.int8).reshape(len(ids), -1))
        order = np.argsort(ids, kind="stable")
        ids, columns = ids[order], [c[order] for c in columns]
        if len(self.ids) and ids[0] <= self.ids[-1]:
            self.remove(ids)
            merged = np.concatenate([self.ids, ids])
            order = np.argsort(merged, kind="stable")
            self.ids = merged[order]
            self._set_columns([np.concatenate([old, new])[order] for old, new in zip(self._columns(), columns)])
        elif len(self.ids):
            self.ids = np.concatenate([self.ids, ids])
            self._set_columns([np.concatenate([old, new]) for old, new in zip(self._columns(), columns)])
        else:  # the first codes set the widths
            self.ids = ids.copy()
            self._set_columns([c.copy() for c in columns])

    def remove(self, ids) -> int:
        """Drop the codes of these chunk ids (unknown ids are ignored); returns how many went."""
        gone = np.isin(self.ids, np.asarray(ids, dtype=np.int64))
        count = int(gone.sum())
        if count:
            keep = ~gone
            self.ids = self.ids[keep]
            self._set_columns([c[keep] for c in self._columns()])
        return count

    def _columns(self) -> list[np.ndarray]:
        return [self.codes] if self.int8 is None else [self.codes, self.int8]

    def _set_columns(self, columns: list[np.ndarray]) -> None:
        self.codes = columns[0]
        if self.int8 is not None:
            self.int8 = columns[1]

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
    # `take` copies whole rows: 0.17 ms for 8,000 of 1M, where fancy indexing took 0.5 ms plus
    # 0.3 ms to argsort the rows first (CPU time, measured in one run). einsum sums each row's
    # looked-up weights in 0.07 ms, `.sum(axis=1)` in about 0.25 ms (its setup per short row).
    codes = index.codes.take(rows, axis=0)
    width = codes.shape[1]
    # q·bits by table lookup: per code byte, the summed query weights of each of its 256 bit
    # patterns, flattened so one `take` with 16-bit offsets reads them all (against 2-D fancy
    # indexing: 1.3 vs 2.3 ms; a float matrix-vector product took 12 ms on a busy machine:
    # BLAS threads waiting).
    weights = np.zeros(width * 8, dtype=np.float32)
    weights[: len(query)] = query
    table = (weights.reshape(-1, 8) @ _BYTE_BITS.T).ravel()  # (code bytes × 256)
    scores = np.einsum("ij->i", np.take(table, codes + _byte_offsets(width)))
    keep = np.argpartition(scores, len(scores) - n)[len(scores) - n :]
    keep.sort()  # keep Hamming order among the survivors
    return rows[keep], dist[keep]


def _byte_offsets(width: int) -> np.ndarray:
    """Where each code byte's 256 entries start in the flattened lookup table (fits 16 bits up to 256 bytes)."""
    return np.arange(width, dtype=np.uint16) * 256


def read_codes(db, model: str, after: int = 0, upto: int | None = None,
               columns: tuple[str, ...] = ("binary",)) -> tuple[np.ndarray, ...]:
    """(chunk ids, then one array of codes per column: "binary", "int8") stored for `model` with
    after < chunk id <= upto, in id order."""
    rows = db.execute(
        f"SELECT chunk_id, {_columns_sql(columns, '')} FROM vectors WHERE model = ? AND chunk_id > ? AND chunk_id <= ? "
        "ORDER BY chunk_id",
        [model, after, (1 << 63) - 1 if upto is None else upto],
    ).fetchall()
    return _arrays(rows, len(columns))


def _columns_sql(columns: tuple[str, ...], table: str) -> str:
    if not columns or set(columns) - {"binary", "int8"}:
        raise ValueError(f"code columns are binary and int8, not {columns!r}")
    return ", ".join(table + c for c in columns)


def _arrays(rows: list, columns: int) -> tuple[np.ndarray, ...]:
    """(ids, uint8 code matrix per column) from (chunk id, blob, …) rows."""
    if not rows:
        return np.zeros(0, dtype=np.int64), *(np.zeros((0, CODE_BYTES), dtype=np.uint8) for _ in range(columns))
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    return ids, *(np.frombuffer(b"".join(r[c] for r in rows), dtype=np.uint8).reshape(len(rows), -1)
                  for c in range(1, columns + 1))


def read_codes_of(db, model: str | None, ids, columns: tuple[str, ...] = ("binary",)) -> tuple[np.ndarray, ...]:
    """(chunk ids, then one array of codes per column) stored for `model` (None: whichever is stored)
    among `ids`, in id order; absent ids are left out.

    One statement for any number of ids: the sorted ids travel as one JSON array walked by
    `json_each` (CROSS JOIN keeps it the outer loop, so each id is one primary-key lookup and
    neighbouring ids share B-tree pages). 800 int8 codes of 1M: 0.7 ms, against 4.0 ms for
    sorted `IN (...)` batches of 500 (measured in one run).
    """
    wanted = json.dumps(np.unique(np.asarray(ids, dtype=np.int64)).tolist())  # sorted
    which = "" if model is None else "WHERE v.model = ?"
    rows = db.execute(f"SELECT v.chunk_id, {_columns_sql(columns, 'v.')} FROM json_each(?) AS j "
                      f"CROSS JOIN vectors AS v ON v.chunk_id = j.value {which}",
                      [wanted] + ([] if model is None else [model])).fetchall()
    rows.sort(key=lambda r: r[0])  # already in order in practice; cheaper here than ORDER BY's temp B-tree
    return _arrays(rows, len(columns))


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
