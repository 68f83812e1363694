"""Reference values for bench/reference/metrics-beyond.ts, from code we did not write.

precision / recall / density / coverage: prdc 0.2's compute_prdc (pip install prdc==0.2; it
imports scikit-learn only for sklearn.metrics.pairwise_distances(metric='euclidean'), which
this script replaces by the plain Euclidean distance when scikit-learn is not installed).
FID per class: pytorch-fid's calculate_frechet_distance formula with scipy.linalg.sqrtm.
"""
import json
import sys
import types

import numpy as np
from scipy import linalg

try:
    import sklearn.metrics  # noqa: F401
except ImportError:
    def pairwise_distances(x, y, metric='euclidean', n_jobs=None):
        assert metric == 'euclidean'
        return np.sqrt(np.maximum(((x[:, None, :] - y[None, :, :]) ** 2).sum(-1), 0))
    sk = types.ModuleType('sklearn')
    sk.metrics = types.SimpleNamespace(pairwise_distances=pairwise_distances)
    sys.modules['sklearn'] = sk
    sys.modules['sklearn.metrics'] = sk.metrics
import contextlib
import io

from prdc import compute_prdc


def frechet(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """pytorch-fid's calculate_frechet_distance (Seitzer, Apache 2.0), unchanged in substance."""
    diff = mu1 - mu2
    covmean, _ = linalg.sqrtm(sigma1.dot(sigma2), disp=False)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


d = json.load(open(sys.argv[1]))
real = np.array(d['real'], dtype=np.float64)
fake = np.array(d['fake'], dtype=np.float64)
matched = np.array(d['matched'], dtype=np.float64)
rl = np.array(d['realLabels'])
fl = np.array(d['fakeLabels'])
with contextlib.redirect_stdout(io.StringIO()):
    p3 = compute_prdc(real, matched, 3)
    p5 = compute_prdc(real, matched, 5)
per = []
for c in range(int(rl.max()) + 1):
    a, b = real[rl == c], fake[fl == c]
    per.append(frechet(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)))
print(json.dumps({'precision': float(p3['precision']), 'recall': float(p3['recall']), 'density': float(p5['density']),
                  'coverage': float(p5['coverage']), 'perClassFid': per, 'intraFid': float(np.mean(per))}))
