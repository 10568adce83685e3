#!/usr/bin/env python3
"""Exports a torchvision classifier held in a safetensors state_dict to ONNX for the ORT peer.

The model is rebuilt with torchvision (the architecture from the file's metadata or --arch, the class
count from the classifier weight), loaded with exactly the file's weights, and exported in eval
mode with a dynamic batch axis: ONNX Runtime then runs the very network wastenet runs.

Usage: /usr/bin/python3 benchmarks/peers/export_onnx.py MODEL.safetensors OUT.onnx [--arch NAME] [--size S]
"""
import argparse
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from safetensors_io import load_file  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--arch")
    ap.add_argument("--size", type=int)
    args = ap.parse_args()
    tensors, meta = load_file(args.model)
    arch = args.arch or meta.get("arch")
    if not arch:
        sys.exit(f"export_onnx: {args.model}: no 'arch' in the metadata; pass --arch")
    size = args.size or int(meta.get("input_size", 224))
    state = {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}
    classifier = [k for k in state if k.startswith("classifier") and k.endswith("weight")][-1]
    model = torchvision.models.__dict__[arch](num_classes=state[classifier].shape[0])
    model.load_state_dict(state)
    model.eval()
    x = torch.zeros(1, 3, size, size)
    torch.onnx.export(model, x, args.out, input_names=["input"], output_names=["logits"], opset_version=13,
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    print(f"export_onnx: {arch} {size}px -> {args.out}")


if __name__ == "__main__":
    main()
