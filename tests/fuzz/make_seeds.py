#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora (small real files made with the project's tools) into corpus/.

Usage: /usr/bin/python3 tests/fuzz/make_seeds.py   (the output is committed; rerun after format changes)
"""
import io
import json
import os
import struct
import sys

import torch
import torchvision
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
from safetensors_io import save_file  # noqa: E402


def out(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    os.makedirs(os.path.join(HERE, "corpus"), exist_ok=True)
    tmp = os.path.join(HERE, "corpus", ".tmp.safetensors")
    # safetensors: every dtype the loader reads, an int64 counter and metadata
    save_file({"a": torch.arange(6, dtype=torch.float32).reshape(2, 3), "h": torch.ones(4, dtype=torch.float16),
               "b": torch.ones(2, 2, dtype=torch.bfloat16), "n": torch.tensor(7, dtype=torch.int64)},
              tmp, {"arch": "mobilenet_v2", "classes": "a,b"})
    out("safetensors", "small.safetensors", open(tmp, "rb").read())
    # model: the header of real torchvision state_dicts (the harness supplies zero weights)
    for arch, classes in [("mobilenet_v3_small", 6), ("mobilenet_v2", 6)]:
        model = torchvision.models.__dict__[arch](num_classes=classes)
        save_file({k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}, tmp,
                  {"arch": arch, "input_size": "224", "classes": ",".join("c%d" % i for i in range(classes))})
        raw = open(tmp, "rb").read()
        (n,) = struct.unpack("<Q", raw[:8])
        out("model", arch + ".header.json", raw[8:8 + n])
        if arch == "mobilenet_v3_small":
            out("safetensors", "header_only_" + arch + ".safetensors", raw[:8 + n])
    os.remove(tmp)
    # images: tiny files in each format the decoder accepts
    img = Image.new("RGB", (7, 5), (200, 30, 90))
    for fmt, ext in [("PNG", "png"), ("JPEG", "jpg"), ("BMP", "bmp")]:
        b = io.BytesIO()
        img.save(b, fmt)
        out("image", "tiny." + ext, b.getvalue())
    b = io.BytesIO()
    img.convert("L").save(b, "PNG")
    out("image", "gray.png", b.getvalue())
    # command lines: NUL-separated arguments
    for i, args in enumerate([["--model", "m.safetensors", "--threads", "2", "a.jpg"], ["--topk=3", "--json", "--", "--x"],
                              ["--threads", "-1"], ["--help"]]):
        out("cli", "args%d" % i, "\0".join(args).encode())


if __name__ == "__main__":
    main()
