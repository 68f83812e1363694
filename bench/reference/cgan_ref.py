#!/usr/bin/env python3
"""An independent conditional GAN in PyTorch with the networks of our `cpu` preset: the "standard" CGAN
of issue #14, trained on the flowers-20 Table 1 split and sampled for bench/reference/score-samples.ts,
which scores its samples with OUR evaluator (docs/design.md, "The independent CGAN on our evaluator").

    npx tsx bench/reference/dump-split.ts /tmp/split flowers102
    nice -n 10 /usr/bin/python3 bench/reference/cgan_ref.py --data /tmp/split --seed 1 --out /tmp/cganref/seed1
    npx tsx bench/reference/score-samples.ts --cgan <run>/models/cgan/checkpoint /tmp/cganref/seed1 /tmp/cganref/seed1/pytorch-bn

Networks (lib/model/networks.ts buildGenerator, lib/model/baselines.ts buildConditionalDiscriminator,
lib/model/config.ts 'cpu'), matched detail by detail:
  G: [z (64), one-hot c (20)] -> FC 256 -> BN -> ReLU -> FC 4*4*96 -> BN -> ReLU -> reshape (NHWC in tfjs,
     NCHW here: a fixed permutation of a randomly initialised layer's outputs, so the same family) ->
     ConvTranspose 96, 48, 24 (k3, s2, 'same': TF pads such a layer by 0 before, 1 after, i.e. the
     full transposed output cropped to [0, 2H)) each -> BN -> ReLU -> conv 3 (k3, 'same', with bias) -> tanh.
     No bias before batch norm (BN's beta replaces it).
  D: conv 32 k5 s2 (bias, no BN) -> LReLU 0.2 -> conv 64 k5 s2 -> BN -> LReLU -> [h (8x8x64), c tiled
     over 8x8] -> conv 128 k5 s2 -> BN -> LReLU -> flatten (4*4*128) -> linear 1 (with bias).
     'same' padding of a k5 s2 conv on an even size in TF: 1 before, 2 after (F.pad(1, 2, 1, 2)).
  Init N(0, 0.02) on every conv / linear kernel, biases 0, BN gamma 1 / beta 0 (config.init
  'dcgan-normal'). BN: epsilon 1e-5, tfjs momentum 0.9 = PyTorch momentum 0.1.
  Adam 2e-4, betas (0.5, 0.999), epsilon 1e-7 (tfjs's default).
The step: the standard PyTorch DCGAN loop.
  x_p = G(z_p, c_r) in training mode (labels of the fakes = the real batch's, as our step does);
  D in training mode on x_r and on x_p.detach() as two passes, L_D = BCE(real, 1) + BCE(fake, 0), Adam;
  G's non-saturating loss BCE(D(x_p, c_r), 1) through D in training mode (a third pass; D's weights not
  stepped), Adam. G's batch-norm statistics move once per step (one training-mode pass), as ours do.
Data: uint8 NHWC -> x / 127.5 - 1; batches of 16 from a seeded random permutation per epoch, the
remainder dropped (datasets/batching.ts Batcher does the same, with its own RNG).
Batch-norm moving variance: PyTorch's running_var averages the unbiased batch variance, tfjs's the
biased one (lib tfjs-layers normalizeBatchInTraining); for sampling the moving variances are put on
tfjs's scale (times (n - 1) / n, n = values per channel in a batch: 15/16 for G's FC layers), see
<out>/pytorch-bn for PyTorch's own.

Output (--out): samples-x.bin (uint8 NHWC, 100 per class, class-major), samples-y.bin (int32),
labeldep-x.bin (float32 NHWC, G(z_j, c) for 8 fixed codes z_j and each of the 20 classes, class-major:
lib/train/diagnostics.ts labelDependence's layout), info.json (losses, timing, label dependence).
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument('--data', default='/tmp/split')
ap.add_argument('--dataset', default='flowers102')
ap.add_argument('--seed', type=int, default=1)
ap.add_argument('--steps', type=int, default=3000)
ap.add_argument('--batch', type=int, default=16)
ap.add_argument('--per-class', type=int, default=100)
ap.add_argument('--out', required=True)
ap.add_argument('--log-every', type=int, default=250)
a = ap.parse_args()

torch.set_num_threads(1)
torch.manual_seed(a.seed)
np.random.seed(a.seed)

K, ZD, R = 20, 64, 32
BN_MOM = 1 - 0.9
LEAK = 0.2


def load(split):
    x = np.fromfile(f'{a.data}/{a.dataset}-{split}-x.bin', dtype=np.uint8).reshape(-1, R, R, 3)
    y = np.fromfile(f'{a.data}/{a.dataset}-{split}-y.bin', dtype=np.int32)
    return torch.tensor(x).permute(0, 3, 1, 2).float() / 127.5 - 1, torch.tensor(y).long()


xtr, ytr = load('train')
assert int(ytr.max()) == K - 1, 'expected 20 classes'


class SameConv(nn.Module):
    """tf 'same' padding: total max((ceil(H/s)-1)*s + k - H, 0), the smaller half before."""

    def __init__(self, cin, cout, k, s, bias):
        super().__init__()
        self.k, self.s = k, s
        self.conv = nn.Conv2d(cin, cout, k, s, 0, bias=bias)

    def forward(self, x):
        H = x.shape[-1]
        out = -(-H // self.s)
        tot = max((out - 1) * self.s + self.k - H, 0)
        b, e = tot // 2, tot - tot // 2
        return self.conv(F.pad(x, (b, e, b, e)))


class SameDeconv(nn.Module):
    """tf conv2dTranspose, stride 2, 'same': the full transposed output cropped to [pad_before, pad_before + 2H).

    For k = 3 (pad_before 0) computed exactly by its four output phases: one 2x2 convolution of the
    input padded by 1 before (taps x[p-1], x[p]), 4 * out channels, then pixel_shuffle. Output pixel
    2p takes w[2] x[p-1] + w[0] x[p], pixel 2p+1 takes w[1] x[p] (per axis). ConvTranspose2d's own CPU
    kernel in this PyTorch build (generic BLAS) is 10-20x slower. The weight has ConvTranspose2d's
    layout [in, out, k, k]; the result equals F.conv_transpose2d(x, w, stride=2)[..., :2H, :2W] to
    float rounding (checked against tfjs's conv2dTranspose).
    """

    TAPS = ((2, 0), (None, 1))  # phase a -> kernel index t for tap u = 0 (x[p-1]) and u = 1 (x[p])

    def __init__(self, cin, cout, k, bias):
        super().__init__()
        assert k == 3, 'only k = 3 (the cpu preset) is implemented'
        self.weight = nn.Parameter(torch.empty(cin, cout, k, k))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None

    def forward(self, x):
        w = self.weight
        cin, cout = w.shape[0], w.shape[1]
        zero = w.new_zeros(cin, cout)
        rows = []
        for a in range(2):
            for b in range(2):
                rows.append(torch.stack([torch.stack([zero if (self.TAPS[a][u] is None or self.TAPS[b][v] is None) else w[:, :, self.TAPS[a][u], self.TAPS[b][v]]
                                                      for v in range(2)], -1) for u in range(2)], -2))  # [cin, cout, 2, 2]
        kern = torch.stack(rows, 0).permute(2, 0, 1, 3, 4).reshape(cout * 4, cin, 2, 2)  # channel = c * 4 + a * 2 + b
        bias = None if self.bias is None else self.bias.repeat_interleave(4)
        return F.pixel_shuffle(F.conv2d(F.pad(x, (1, 0, 1, 0)), kern, bias), 2)


class G(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Sequential(
            nn.Linear(ZD + K, 256, bias=False), nn.BatchNorm1d(256, eps=1e-5, momentum=BN_MOM), nn.ReLU(),
            nn.Linear(256, 4 * 4 * 96, bias=False), nn.BatchNorm1d(4 * 4 * 96, eps=1e-5, momentum=BN_MOM), nn.ReLU())
        layers = []
        ch = 96
        for f in (96, 48, 24):
            layers += [SameDeconv(ch, f, 3, bias=False), nn.BatchNorm2d(f, eps=1e-5, momentum=BN_MOM), nn.ReLU()]
            ch = f
        layers += [SameConv(ch, 3, 3, 1, bias=True), nn.Tanh()]
        self.deconv = nn.Sequential(*layers)

    def forward(self, z, c):
        # tfjs reshapes the FC output to [4, 4, 96] (channels last); do the same, then go to NCHW.
        h = self.fc(torch.cat([z, c], 1)).view(-1, 4, 4, 96).permute(0, 3, 1, 2)
        return self.deconv(h)


class D(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = SameConv(3, 32, 5, 2, bias=True)
        self.c2 = SameConv(32, 64, 5, 2, bias=False)
        self.b2 = nn.BatchNorm2d(64, eps=1e-5, momentum=BN_MOM)
        self.c3 = SameConv(64 + K, 128, 5, 2, bias=False)
        self.b3 = nn.BatchNorm2d(128, eps=1e-5, momentum=BN_MOM)
        self.out = nn.Linear(4 * 4 * 128, 1)

    def forward(self, x, c):
        h = F.leaky_relu(self.c1(x), LEAK)
        h = F.leaky_relu(self.b2(self.c2(h)), LEAK)
        h = torch.cat([h, c[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])], 1)
        h = F.leaky_relu(self.b3(self.c3(h)), LEAK)
        # tfjs flattens NHWC; the order only permutes the linear layer's (random) weights.
        return self.out(torch.flatten(h.permute(0, 2, 3, 1), 1)).squeeze(1)


def init(m):
    for p in m.modules():
        if isinstance(p, (nn.Conv2d, nn.Linear, SameDeconv)):
            nn.init.normal_(p.weight, 0.0, 0.02)
            if p.bias is not None:
                nn.init.zeros_(p.bias)


netG, netD = G(), D()
init(netG)
init(netD)
optG = torch.optim.Adam(netG.parameters(), 2e-4, betas=(0.5, 0.999), eps=1e-7)
optD = torch.optim.Adam(netD.parameters(), 2e-4, betas=(0.5, 0.999), eps=1e-7)
bce = nn.BCEWithLogitsLoss()
m = a.batch
n = len(ytr)
per_epoch = n // m
gen = torch.Generator().manual_seed(a.seed)
perm = None
log = []
t0 = time.time()
netG.train()
netD.train()
for step in range(a.steps):
    b = step % per_epoch
    if b == 0:
        perm = torch.randperm(n, generator=gen)
    idx = perm[b * m:(b + 1) * m]
    x, y = xtr[idx], ytr[idx]
    c = F.one_hot(y, K).float()
    z = torch.randn(m, ZD)
    xp = netG(z, c)
    # D: two training-mode passes, real then fake.
    optD.zero_grad(set_to_none=True)
    lr_ = netD(x, c)
    lp = netD(xp.detach(), c)
    LD = bce(lr_, torch.ones_like(lr_)) + bce(lp, torch.zeros_like(lp))
    LD.backward()
    optD.step()
    # G: non-saturating loss through the updated D in training mode.
    optG.zero_grad(set_to_none=True)
    lg = netD(xp, c)
    LG = bce(lg, torch.ones_like(lg))
    LG.backward()
    optG.step()
    if (step + 1) % a.log_every == 0 or step == 0:
        rec = {'step': step + 1, 'L_D': LD.item(), 'L_G_adv': LG.item(), 'D_real': torch.sigmoid(lr_).mean().item(),
               'D_fake': torch.sigmoid(lp).mean().item(), 's': round(time.time() - t0, 1)}
        log.append(rec)
        print(json.dumps(rec), flush=True)
train_s = time.time() - t0

# Sampling: G in inference mode (running statistics), z ~ N(0, I) from its own seed.
def sample(out):
    os.makedirs(out, exist_ok=True)
    netG.eval()
    sg = torch.Generator().manual_seed(1000 + a.seed)
    xs, ys = [], []
    with torch.no_grad():
        for cls in range(K):
            z = torch.randn(a.per_class, ZD, generator=sg)
            c = F.one_hot(torch.full((a.per_class,), cls, dtype=torch.long), K).float()
            xs.append(netG(z, c))
            ys.append(np.full(a.per_class, cls, dtype=np.int32))
        imgs = torch.cat(xs).permute(0, 2, 3, 1).numpy()
        np.clip(np.round((imgs + 1) * 127.5), 0, 255).astype(np.uint8).tofile(f'{out}/samples-x.bin')
        np.concatenate(ys).tofile(f'{out}/samples-y.bin')
        # Label dependence (lib/train/diagnostics.ts): 8 fixed codes, every class, class-major blocks.
        z1 = torch.randn(8, ZD, generator=torch.Generator().manual_seed(4321))
        ld = torch.stack([netG(z1, F.one_hot(torch.full((8,), cls, dtype=torch.long), K).float()).permute(0, 2, 3, 1) for cls in range(K)])
        ld.numpy().astype(np.float32).tofile(f'{out}/labeldep-x.bin')
        flat = ld.reshape(K, 8, -1)
        return float(np.mean([torch.sqrt(((flat[i] - flat[j]) ** 2).mean(1)).mean().item() for i in range(K) for j in range(i + 1, K)]))


# PyTorch's own running variance (unbiased batch variances) -> <out>/pytorch-bn; then on tfjs's scale
# (biased: times (n - 1) / n, n = values per channel in one training batch) -> <out>, the main result.
label_dep_pt = sample(f'{a.out}/pytorch-bn')
with torch.no_grad():
    bns = [mod for mod in netG.modules() if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d))]
    for mod, hw in zip(bns, [1, 1, 8 * 8, 16 * 16, 32 * 32]):
        nv = m * hw
        mod.running_var.mul_((nv - 1) / nv)
label_dep = sample(a.out)
info = {'seed': a.seed, 'steps': a.steps, 'batch': m, 'train_seconds': round(train_s, 1), 'label_dep': label_dep,
        'label_dep_pytorch_bn': label_dep_pt, 'log': log,
        'params': {'G': sum(p.numel() for p in netG.parameters()), 'D': sum(p.numel() for p in netD.parameters())}}
with open(f'{a.out}/info.json', 'w') as f:
    json.dump(info, f, indent=1)
torch.save({'G': netG.state_dict(), 'D': netD.state_dict()}, f'{a.out}/nets.pt')
print(json.dumps({k: v for k, v in info.items() if k != 'log'}), flush=True)
