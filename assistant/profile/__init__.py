"""What the assistant learns about the person from their own writing (style now; facts and persona next)."""
