#!/usr/bin/env python3
"""Fine-tunes torchvision's mobilenet_v2 on TrashNet and writes wastenet's bundled model.

Recipe (the published WasteNet system's augmentation plus what is known to work for fine-tuning):
- init: ImageNet weights (../shared/models/mobilenet_v2_imagenet.safetensors by default; BN is folded
  there, so every BatchNorm layer stays in eval mode while training, its weight and bias trainable);
  classifier[1] replaced by Linear(1280, 6).
- input: the whole photo resized to 288x288 (`--input-size`; `resize=fit`, PIL bilinear, exactly
  what wastenet-classify does), ImageNet mean/std.
- augmentation (training split only): horizontal and vertical flips, rotation up to 180 degrees,
  translation up to 10%, Keras-style zoom up to 75% (z ~ U(-0.75, 0.75), the field of view scaled by
  1 + z, so objects appear between 0.57x and 4x), white fill (TrashNet's background), and lighting
  jitter (brightness, contrast, saturation +-30%).
- optimisation: AdamW, head lr 2e-3, backbone lr 2e-4 (10x lower), weight decay 1e-4, label
  smoothing 0.1, batch 32, one warm-up epoch then cosine decay over the main epochs; then the
  published system's "consolidation epochs" at a tenth of the learning rate with flips only.
  The whole backbone trains (`--freeze 0`). `--freeze 7` keeps the stem and the first six
  inverted-residual blocks (features[:7]) frozen, which on two CPU cores cuts an epoch's time by
  about 4x; what each recipe reached is in the README ("The bundled model").
- `--ema DECAY` (off by default) keeps an exponential moving average of the weights, updated after
  every step, and validates and keeps that instead of the raw weights: a cheap average over the
  last few hundred steps. With 0.995 it did not beat the bundled model (README, "The bundled model").
- `--swa` (off by default) is stochastic weight averaging (Izmailov et al. 2018), meant for continuing
  a trained model: `--init` one of this tool's six-class models (its head is kept), every epoch at the
  constant learning rates given with the full augmentation (no warm-up, no cosine; use
  `--consolidation-epochs 0`), and after each epoch the uniform average of the weights at the ends of
  the epochs so far is validated and kept instead of the raw weights. Continuing the bundled model
  for 8 epochs at a quarter of the peak rates, it did not beat it either (README).
- the best epoch by validation accuracy is kept; the test split is evaluated once, at the end.

The defaults are the recipe of the bundled model. Data order, augmentation and dropout follow
--seed. Resumable (--resume) from the checkpoint written after every epoch, which holds dropout's
generator state too.
Run with Debian's torch: /usr/bin/python3 tools/train_trashnet.py [options]
Evaluate a model file: /usr/bin/python3 tools/train_trashnet.py --evaluate-only --weights FILE --split test
Average runs that differ only in --seed (a uniform "model soup", Wortsman et al. 2022):
  /usr/bin/python3 tools/train_trashnet.py --soup A.safetensors B.safetensors --output FILE
Fine-tuned from the same init, such runs stay in one basin of the loss, so the average of their weights
is a model at least as good as its parts more often than not; it costs no inference time, unlike an
ensemble. Whether to keep it is decided on the validation split, which the tool prints for the soup and
for every ingredient.
"""
import argparse
import copy
import json
import math
import os
import random
import shlex
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

CLASSES = ["cardboard", "glass", "metal", "paper", "plastic", "trash"]  # alphabetical: the model's order
TRASHNET_ORDER = ["glass", "paper", "cardboard", "plastic", "metal", "trash"]  # split files' 1-based labels
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def fail(msg):
    print(f"train_trashnet: {msg}", file=sys.stderr)
    sys.exit(2)


def parse_args():
    ap = argparse.ArgumentParser(description="Fine-tune mobilenet_v2 on TrashNet for wastenet.")
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "trashnet"))
    ap.add_argument("--init", default=os.path.join(ROOT, "..", "shared", "models", "mobilenet_v2_imagenet.safetensors"),
                    help="a torchvision mobilenet_v2 state_dict in safetensors, or 'torchvision' to download ImageNet weights")
    ap.add_argument("--output", default=os.path.join(ROOT, "models", "wastenet_trashnet_mobilenet_v2.safetensors"))
    ap.add_argument("--input-size", type=int, default=288)
    ap.add_argument("--epochs", type=int, default=15, help="main epochs (cosine schedule)")
    ap.add_argument("--consolidation-epochs", type=int, default=2, help="final epochs at lr/10, flips only")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr-head", type=float, default=2e-3)
    ap.add_argument("--lr-backbone", type=float, default=2e-4)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--label-smoothing", type=float, default=0.1)
    ap.add_argument("--freeze", type=int, default=0, help="number of leading feature blocks kept frozen")
    ap.add_argument("--ema", type=float, default=0.0, metavar="DECAY",
                    help="validate and keep an exponential moving average of the weights (decay per step, e.g. 0.995); 0: off")
    ap.add_argument("--swa", action="store_true",
                    help="constant learning rate, and validate and keep the uniform average of the weights at the end of "
                         "each epoch (stochastic weight averaging); for continuing one of this tool's models (--init)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--checkpoint-dir", default=os.path.join(ROOT, ".train"))
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--evaluate-only", action="store_true")
    ap.add_argument("--weights", help="with --evaluate-only: the safetensors model to evaluate")
    ap.add_argument("--split", default="test", choices=["train", "val", "test"])
    ap.add_argument("--json", action="store_true", help="with --evaluate-only: print per-image predictions as JSON")
    ap.add_argument("--soup", nargs="+", metavar="FILE",
                    help="average the weights of models this tool trained (a uniform model soup) and write the "
                         "average to --output, with its validation and test accuracy")
    return ap.parse_args()


args = parse_args()

import torch  # noqa: E402  (after argparse so that --help works without torch)
import torchvision  # noqa: E402
import torchvision.transforms.functional as TF  # noqa: E402
from PIL import Image  # noqa: E402

from safetensors_io import load_file, save_file  # noqa: E402


def read_split(name):
    path = os.path.join(args.data, f"split_{name}.txt")
    if not os.path.exists(path):
        fail(f"{path}: split file not found (is --data the TrashNet folder?)")
    items = []
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            fname, label = line.split()
            cls = TRASHNET_ORDER[int(label) - 1]
            if "".join(c for c in fname.split(".")[0] if not c.isdigit()) != cls:
                fail(f"{path}: {fname} has label {label} ({cls})")
            items.append((fname, os.path.join(args.data, "images", cls, fname), CLASSES.index(cls)))
    return items


def eval_transform(size, resize_mode="fit"):
    """Exactly what wastenet-classify does: RGB, resize, [0, 1], ImageNet normalisation."""
    def tf(img):
        img = img.convert("RGB")
        if resize_mode == "fit":
            if img.size != (size, size):
                img = img.resize((size, size), Image.BILINEAR)
        else:
            img = TF.center_crop(TF.resize(img, int(size / 0.875)), size)
        return TF.normalize(TF.to_tensor(img), MEAN, STD)
    return tf


class TrainTransform:
    """Flips, rotation, translation, Keras-style zoom, lighting jitter; then the eval transform."""

    def __init__(self, size, full):
        self.size, self.full = size, full
        self.jitter = torchvision.transforms.ColorJitter(0.3, 0.3, 0.3)

    def __call__(self, img, rng):
        img = img.convert("RGB").resize((self.size, self.size), Image.BILINEAR)
        if rng.random() < 0.5:
            img = TF.hflip(img)
        if rng.random() < 0.5:
            img = TF.vflip(img)
        if self.full:
            z = rng.uniform(-0.75, 0.75)
            img = TF.affine(img, angle=rng.uniform(-180, 180),
                            translate=[int(round(rng.uniform(-0.1, 0.1) * self.size)) for _ in range(2)],
                            scale=1.0 / (1.0 + z), shear=[0.0, 0.0],
                            interpolation=TF.InterpolationMode.BILINEAR, fill=[255, 255, 255])
            b, c, s = (rng.uniform(0.7, 1.3) for _ in range(3))
            img = TF.adjust_saturation(TF.adjust_contrast(TF.adjust_brightness(img, b), c), s)
        return TF.normalize(TF.to_tensor(img), MEAN, STD)


class Dataset(torch.utils.data.Dataset):
    def __init__(self, items, transform, seed=0):
        self.items, self.transform, self.seed, self.epoch = items, transform, seed, 0

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        _, path, label = self.items[i]
        img = Image.open(path)
        if isinstance(self.transform, TrainTransform):
            # per-sample RNG from (seed, epoch, index): identical whatever the worker count
            x = self.transform(img, random.Random(hash((self.seed, self.epoch, i)) & 0xFFFFFFFF))
        else:
            x = self.transform(img)
        return x, label


def float32_state(sd):
    """A state_dict of this tool's files (FP16 on disk) as float32 tensors."""
    return {k: (v.float() if v.is_floating_point() else v) for k, v in sd.items()}


def six_class_model(sd):
    model = torchvision.models.mobilenet_v2(num_classes=len(CLASSES))
    model.load_state_dict(float32_state(sd))
    return model


def make_model():
    model = torchvision.models.mobilenet_v2()
    if args.init == "torchvision":
        model = torchvision.models.mobilenet_v2(weights="IMAGENET1K_V1")
    else:
        if not os.path.exists(args.init):
            fail(f"{args.init}: init weights not found")
        sd, meta = load_file(args.init)
        head = sd.get("classifier.1.weight")
        if head is not None and head.shape[0] == len(CLASSES):
            # one of this tool's models: continue it, head included
            if meta.get("classes") != ",".join(CLASSES):
                fail(f"{args.init}: a {len(CLASSES)}-class model whose metadata 'classes' is {meta.get('classes')!r}")
            return six_class_model(sd), meta
        model.load_state_dict(sd)
    model.classifier[1] = torch.nn.Linear(model.last_channel, len(CLASSES))
    return model, None


@torch.no_grad()
def blend_into(average, model, keep):
    """average = keep * average + (1 - keep) * model, for every floating-point tensor."""
    for avg, v in zip(average.state_dict().values(), model.state_dict().values()):
        if v.is_floating_point():
            avg.mul_(keep).add_(v, alpha=1 - keep)


def set_train_mode(model):
    model.train()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eval()  # statistics stay those of the init weights (see ../shared/models/README.md)


@torch.no_grad()
def evaluate(model, items, size):
    model.eval()
    loader = torch.utils.data.DataLoader(Dataset(items, eval_transform(size)), batch_size=64, num_workers=args.workers)
    preds, loss, n = [], 0.0, 0
    for x, y in loader:
        out = model(x)
        loss += torch.nn.functional.cross_entropy(out, y, reduction="sum").item()
        preds += out.argmax(1).tolist()
        n += len(y)
    correct = sum(int(p == it[2]) for p, it in zip(preds, items))
    return correct / n, loss / n, preds


def save_model(model, path, meta):
    sd = model.state_dict()
    half = {k: (v.half() if v.is_floating_point() else v) for k, v in sd.items()}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    save_file(half, path, meta)


def evaluate_only():
    if not args.weights or not os.path.exists(args.weights or ""):
        fail("--evaluate-only needs --weights FILE")
    sd, meta = load_file(args.weights)
    model = six_class_model(sd)
    size = int(meta.get("input_size", args.input_size))
    items = read_split(args.split)
    acc, _, preds = evaluate(model, items, size)
    if args.json:
        print(json.dumps({"accuracy": acc, "predictions": [
            {"file": it[0], "label": CLASSES[it[2]], "pred": CLASSES[p]} for it, p in zip(items, preds)]}, indent=1))
    else:
        print(f"{args.split}: accuracy {acc:.4f} on {len(items)} images")


def soup():
    ingredients = []
    for path in args.soup:
        if not os.path.exists(path):
            fail(f"{path}: model not found")
        sd, meta = load_file(path)
        ingredients.append((path, sd, meta))
    first_path, first_sd, first_meta = ingredients[0]
    for path, sd, meta in ingredients[1:]:
        if sd.keys() != first_sd.keys() or any(sd[k].shape != first_sd[k].shape for k in sd):
            fail(f"{path}: its tensors differ from those of {first_path}")
        for key in ("arch", "classes", "input_size", "mean", "std", "resize"):
            if meta.get(key) != first_meta.get(key):
                fail(f"{path}: metadata '{key}' is {meta.get(key)!r}, {first_path} has {first_meta.get(key)!r}")
    averaged = {}
    for k, v in first_sd.items():
        if v.is_floating_point():
            # BatchNorm's running statistics are the init's in every ingredient (BN stays in eval
            # mode while training), so averaging keeps them exactly and no re-estimation is needed.
            averaged[k] = sum(sd[k].double() for _, sd, _ in ingredients).div(len(ingredients)).half()
        elif any(not torch.equal(sd[k], v) for _, sd, _ in ingredients):
            fail(f"{k}: integer tensor differs between ingredients")
        else:
            averaged[k] = v
    size = int(first_meta.get("input_size", args.input_size))
    val_items, test_items = read_split("val"), read_split("test")
    model = torchvision.models.mobilenet_v2(num_classes=len(CLASSES))
    for path, sd, _ in ingredients:
        model.load_state_dict(float32_state(sd))
        print(f"ingredient {path}: val accuracy {evaluate(model, val_items, size)[0]:.4f}", flush=True)
    model.load_state_dict(float32_state(averaged))
    val_acc = evaluate(model, val_items, size)[0]
    test_acc, _, preds = evaluate(model, test_items, size)
    print(f"soup of {len(ingredients)}: val accuracy {val_acc:.4f}; test accuracy {test_acc:.4f} on {len(test_items)} images",
          flush=True)
    meta = {k: first_meta[k] for k in ("arch", "classes", "input_size", "mean", "std", "resize", "epochs", "dataset")
            if k in first_meta}
    meta.update({
        "train_command": "/usr/bin/python3 tools/train_trashnet.py " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        "seed": ",".join(m.get("seed", "?") for _, _, m in ingredients),
        "test_accuracy": f"{test_acc:.4f}", "val_accuracy": f"{val_acc:.4f}", "precision": "fp16",
        "soup_of": json.dumps([{k: m[k] for k in ("train_command", "seed", "best_epoch", "val_accuracy", "test_accuracy")
                                if k in m} for _, _, m in ingredients]),
    })
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    save_file(averaged, args.output, meta)
    with open(args.output + ".test_predictions.json", "w") as f:
        json.dump([{"file": it[0], "label": CLASSES[it[2]], "pred": CLASSES[p]} for it, p in zip(test_items, preds)], f, indent=0)
    print(f"wrote {args.output}", flush=True)


def main():
    torch.set_num_threads(args.threads)
    if args.evaluate_only:
        return evaluate_only()
    if args.soup:
        return soup()
    if args.swa and args.ema > 0:
        fail("--swa and --ema are two ways of averaging the weights; choose one")
    if not os.path.isdir(args.data):
        fail(f"{args.data}: TrashNet folder not found (use --data)")
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    train_items, val_items, test_items = read_split("train"), read_split("val"), read_split("test")
    size = args.input_size
    model, init_meta = make_model()
    if args.swa and init_meta is None:
        fail(f"--swa continues a trained model: --init one of this tool's models, not {args.init}")
    if init_meta is not None and init_meta.get("input_size", str(size)) != str(size):
        fail(f"{args.init}: trained at input size {init_meta.get('input_size')}, this run has --input-size {size}")
    if os.path.exists(args.output) and os.path.realpath(args.output) == os.path.realpath(args.init):
        fail(f"{args.output}: --output is the --init model; write the new model elsewhere")
    for p in model.features[:args.freeze].parameters():
        p.requires_grad_(False)
    head = list(model.classifier.parameters())
    backbone = [p for p in model.features.parameters() if p.requires_grad]
    opt = torch.optim.AdamW([{"params": backbone, "lr": args.lr_backbone}, {"params": head, "lr": args.lr_head}],
                            weight_decay=args.weight_decay)
    base_lrs = [args.lr_backbone, args.lr_head]
    total = args.epochs + args.consolidation_epochs
    train_full = Dataset(train_items, TrainTransform(size, True), args.seed)
    train_flips = Dataset(train_items, TrainTransform(size, False), args.seed)
    os.makedirs(args.checkpoint_dir, exist_ok=True)
    ckpt_path = os.path.join(args.checkpoint_dir, "checkpoint.pt")
    start, best_acc, best_state, best_epoch = 0, -1.0, None, -1
    # The moving average of the weights (Polyak averaging), updated after every step, held in a copy
    # of the model that is validated and kept instead of the raw weights. BatchNorm's buffers are
    # constant (BN stays in eval mode), so averaging them changes them by rounding at most.
    # With --swa the same copy holds the uniform average of the weights at the ends of the epochs.
    average_model = copy.deepcopy(model) if args.ema > 0 or args.swa else None
    averaging = "ema" if args.ema > 0 else "swa" if args.swa else None
    step = 0
    if args.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        written = ck.get("averaging", "ema" if ck.get("ema_state") is not None else None)
        if written != averaging:
            fail(f"{ckpt_path}: checkpoint was written with weight averaging {written or 'off'}, this run has "
                 f"{averaging or 'off'}; resume with the same options")
        if average_model is not None:
            average_model.load_state_dict(ck["ema_state"])
        step = ck.get("step", 0)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        start, best_acc, best_state, best_epoch = ck["epoch"] + 1, ck["best_acc"], ck["best_state"], ck["best_epoch"]
        if "torch_rng" in ck:  # dropout's generator; checkpoints before it was saved resume with a fresh one
            torch.set_rng_state(ck["torch_rng"])
        print(f"resumed after epoch {start}", flush=True)
    crit = torch.nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    for epoch in range(start, total):
        t0 = time.time()
        consolidation = epoch >= args.epochs
        if args.swa:
            factor = 1.0  # constant: the average is taken over the epochs' ends
        elif consolidation:
            factor = 0.1
        elif epoch == 0:
            factor = 0.1  # warm-up epoch
        else:
            factor = 0.5 * (1 + math.cos(math.pi * (epoch - 1) / max(1, args.epochs - 1)))
        for g, lr in zip(opt.param_groups, base_lrs):
            g["lr"] = lr * factor
        data = train_flips if consolidation else train_full
        data.epoch = epoch
        g = torch.Generator().manual_seed(args.seed * 1000 + epoch)
        loader = torch.utils.data.DataLoader(data, batch_size=args.batch_size, shuffle=True, generator=g,
                                             num_workers=args.workers, drop_last=True)
        set_train_mode(model)
        tl, tc, tn = 0.0, 0, 0
        for x, y in loader:
            opt.zero_grad()
            with torch.no_grad():
                h = model.features[:args.freeze](x)
            out = model.classifier(torch.nn.functional.adaptive_avg_pool2d(model.features[args.freeze:](h), 1).flatten(1))
            loss = crit(out, y)
            loss.backward()
            opt.step()
            step += 1
            if averaging == "ema":
                # the usual warm-up: early steps average over fewer steps than 1/(1-decay)
                decay = min(args.ema, (1 + step) / (10 + step))
                blend_into(average_model, model, decay)
            tl += loss.item() * len(y)
            tc += (out.argmax(1) == y).sum().item()
            tn += len(y)
        if args.swa:
            # the uniform average of the ends of epochs 1..epoch+1; the first replaces the init (keep 0)
            blend_into(average_model, model, epoch / (epoch + 1))
        kept = average_model if average_model is not None else model
        val_acc, val_loss, _ = evaluate(kept, val_items, size)
        if val_acc > best_acc:
            best_acc, best_epoch = val_acc, epoch
            best_state = {k: v.clone() for k, v in kept.state_dict().items()}
        print(f"epoch {epoch + 1:2d}/{total} {'consolidate' if consolidation else 'train':11s} lr {opt.param_groups[1]['lr']:.2e} "
              f"train loss {tl / tn:.4f} acc {tc / tn:.4f}  val{f' ({averaging})' if averaging else ''} loss {val_loss:.4f} acc {val_acc:.4f}  {time.time() - t0:.0f}s",
              flush=True)
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch, "best_acc": best_acc,
                    "best_state": best_state, "best_epoch": best_epoch, "torch_rng": torch.get_rng_state(),
                    "ema_state": average_model.state_dict() if average_model is not None else None, "step": step,
                    "averaging": averaging}, ckpt_path)
    # Evaluate what users load: the FP16-rounded weights, upcast to float32.
    model.load_state_dict({k: (v.half().float() if v.is_floating_point() else v) for k, v in best_state.items()})
    # The epoch was chosen on float32 weights; the metadata records what the FP16 file scores, which
    # can differ by an image or two (the EMA run of 2026-12-07: 310 against 309 of 328).
    val_acc_fp16 = evaluate(model, val_items, size)[0]
    test_acc, _, preds = evaluate(model, test_items, size)
    print(f"best epoch {best_epoch + 1} (val {best_acc:.4f}, FP16 weights {val_acc_fp16:.4f}); "
          f"test accuracy {test_acc:.4f} on {len(test_items)} images", flush=True)
    meta = {
        "arch": "mobilenet_v2", "classes": ",".join(CLASSES), "input_size": str(size),
        "mean": ",".join(map(str, MEAN)), "std": ",".join(map(str, STD)), "resize": "fit",
        "train_command": "/usr/bin/python3 tools/train_trashnet.py " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        "seed": str(args.seed), "test_accuracy": f"{test_acc:.4f}", "val_accuracy": f"{val_acc_fp16:.4f}",
        "epochs": str(total), "best_epoch": str(best_epoch + 1),
        "dataset": "TrashNet (Thung & Yang 2016), authors' split", "precision": "fp16",
    }
    if init_meta is not None:
        # continued from one of this tool's models: its seeds come first, and its record is kept
        meta["seed"] = init_meta.get("seed", "?") + "," + str(args.seed)
        meta["init"] = json.dumps({k: v for k, v in init_meta.items() if k not in ("arch", "classes", "mean", "std")})
    save_model(model, args.output, meta)
    with open(args.output + ".test_predictions.json", "w") as f:
        json.dump([{"file": it[0], "label": CLASSES[it[2]], "pred": CLASSES[p]} for it, p in zip(test_items, preds)], f, indent=0)
    print(f"wrote {args.output}", flush=True)


if __name__ == "__main__":
    main()
