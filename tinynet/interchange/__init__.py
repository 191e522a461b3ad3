"""Files other tools read: safetensors state dicts (PyTorch, Hugging Face) and ONNX models
(onnxruntime and every runtime that speaks ONNX).

Each format is one small module that imports its package only when used, so tinynet
itself needs neither: ``pip install 'tinynet[safetensors]'`` or ``'tinynet[onnx]'``.

    tn.save(model.state_dict(), "model.safetensors")   # safetensors, chosen by the suffix
    tn.onnx.export(model, example_input, "model.onnx")
"""
from . import onnx

__all__ = ["onnx"]
