"""The terminal app (`assistant tui`), built with textual; imported only by that command."""
