"""Text → float32 vectors (an `Embedder`) → binary and int8 codes (`quantize`).

Every import of a Hugging Face library (sentence-transformers, transformers, huggingface_hub)
in the assistant happens under this package, and those libraries read these variables once,
when first imported: so they are set here, before any of them loads. The models are local
files; nothing may ask a hub for them, and no library may report usage anywhere.
"""

import os

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
}
os.environ.update(OFFLINE_ENV)
