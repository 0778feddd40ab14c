"""Parse, redact, chunk, embed, quantize and store what sources read."""
