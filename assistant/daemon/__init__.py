"""The background daemon that keeps the profile store current (see issue: background indexing)."""
