"""The shapes of bench/conv-ops.ts in PyTorch (NCHW), 2 threads: forward, input gradient, filter
gradient, and forward + backward, mean ms of 30 calls after 3 warm-up.

    python3 bench/reference/conv_ops.py
"""
import torch, time, torch.nn.functional as F
torch.set_num_threads(2)
cases=[('D conv 3',[16,64,8,8],[128,64,5,5],2),('D conv 2',[16,32,16,16],[64,32,5,5],2),('D conv 1',[16,3,32,32],[32,3,5,5],2),('G last conv',[16,24,32,32],[3,24,3,3],1)]
def t(name,f,reps=30):
    for _ in range(3): f()
    t0=time.perf_counter()
    for _ in range(reps): f()
    print(f"{name:70s} {(time.perf_counter()-t0)/reps*1e3:.2f} ms")
for n,xs,ws,s in cases:
    x=torch.randn(xs); w=torch.randn(ws); p=ws[2]//2
    y=F.conv2d(x,w,stride=s,padding=p); dy=torch.randn(y.shape)
    t(f"{n} forward",lambda: F.conv2d(x,w,stride=s,padding=p))
    t(f"{n} input gradient",lambda: torch.nn.grad.conv2d_input(x.shape,w,dy,stride=s,padding=p))
    t(f"{n} filter gradient",lambda: torch.nn.grad.conv2d_weight(x,w.shape,dy,stride=s,padding=p))
    xr=x.clone().requires_grad_(); wr=w.clone().requires_grad_()
    def both():
        yy=F.conv2d(xr,wr,stride=s,padding=p); yy.backward(dy)
    t(f"{n} forward + both gradients",both)
