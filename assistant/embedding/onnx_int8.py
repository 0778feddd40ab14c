"""all-MiniLM-L6-v2 run by ONNX Runtime with int8 weights: the same model, about 1.6x as fast on a CPU.

The ONNX file is made once, offline, from the installed model: torch exports the
transformer, and onnxruntime quantizes its MatMul weights to int8 per channel, except in
the first and last of its six layers. (Per-tensor quantization moved vectors too far:
mean cosine 0.95 with the float model. Quantizing every layer per channel kept 0.973 of
the float model's LoCoMo recall; leaving the first and last in float keeps, of the float
model's exact-search figures, 0.989 of PrefEval R@5 (8 of 1,000 questions lost, short of
the 0.99 goal), 0.992 of its MRR and 1.007 of LoCoMo recall@10, at about 2/3 of the
all-int8 speed: `benchmarks.embedding_bench`, README.) It is kept under the home's
`cache/`; nothing is downloaded. Pooling (mean over tokens) and normalisation are done here, as
sentence-transformers does them.

The vectors are the float model's within quantization error, so codes stored by either
backend are searched together: switching `[embedding] backend` re-embeds nothing
(`python -m benchmarks.embedding_bench` measures the speed and the retrieval quality it keeps).
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import numpy as np

from assistant.embedding.embedder import MiniLMEmbedder
from assistant.embedding.pooled import PooledMiniLM
from assistant.errors import UserError

ONNX_FILE = "all-MiniLM-L6-v2-int8.onnx"


def export_int8(target: Path) -> Path:
    """Write the int8 ONNX model to `target` (via a temporary file, so a crash leaves nothing half-made)."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    bert = MiniLMEmbedder()._load()[0].auto_model.eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self, model) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    example = tuple(torch.ones((2, 8), dtype=torch.int64) for _ in names)
    # Per-process names: the daemon and a command may both find the file missing at once.
    float_file = target.with_suffix(f".{os.getpid()}.float.tmp")
    int8_file = target.with_suffix(f".{os.getpid()}.int8.tmp")
    quantizer_log = logging.getLogger()  # onnxruntime.quantization advises on the root logger
    level = quantizer_log.level
    try:
        quantizer_log.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter warns about tracing details of the model code
            torch.onnx.export(LastHiddenState(bert), example, str(float_file), input_names=names,
                              output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                              dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]})
        quantize_dynamic(str(float_file), str(int8_file), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"], nodes_to_exclude=_edge_layer_matmuls(float_file, bert))
        os.replace(int8_file, target)
    finally:
        quantizer_log.setLevel(level)
        float_file.unlink(missing_ok=True)
        int8_file.unlink(missing_ok=True)
    return target


def _edge_layer_matmuls(model_file: Path, bert) -> list[str]:
    """Names of the MatMul nodes in the first and last encoder layers, which stay float."""
    import onnx

    last = bert.config.num_hidden_layers - 1
    edges = ("/layer.0/", f"/layer.{last}/")
    return [node.name for node in onnx.load(str(model_file)).graph.node
            if node.op_type == "MatMul" and any(edge in node.name for edge in edges)]


class OnnxInt8Embedder(PooledMiniLM):
    """The default model through ONNX Runtime; `cache_dir` holds the exported file."""

    def __init__(self, cache_dir: Path, threads: int | None = None) -> None:
        super().__init__()
        self.path = Path(cache_dir) / "onnx" / ONNX_FILE
        self.threads = threads or min(4, os.cpu_count() or 1)
        self._session = None

    def _load(self):
        if self._session is None:
            try:
                import onnxruntime
            except ImportError as exc:
                raise UserError("the onnx-int8 backend needs onnxruntime; run `make install` "
                                "(or `pip install onnxruntime onnx`)") from exc
            if not self.path.exists():
                export_int8(self.path)
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.log_severity_level = 3
            self._session = onnxruntime.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        return self._session

    def _hidden(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self._load().run(None, {"input_ids": ids, "attention_mask": mask,
                                       "token_type_ids": np.zeros_like(ids)})[0]
