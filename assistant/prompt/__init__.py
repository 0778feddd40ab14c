"""Prompts: persona and style first, then retrieved text marked as data, then the person's request."""
