# Independent reference for the evaluator (docs/design.md "evaluation"): a small PyTorch CNN of the
# cpu evaluator's recipe (64-128-256, two 3x3 conv + BN + ReLU per block, max-pool, GAP, dropout 0.5,
# FC 128; flips + shifts of +-2 px with edges repeated; Adam 1e-3 with weight decay 5e-4, cosine, 100
# epochs; no label smoothing) trained on exactly our Table 1 split, dumped by dump-split.ts.
#   npx tsx bench/reference/dump-split.ts /tmp/split && python3 bench/reference/evaluator_ref.py /tmp/split 0 100 64 flowers102
import sys, time, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(1)
data = sys.argv[1]; ds = sys.argv[5] if len(sys.argv) > 5 else 'flowers102'; seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 100
width = int(sys.argv[4]) if len(sys.argv) > 4 else 64
torch.manual_seed(seed); np.random.seed(seed)
def load(s):
    x = np.fromfile(f'{data}/{ds}-{s}-x.bin', dtype=np.uint8).reshape(-1, 32, 32, 3)
    y = np.fromfile(f'{data}/{ds}-{s}-y.bin', dtype=np.int32)
    return torch.tensor(x).permute(0, 3, 1, 2).float() / 127.5 - 1, torch.tensor(y).long()
xtr, ytr = load('train'); xte, yte = load('test')
def block(i, o): return nn.Sequential(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU())
w = width
net = nn.Sequential(block(3, w), block(w, w), nn.MaxPool2d(2), block(w, 2*w), block(2*w, 2*w), nn.MaxPool2d(2),
                    block(2*w, 4*w), block(4*w, 4*w), nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                    nn.Dropout(0.5), nn.Linear(4*w, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 20))
opt = torch.optim.Adam(net.parameters(), 1e-3, weight_decay=5e-4)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
def aug(x):
    flip = torch.rand(x.shape[0]) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    p = F.pad(x, (2, 2, 2, 2), mode='replicate')
    out = torch.empty_like(x)
    for i in range(x.shape[0]):
        dy, dx = np.random.randint(0, 5, 2); out[i] = p[i, :, dy:dy+32, dx:dx+32]
    return out
t0 = time.time()
for ep in range(epochs):
    net.train(); perm = torch.randperm(len(ytr))
    for s in range(0, len(ytr) - 63, 64):
        idx = perm[s:s+64]; opt.zero_grad(); loss = F.cross_entropy(net(aug(xtr[idx])), ytr[idx]); loss.backward(); opt.step()
    sched.step()
net.eval()
with torch.no_grad():
    acc = (net(xte).argmax(1) == yte).float().mean().item()
    acc2 = ((F.softmax(net(xte), 1) + F.softmax(net(xte.flip(3)), 1)).argmax(1) == yte).float().mean().item()
print(f'{ds} seed {seed} epochs {epochs} width {w}: test top-1 {acc*100:.1f}% (flip-avg {acc2*100:.1f}%), {time.time()-t0:.0f} s', flush=True)
