"""Hybrid retrieval: binary Hamming shortlist → int8 rescoring, plus FTS5 BM25, fused by RRF."""
