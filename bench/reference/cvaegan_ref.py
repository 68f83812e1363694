#!/usr/bin/env python3
"""The CVAE-GAN training step of lib/model/cvaegan.ts in PyTorch, timed: the reference for bench/run.ts.

    /usr/bin/python3 bench/reference/cvaegan_ref.py --config cfg.json --threads 2 --steps 5 --warmup 2

--config is a ModelConfig as lib/model/config.ts's makeConfig returns it (JSON): the networks are built
from it with the same layers as lib/model/networks.ts (conv trunks with batch norm, DCGAN discriminator
without batch norm on its first layer, stride-2 transposed convolutions in G, the label joined at
E's last layer and at G's input), so the tfjs and PyTorch nets are one definition. Supported trunk
layers: conv (the only kind the reference net uses); maxpool/inception exit with a message.

One step is Algorithm 1 exactly as lib/model/cvaegan.ts routes it:
  (1) x_f, x_p from E, G in training mode, without gradient, batch-norm statistics put back;
  (2) C by L_C on real images, D by L_D on [x_r; x_f; x_p] (training mode), one backward, Adam;
  (3) E, G in training mode again; D and C in inference mode as fixed feature extractors (their
      weights get no gradient), one pass per input kind (x_r, x_f, x_p); S = l1 L_KL + l2 L_G + l3 L_GD + l4 L_GC, one backward over E and
      G, Adam; class centres updated by moving average.
Losses are read back once per phase (two host reads per step, like trainStep's finite checks).

Prints one JSON object: images/s, ms per step (median and all), peak RSS, parameter counts.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--config', required=True, help='ModelConfig JSON file (lib/model/config.ts)')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--steps', type=int, default=5)
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--batch', type=int, default=0, help='default: config.batchSize')
    ap.add_argument('--device', default='cpu', help="'cpu' or 'cuda'")
    ap.add_argument('--channels-last', action='store_true', help='NHWC memory format (off by default: PyTorch\'s default layout)')
    a = ap.parse_args()

    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(a.threads)
    except RuntimeError:
        pass
    torch.manual_seed(1)
    dev = torch.device(a.device)
    with open(a.config) as f:
        cfg = json.load(f)
    K = cfg['numClasses']
    zdim = cfg['zDim']
    R = cfg['resolution']
    bn = cfg['norm'] == 'batch'
    # tfjs momentum is the decay of the moving average; PyTorch's is 1 - that.
    bn_mom = 1 - cfg['bnMomentum']
    m = a.batch or cfg['batchSize']

    def same_pad(k):
        return (k - 1) // 2

    def act(kind):
        return nn.ReLU() if kind == 'relu' else nn.LeakyReLU(0.2)

    def init(mod):
        for p in mod.modules():
            if isinstance(p, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                if cfg.get('init', 'glorot-uniform') == 'dcgan-normal':
                    nn.init.normal_(p.weight, 0.0, 0.02)  # networks.ts kernelInitializer
                else:
                    nn.init.xavier_uniform_(p.weight)  # tfjs glorotUniform
                if p.bias is not None:
                    nn.init.zeros_(p.bias)

    class Trunk(nn.Module):
        """conv -> BN -> act per layer, flatten / global average, hidden FCs (networks.ts Builder.trunk)."""

        def __init__(self, t, activation, norm_first=True):
            super().__init__()
            layers = []
            ch = 3
            size = R
            for i, l in enumerate(t['trunk']):
                if l['kind'] != 'conv':
                    sys.exit(f"cvaegan_ref.py: trunk layer kind {l['kind']!r} is not implemented (only 'conv')")
                use_bn = bn and (norm_first or i > 0)
                s, k = l['stride'], l['kernel']
                pad = same_pad(k) if s > 1 else 'same'
                layers.append(nn.Conv2d(ch, l['filters'], k, s, pad, bias=not use_bn))
                if use_bn:
                    layers.append(nn.BatchNorm2d(l['filters'], eps=1e-5, momentum=bn_mom))
                layers.append(act(activation))
                ch = l['filters']
                size = -(-size // s)
            self.conv = nn.Sequential(*layers)
            self.pool = t['pool']
            d = ch * size * size if self.pool == 'flatten' else ch
            hid = []
            for u in t['hidden']:
                hid += [nn.Linear(d, u, bias=not bn)] + ([nn.BatchNorm1d(u, eps=1e-5, momentum=bn_mom)] if bn else []) + [act(activation)]
                d = u
            self.hidden = nn.Sequential(*hid)
            self.out_dim = d

        def forward(self, x):
            h = self.conv(x)
            h = torch.flatten(h, 1) if self.pool == 'flatten' else h.mean((2, 3))
            return self.hidden(h)

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.trunk = Trunk(cfg['encoder'], 'relu')
            self.mu = nn.Linear(self.trunk.out_dim + K, zdim)
            self.logvar = nn.Linear(self.trunk.out_dim + K, zdim)

        def forward(self, x, c):
            h = torch.cat([self.trunk(x), c], 1)
            return self.mu(h), self.logvar(h)

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            g = cfg['generator']
            ups = sum(1 for l in g['layers'] if l['upsample'])
            self.base = R // 2 ** ups
            self.ch = g['baseChannels']
            fc = []
            d = zdim + K
            for u in g['hidden'] + [self.base * self.base * self.ch]:
                fc += [nn.Linear(d, u, bias=not bn)] + ([nn.BatchNorm1d(u, eps=1e-5, momentum=bn_mom)] if bn else []) + [nn.ReLU()]
                d = u
            self.fc = nn.Sequential(*fc)
            layers = []
            ch = self.ch
            for i, l in enumerate(g['layers']):
                last = i == len(g['layers']) - 1
                use_bn = bn and not last
                k = l['kernel']
                if l['upsample']:
                    p = same_pad(k)
                    layers.append(nn.ConvTranspose2d(ch, l['filters'], k, 2, p, output_padding=2 - k + 2 * p, bias=not use_bn))
                else:
                    layers.append(nn.Conv2d(ch, l['filters'], k, 1, 'same', bias=not use_bn))
                if last:
                    layers.append(nn.Tanh())
                else:
                    if use_bn:
                        layers.append(nn.BatchNorm2d(l['filters'], eps=1e-5, momentum=bn_mom))
                    layers.append(nn.ReLU())
                ch = l['filters']
            self.deconv = nn.Sequential(*layers)

        def forward(self, z, c):
            h = self.fc(torch.cat([z, c], 1)).view(-1, self.ch, self.base, self.base)
            return self.deconv(h)

    class Head(nn.Module):
        """D (1 logit, leaky ReLU, no BN on the first conv) or C (K logits): returns (logits, features)."""

        def __init__(self, t, activation, out, norm_first):
            super().__init__()
            self.trunk = Trunk(t, activation, norm_first)
            self.out = nn.Linear(self.trunk.out_dim, out)

        def forward(self, x):
            f = self.trunk(x)
            return self.out(f), f

    E, G = Encoder().to(dev), Generator().to(dev)
    D = Head(cfg['discriminator'], 'leaky', 1, False).to(dev)
    C = Head(cfg['classifier'], 'relu', K, True).to(dev)
    nets = {'E': E, 'G': G, 'D': D, 'C': C}
    for n in nets.values():
        init(n)
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    if a.channels_last:
        for n in nets.values():
            n.to(memory_format=torch.channels_last)
    o = cfg['optimizer']
    opt = {k: torch.optim.Adam(n.parameters(), lr=o['learningRate'], betas=(o['beta1'], o['beta2']), eps=1e-7) for k, n in nets.items()}
    lc = cfg['loss']

    def red(t, how, dims):
        # 'per-pixel': the sum divided by the pixel values of one image (lib/model/losses.ts, config.ts).
        if how == 'per-pixel':
            return t.sum(dims) / (R * R * 3)
        return t.sum(dims) if how == 'sum' else t.mean(dims)

    def pairwise(a_, b_):
        d = (a_ - b_) ** 2
        return 0.5 * red(d, lc['pairwise'], tuple(range(1, d.dim()))).mean()

    def class_means(f, onehot):
        counts = onehot.sum(0)
        means = onehot.t() @ f / counts.clamp(min=1).unsqueeze(1)
        return means, counts

    d_c = C.trunk.out_dim
    centres = torch.zeros(K, d_c, device=dev)
    seen = torch.zeros(K, device=dev)

    def bn_state(nets_):
        return [(b, b.clone()) for n in nets_ for b in n.buffers()]

    def step(x, labels):
        nonlocal centres, seen
        onehot = F.one_hot(labels, K).float()
        eps = torch.randn(m, zdim, device=dev)
        zp = torch.randn(m, zdim, device=dev)
        # (1)
        saved = bn_state([E, G])
        E.train(); G.train()
        with torch.no_grad():
            mu, logvar = E(x, onehot)
            z = mu + torch.exp(0.5 * logvar) * eps
            xf = G(z, onehot)
            xp = G(zp, onehot)
        with torch.no_grad():
            for b, v in saved:
                b.copy_(v)
        # (2)
        C.train(); D.train()
        for n in (C, D):
            n.requires_grad_(True)
        logits_c, _ = C(x)
        LC = F.cross_entropy(logits_c, labels)
        logits_d, _ = D(torch.cat([x, xf, xp]).contiguous(memory_format=fmt))
        lr_, lf, lp = logits_d.split(m)
        LD = F.softplus(-lr_).mean() + F.softplus(lf).mean() + F.softplus(lp).mean()
        acc = (logits_c.argmax(1) == labels).float().mean()
        opt['C'].zero_grad(set_to_none=True); opt['D'].zero_grad(set_to_none=True)
        (LC + LD).backward()
        v1 = torch.stack([LC, LD, acc, torch.sigmoid(lr_).mean(), torch.sigmoid(lf).mean(), torch.sigmoid(lp).mean()]).detach().cpu().tolist()
        if not all(map(lambda v: v == v and abs(v) != float('inf'), v1[:2])):
            raise FloatingPointError(f'non-finite L_C/L_D {v1[:2]}')
        opt['C'].step(); opt['D'].step()
        # (3)
        C.eval(); D.eval()
        for n in (C, D):
            n.requires_grad_(False)
        E.train(); G.train()
        mu, logvar = E(x, onehot)
        z = mu + torch.exp(0.5 * logvar) * eps
        xf = G(z, onehot)
        xp = G(zp, onehot)
        # One inference-mode pass per input kind, as encoderGeneratorLosses does; nothing
        # requires a gradient on the real images' pass, so autograd records none of it.
        fDr, fDf, fDp = (D(i)[1] for i in (x, xf, xp))
        fCr, fCf, fCp = (C(i)[1] for i in (x, xf, xp))
        KL = red(0.5 * (mu ** 2 + torch.exp(logvar) - logvar - 1), lc['kl'], 1).mean()
        pix, pD, pC = pairwise(x, xf), pairwise(fDr, fDf), pairwise(fCr, fCf)
        LG = pix + pD + pC
        GD = 0.5 * red((fDr.mean(0) - fDp.mean(0)) ** 2, lc['featureMatching'], -1)
        with torch.no_grad():
            means, counts = class_means(fCr, onehot)
            present = (counts > 0).float()
            keep = present * seen * lc['centreDecay'] + (1 - present)
            next_centres = centres * keep.unsqueeze(1) + means * (1 - keep).unsqueeze(1)
            next_seen = torch.maximum(seen, present)
        pm, pcount = class_means(fCp, onehot)
        GC = 0.5 * ((pcount > 0).float() * red((next_centres - pm) ** 2, lc['featureMatching'], -1)).sum()
        total = lc['lambdaKL'] * KL + lc['lambdaG'] * LG + lc['lambdaGD'] * GD + lc['lambdaGC'] * GC
        opt['E'].zero_grad(set_to_none=True); opt['G'].zero_grad(set_to_none=True)
        total.backward()
        v2 = torch.stack([KL, LG, GD, GC, pix, pD, pC]).detach().cpu().tolist()
        if not all(map(lambda v: v == v and abs(v) != float('inf'), v2)):
            raise FloatingPointError(f'non-finite E/G losses {v2}')
        opt['G'].step(); opt['E'].step()
        centres, seen = next_centres, next_seen
        return v1 + v2

    gen = torch.Generator().manual_seed(2)
    x = (torch.rand(m, 3, R, R, generator=gen) * 2 - 1).to(dev).contiguous(memory_format=fmt)
    labels = torch.randint(0, K, (m,), generator=gen).to(dev)

    def sync():
        if dev.type == 'cuda':
            torch.cuda.synchronize()

    t_build = time.perf_counter()
    for _ in range(a.warmup):
        step(x, labels)
    sync()
    ms = []
    cpu = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        c0 = time.process_time()
        step(x, labels)
        sync()
        ms.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    med = statistics.median(ms)

    def blas():
        # Which BLAS the process loaded: Debian's python3-torch calls the system libblas.so.3, which
        # is the slow reference implementation unless OpenBLAS is installed or on LD_LIBRARY_PATH.
        try:
            with open('/proc/self/maps') as f:
                libs = {line.split()[-1] for line in f if 'blas' in line.lower() and '/' in line}
        except OSError:
            return 'unknown'
        if any('openblas' in l.lower() for l in libs):
            return 'OpenBLAS'
        if any('mkl' in l.lower() for l in libs):
            return 'MKL'
        return 'reference BLAS (netlib)' if libs else 'none loaded'
    count = lambda n: sum(p.numel() for p in n.parameters())
    out = {
        'runtime': f'pytorch {torch.__version__}',
        'device': a.device if dev.type == 'cpu' else f'cuda ({torch.cuda.get_device_name(0)})',
        'threads': torch.get_num_threads(),
        'mkldnn': bool(torch.backends.mkldnn.is_available()),
        'blas': blas(),
        'channelsLast': a.channels_last,
        'batch': m,
        'steps': a.steps,
        'warmup': a.warmup,
        'msPerStep': med,
        'msAll': ms,
        'cpuMsPerStep': statistics.median(cpu),
        'imagesPerSec': m / (med / 1000),
        'warmupSec': time.perf_counter() - t_build - sum(ms) / 1000,
        # ru_maxrss is in KiB on Linux.
        'peakRssMB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        'params': {k: count(n) for k, n in nets.items()},
        'paramsTotal': sum(count(n) for n in nets.values()),
        'python': sys.executable,
    }
    if dev.type == 'cuda':
        out['peakGpuMB'] = torch.cuda.max_memory_allocated() / 2 ** 20
    print(json.dumps(out))


if __name__ == '__main__':
    main()
