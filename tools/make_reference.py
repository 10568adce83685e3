#!/usr/bin/env python3
"""Writes torchvision reference models, inputs and logits for wastenet's parity tests.

For each case: a torchvision model with seeded random weights whose batch-norm layers carry
randomized statistics with small variances (0.01-0.1, so that a wrong epsilon shows), rescaled
so that the logits have unit scale; a PNG image of exactly the input size (so that
`wastenet-classify --resize fit` leaves it untouched); the normalized input as float32 NHWC; and
torchvision's logits as float32. Also the top-5 of the real ImageNet MobileNetV2 on the shared
sample photos with the evaluation transform (Resize 256, CenterCrop 224).

Usage: /usr/bin/python3 tools/make_reference.py OUT_DIR [--shared ../shared] [--only NAME]
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torchvision
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import load_file, save_file  # noqa: E402

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]

# (arch, default size, classes at default size, classes at the other size)
ARCHS = [
    ("mobilenet_v2", 224, 6, 1000),
    ("mobilenet_v3_small", 224, 1000, 6),
    ("mobilenet_v3_large", 224, 10, 1000),
    ("efficientnet_b0", 224, 6, 1000),
    ("efficientnet_b1", 240, 1000, 5),
    ("efficientnet_b2", 260, 7, 1000),
    ("efficientnet_b3", 300, 1000, 6),
    ("efficientnet_b4", 380, 6, 1000),
    ("efficientnet_b5", 456, 1000, 3),
    ("efficientnet_b6", 528, 12, 1000),
    ("efficientnet_b7", 600, 1000, 6),
]


def cases():
    out = []
    for i, (arch, size, c_default, c_other) in enumerate(ARCHS):
        other = max(32, int(round(size * 0.75 / 8)) * 8)  # 75% resolution, as the published system ran
        out.append((f"{arch}_{size}", arch, size, c_default, 1000 + i))
        out.append((f"{arch}_{other}", arch, other, c_other, 2000 + i))
    return out


def make_image(size, seed):
    """A smooth colour pattern plus noise: textured enough to exercise every filter."""
    g = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    img = np.stack([
        0.5 + 0.4 * np.sin(6.0 * x + 3.0 * y + g.uniform(0, 6)),
        0.5 + 0.4 * np.cos(5.0 * y - 2.0 * x + g.uniform(0, 6)),
        0.5 + 0.4 * np.sin(9.0 * x * y + g.uniform(0, 6)),
    ], axis=-1)
    img += g.normal(0, 0.08, img.shape)
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8)


def to_input(pixels):
    t = torch.from_numpy(pixels).float().div(255.0)
    t = (t - torch.tensor(MEAN)) / torch.tensor(STD)
    return t.permute(2, 0, 1).unsqueeze(0).contiguous()  # NCHW


@torch.no_grad()
def randomize(model, calibration_input, seed):
    """Seeded weights; batch-norm statistics measured layer by layer in eval mode, then randomized.

    Each BN's running statistics are set, just before it runs, from the channel statistics of
    its actual input (perturbed a little), so that activations stay at unit scale through any
    depth and the reference is well conditioned. Then each conv output channel is rescaled by a
    so that its variance lands in [0.01, 0.1]: w *= a, mean *= a, var *= a^2 leaves the function
    unchanged except through eps, so a wrong eps shows. Both happen in one pass, in a pre-hook
    of each BN, so that later layers are calibrated on exactly what they will see.
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    bns = []
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.uniform_(0.8, 1.2, generator=gen)
            m.bias.uniform_(-0.1, 0.1, generator=gen)
            m.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,), generator=gen)))
            bns.append(m)
        elif isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)) and m.bias is not None:
            m.bias.uniform_(-0.1, 0.1, generator=gen)

    conv_of = {}
    prev_conv = None
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            prev_conv = m
        elif isinstance(m, torch.nn.BatchNorm2d):
            conv_of[m] = prev_conv

    def calibrate(bn, inputs):
        x = inputs[0]
        c = bn.num_features
        mean = x.double().mean(dim=(0, 2, 3))
        var = x.double().var(dim=(0, 2, 3)).clamp_min(1e-6)
        mean = mean + torch.randn(c, generator=gen).double() * 0.1 * var.sqrt()
        var = var * torch.empty(c, dtype=torch.float64).uniform_(0.7, 1.4, generator=gen)
        # Rescale the producing conv (and, for this pass, its output) before BN sees it.
        a = (torch.empty(c, dtype=torch.float64).uniform_(0.01, 0.1, generator=gen) / var).sqrt()
        conv_of[bn].weight.mul_(a.float().view(-1, 1, 1, 1))
        x.mul_(a.float().view(1, -1, 1, 1))
        bn.running_mean.copy_(mean * a)
        bn.running_var.copy_(var * a * a)

    model.eval()
    hooks = [bn.register_forward_pre_hook(calibrate) for bn in bns]
    model(calibration_input)
    for h in hooks:
        h.remove()


@torch.no_grad()
def fp16_storage_deviation(model, x, logits):
    """Max |logit change| when torchvision itself stores in binary16, computing in float32, the
    tensors wastenet's FP16 networks store: the input, the output of every convolution block (after
    its activation), of every residual block, of squeeze-and-excitation, of pooling and of the
    classifier's layers. How sensitive this network is to half-precision storage: the randomized
    statistics subtract per-channel means that are large against the channel's spread, so rounding is
    amplified far more than in a trained network. FP16 tolerances scale with this."""
    from torchvision.ops.misc import Conv2dNormActivation, SqueezeExcitation
    from torchvision.models.mobilenetv2 import InvertedResidual as V2Block
    from torchvision.models.mobilenetv3 import InvertedResidual as V3Block
    from torchvision.models.efficientnet import MBConv
    inside_cna = {id(m) for c in model.modules() if isinstance(c, Conv2dNormActivation) for m in c.modules()}
    stored = [m for m in model.modules()
              if isinstance(m, (Conv2dNormActivation, SqueezeExcitation, V2Block, V3Block, MBConv,
                                torch.nn.AdaptiveAvgPool2d, torch.nn.Linear, torch.nn.Hardswish))
              or (isinstance(m, torch.nn.BatchNorm2d) and id(m) not in inside_cna)]
    hooks = [m.register_forward_hook(lambda m, i, o: o.half().float()) for m in stored]
    try:
        return float((model(x.half().float()) - logits).abs().max())
    finally:
        for h in hooks:
            h.remove()


@torch.no_grad()
def make_case(out_dir, name, arch, size, classes, seed):
    model = getattr(torchvision.models, arch)(num_classes=classes)
    pixels = make_image(size, seed)
    x = to_input(pixels)
    # Statistics from the test input itself (and its mirror image): activations then stay at
    # unit scale through any depth, so float32 rounding cannot be amplified into the logits.
    randomize(model, torch.cat([x, x.flip(3)]), seed)
    logits = model(x)
    last = model.classifier[-1]
    scale = 1.0 / max(float(logits.std()), 1e-6)  # unit-scale logits, so 1e-3 is a tight tolerance
    last.weight.mul_(scale)
    last.bias.mul_(scale)
    logits = model(x)
    meta = {"arch": arch, "input_size": str(size)}
    save_file(model.state_dict(), os.path.join(out_dir, name + ".safetensors"), meta)
    Image.fromarray(pixels).save(os.path.join(out_dir, name + ".png"))
    x.permute(0, 2, 3, 1).contiguous().numpy().astype("<f4").tofile(os.path.join(out_dir, name + ".input.bin"))
    logits.numpy().astype("<f4").tofile(os.path.join(out_dir, name + ".logits.bin"))
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump({"arch": arch, "size": size, "classes": classes, "top1": int(logits.argmax()),
                   "fp16_storage_deviation_v2": fp16_storage_deviation(model, x, logits)}, f)


@torch.no_grad()
def imagenet_reference(out_dir, shared):
    weights = os.path.join(shared, "models", "mobilenet_v2_imagenet.safetensors")
    if not os.path.exists(weights):
        print("shared models not found; skipping the ImageNet reference")
        return
    sd, _ = load_file(weights)
    model = torchvision.models.mobilenet_v2()
    model.load_state_dict(sd)
    model.eval()
    tf = torchvision.transforms.Compose([
        torchvision.transforms.Resize(256), torchvision.transforms.CenterCrop(224),
        torchvision.transforms.ToTensor(), torchvision.transforms.Normalize(MEAN, STD)])
    out = {}
    for name in ("cat", "bird"):
        img = Image.open(os.path.join(shared, "data", "imagenet-samples", name + ".bmp")).convert("RGB")
        p = torch.softmax(model(tf(img).unsqueeze(0)), 1)[0]
        top = torch.topk(p, 5)
        out[name] = {"classes": top.indices.tolist(), "probabilities": top.values.tolist()}
    with open(os.path.join(out_dir, "imagenet_mobilenet_v2.json"), "w") as f:
        json.dump(out, f, indent=1)


def resize_reference(out_dir):
    """PIL bilinear resizes (down, up, mixed) of a test pattern, for the preprocessing test."""
    src = Image.fromarray(make_image(97, 7)[:, :83])  # 83 x 97, odd sizes on purpose
    src.save(os.path.join(out_dir, "resize_src.png"))
    for w, h in ((40, 31), (200, 150), (83, 50), (30, 97), (224, 224)):
        np.asarray(src.resize((w, h), Image.BILINEAR)).tofile(os.path.join(out_dir, f"resize_{w}x{h}.bin"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
    ap.add_argument("--only", help="generate only the case with this name")
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    all_cases = cases()
    with open(os.path.join(args.out_dir, "cases.txt"), "w") as f:
        f.write("\n".join(c[0] for c in all_cases) + "\n")
    for name, arch, size, classes, seed in all_cases:
        if args.only and name != args.only:
            continue
        done = os.path.join(args.out_dir, name + ".json")
        if os.path.exists(done) and "fp16_storage_deviation_v2" in json.load(open(done)):
            continue  # already generated (the files are deterministic)
        make_case(args.out_dir, name, arch, size, classes, seed)
        print("wrote", name, flush=True)
    if not args.only:
        resize_reference(args.out_dir)
        imagenet_reference(args.out_dir, args.shared)


if __name__ == "__main__":
    main()
