"""Text → float32 vectors (an `Embedder`) → binary and int8 codes (`quantize`)."""
