"""Replays a run recorded by bench/reference/replay-record.ts in PyTorch, step for step.

Our CGAN's first step, batches and noise, in cgan_ref.py's layers: the tfjs initial weights of G
and D are mapped onto them (kernel layouts transposed), then every step uses the recorded batch
indices and z_p. With D on the joint batch [x_r; x_p] (our step before #14's fix) the losses equal
ours to float rounding for the first steps; 'separate' changes only how D sees the two halves.

  .venv/bin/python bench/reference/replay_cgan.py RUN_DIR joint|separate [SAMPLE_DIR]

RUN_DIR: the folder replay-record.ts wrote; SAMPLE_DIR: 100 samples per class for
score-samples.ts after the replay (G in inference mode, running variance on tfjs's biased scale).
The split is /tmp/split (bench/reference/dump-split.ts). docs/design.md, "GAN baselines that
learn the label", has the numbers.
"""
import os
import sys, json, numpy as np, torch, torch.nn.functional as F
src = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'cgan_ref.py')).read()
src = src[:src.index('netG, netD = G(), D()')]
mode = sys.argv[2] if len(sys.argv) > 2 else 'joint'
d = sys.argv[1]
sample_dir = sys.argv[3] if len(sys.argv) > 3 else None
sys.argv = ['x', '--out', '/tmp/none', '--data', '/tmp/split']
exec(src)
torch.set_num_threads(1)
meta = json.load(open(f'{d}/w-meta.json'))
def load_w(tag):
    a = np.fromfile(f'{d}/w-{tag}.bin', dtype=np.float32); o = 0; out = {}
    for r in meta:
        out[r['name']] = a[o:o + r['n']].reshape(r['shape']); o += r['n']
    return out
netG, netD = G(), D()
def mapping():
    g, dd = netG, netD
    bn = lambda m, p: [(f'{p}/gamma', m.weight, None), (f'{p}/beta', m.bias, None), (f'{p}/moving_mean', m.running_mean, None), (f'{p}/moving_variance', m.running_var, None)]
    T2 = lambda k: k.T
    T4 = lambda k: k.transpose(3, 2, 0, 1)
    L = [('G_fc1/kernel', g.fc[0].weight, T2), *bn(g.fc[1], 'G_bn2'), ('G_fc4/kernel', g.fc[3].weight, T2), *bn(g.fc[4], 'G_bn5'),
         ('G_deconv7/kernel', g.deconv[0].weight, T4), *bn(g.deconv[1], 'G_bn8'), ('G_deconv10/kernel', g.deconv[3].weight, T4), *bn(g.deconv[4], 'G_bn11'),
         ('G_deconv13/kernel', g.deconv[6].weight, T4), *bn(g.deconv[7], 'G_bn14'), ('G_conv16/kernel', g.deconv[9].conv.weight, T4), ('G_conv16/bias', g.deconv[9].conv.bias, None),
         ('D_conv1/kernel', dd.c1.conv.weight, T4), ('D_conv1/bias', dd.c1.conv.bias, None), ('D_conv3/kernel', dd.c2.conv.weight, T4), *bn(dd.b2, 'D_bn4'),
         ('D_conv9/kernel', dd.c3.conv.weight, T4), *bn(dd.b3, 'D_bn10'), ('D_fc13/kernel', dd.out.weight, T2), ('D_fc13/bias', dd.out.bias, None)]
    return L
def set_w(w):
    with torch.no_grad():
        for name, t, f in mapping():
            v = w[name]; v = f(v) if f else v
            assert tuple(v.shape) == tuple(t.shape), (name, v.shape, t.shape)
            t.copy_(torch.tensor(np.ascontiguousarray(v)))
def diff_w(w, tag):
    rows = []
    for name, t, f in mapping():
        v = w[name]; v = f(v) if f else v
        v = torch.tensor(np.ascontiguousarray(v)); tt = t.detach()
        rows.append((name, (tt - v).abs().max().item(), v.abs().max().item()))
    worst = sorted(rows, key=lambda r: -r[1] / (r[2] + 1e-12))[:6]
    print(tag, 'worst rel diffs:', ', '.join(f'{n} {a:.2e}/{b:.2e}' for n, a, b in worst))
set_w(load_w('0'))
optG = torch.optim.Adam(netG.parameters(), 2e-4, betas=(0.5, 0.999), eps=1e-7)
optD = torch.optim.Adam(netD.parameters(), 2e-4, betas=(0.5, 0.999), eps=1e-7)
xall = np.fromfile('/tmp/split/flowers102-train-x.bin', dtype=np.uint8).reshape(-1, 32, 32, 3)
yall = np.fromfile('/tmp/split/flowers102-train-y.bin', dtype=np.int32)
idx = np.fromfile(f'{d}/idx.bin', dtype=np.int32).reshape(-1, 16)
zs = np.fromfile(f'{d}/z.bin', dtype=np.float32).reshape(-1, 16, 64)
ours = json.load(open(f'{d}/log.json'))
N = len(ours)
sp = lambda t: F.softplus(t)
netG.train(); netD.train()
for s in range(N):
    x = torch.tensor(xall[idx[s]]).permute(0, 3, 1, 2).float() / 127.5 - 1
    c = F.one_hot(torch.tensor(yall[idx[s]]).long(), 20).float()
    z = torch.tensor(zs[s])
    xp = netG(z, c)
    optD.zero_grad(set_to_none=True)
    if mode == 'joint':
        l = netD(torch.cat([x, xp.detach()]), torch.cat([c, c])); lr_, lp = l[:16], l[16:]
    else:
        lr_ = netD(x, c); lp = netD(xp.detach(), c)
    LD = sp(-lr_).mean() + sp(lp).mean()
    LD.backward(); optD.step()
    saved = [b.clone() for b in netD.buffers()]
    optG.zero_grad(set_to_none=True)
    if mode == 'joint':
        lg = netD(torch.cat([x, xp]), torch.cat([c, c]))[16:]
    else:
        lg = netD(xp, c)
    LG = sp(-lg).mean(); LG.backward(); optG.step()
    with torch.no_grad():
        for b, v in zip(netD.buffers(), saved): b.copy_(v)
    o = ours[s]
    if s < 10 or (s + 1) % 10 == 0:
        print(f"step {s+1}: L_D ours {o['L_D']:.6f} torch {LD.item():.6f} | L_G ours {o['L_G_adv']:.6f} torch {LG.item():.6f}")
    if os.path.exists(f'{d}/w-{s+1}.bin') and s + 1 in (1, 2, 10, N): diff_w(load_w(str(s + 1)), f'after step {s+1}')

def sample(out, per_class=100, seed=1):
    os.makedirs(out, exist_ok=True)
    netG.eval()
    sg = torch.Generator().manual_seed(1000 + seed)
    xs, ys = [], []
    with torch.no_grad():
        for cls in range(20):
            z = torch.randn(per_class, 64, generator=sg)
            c = F.one_hot(torch.full((per_class,), cls, dtype=torch.long), 20).float()
            xs.append(netG(z, c)); ys.append(np.full(per_class, cls, dtype=np.int32))
        imgs = torch.cat(xs).permute(0, 2, 3, 1).numpy()
        np.clip(np.round((imgs + 1) * 127.5), 0, 255).astype(np.uint8).tofile(f'{out}/samples-x.bin')
        np.concatenate(ys).tofile(f'{out}/samples-y.bin')
        z1 = torch.randn(8, 64, generator=torch.Generator().manual_seed(4321))
        ld = torch.stack([netG(z1, F.one_hot(torch.full((8,), cls, dtype=torch.long), 20).float()).permute(0, 2, 3, 1) for cls in range(20)])
        ld.numpy().astype(np.float32).tofile(f'{out}/labeldep-x.bin')
if sample_dir:
    with torch.no_grad():
        bns = [mod for mod in netG.modules() if isinstance(mod, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d))]
        for mod, hw in zip(bns, [1, 1, 8 * 8, 16 * 16, 32 * 32]):
            nv = 16 * hw; mod.running_var.mul_((nv - 1) / nv)
    sample(sample_dir)
    print('samples in', sample_dir)
