from assistant.ingest.chunking import chunk_text


def test_short_text_is_one_chunk():
    assert chunk_text("Hiya Sam,\n\nQuick one.\n\nOnwards,\nPriya") == ["Hiya Sam,\n\nQuick one.\n\nOnwards,\nPriya"]


def test_long_text_splits_under_the_limit_and_keeps_every_word():
    paragraph = " ".join(f"word{i}." for i in range(450))
    chunks = chunk_text(paragraph, max_words=100)
    assert len(chunks) >= 5
    assert all(len(c.split()) <= 100 for c in chunks)
    assert " ".join(chunks).split() == paragraph.split()


def test_markdown_heading_starts_a_new_chunk():
    chunks = chunk_text("# Title\n\nIntro.\n\n## Drainage\n\nThe swale first.")
    assert chunks[-1].startswith("## Drainage")


def test_blank_text_has_no_chunks():
    assert chunk_text("  \n\n \t") == []
