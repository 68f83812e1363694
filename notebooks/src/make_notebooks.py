"""Writes notebooks 01-06 (without outputs) from the cell texts below.

usage: .venv/bin/python notebooks/src/make_notebooks.py [NAME ...]     (default: all six)

The .ipynb files are the product: they are committed with the outputs of a full run. Running this
script again REPLACES a notebook and drops its outputs, so regenerate only the notebooks whose text
changed, then execute them again with test/helpers/execute_notebook.py (command below).
Cell ids are fixed (<notebook>-<index>) so that diffs stay small.

Executing one with the outputs of a full run, in place (the kernel starts at the repository root):

    JUPYTER_PATH=jupyter .venv/bin/python test/helpers/execute_notebook.py \
        notebooks/03-flowers.ipynb notebooks/03-flowers.ipynb --timeout 7200

tslab pitfalls that the cells respect: a variable declared in another cell cannot be used in a
shorthand property (`{ model }` fails with "model is not defined"; write `{ model: model }`); a
cell's last expression is printed, so cells end with a statement; an interrupted cell forgets its
declarations, so nothing later depends on a variable declared in a training cell.
"""
import os
import sys

import nbformat

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.dirname(HERE)

METADATA = {
    "kernelspec": {"display_name": "TypeScript (cvaegan-ts)", "language": "typescript", "name": "tslab"},
    "language_info": {"file_extension": ".ts", "mimetype": "text/typescript", "name": "typescript"},
}


def md(text):
    return ("markdown", text.strip("\n"))


def code(text):
    return ("code", text.strip("\n"))


def write(name, cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata = METADATA
    for i, (kind, src) in enumerate(cells):
        cell = nbformat.v4.new_markdown_cell(src) if kind == "markdown" else nbformat.v4.new_code_cell(src)
        cell.id = f"{name[:2]}-{i:02d}"
        nb.cells.append(cell)
    nbformat.validate(nb)
    path = os.path.join(OUT, f"{name}.ipynb")
    nbformat.write(nb, path)
    print(f"wrote {os.path.relpath(path)} ({len(cells)} cells)")


# ------------------------------------------------------------------------------------------------
# 01-method
# ------------------------------------------------------------------------------------------------

METHOD = [
    md(r"""
# 01 · The method: four networks, six loss terms, one argument

CVAE-GAN (Bao, Chen, Wen, Li, Hua, *Fine-Grained Image Generation through Asymmetric Training*, ICCV 2017) generates images of a chosen fine-grained class — a person, a flower species, a bird species — by combining a conditional VAE with a GAN. This notebook takes the model apart:

1. the **four networks** and the shapes that flow between them;
2. **each loss term**, with its equation right above the `lib` call that computes it;
3. **one training step** (the paper's Algorithm 1);
4. a **2-D toy** that shows the paper's stability argument: why the generator matches *mean features* instead of fooling the discriminator, and why that alone is not enough.

Nothing here needs a dataset. Sections 1–3 run in a couple of minutes on a laptop CPU; the toy of section 4 trains four small GANs for 1,500 steps each, once with a live chart and then from three seeds, which took 24 minutes on two busy cores. Notebooks 02–04 train the model on real images.
"""),
    code(r"""
import * as tf from '@tensorflow/tfjs';
import { initBackend, describeBackend } from './lib/backend/index';
import { methodSettings } from './lib/notebook/settings';

console.log(describeBackend(await initBackend()));
const M = methodSettings();   // CVAEGAN_SMOKE=1 shrinks the toy for CI
console.log(`networks from the '${M.preset}' preset; toy: ${M.toySteps} steps per objective, ${M.toyDSteps} D updates per G update`);
"""),
    md(r"""
## 1. Four networks

| network | maps | trained with | role |
|---|---|---|---|
| **E** encoder | $(x, c) \to (\mu, \log\sigma^2)$ | $\mathcal L_{KL}$ + $\mathcal L_G$ | infers the latent code $z$ of a real image: what is *not* the class (pose, light, background) |
| **G** generator | $(z, c) \to x'$ | $\mathcal L_G$ + $\mathcal L_{GD}$ + $\mathcal L_{GC}$ | draws an image of class $c$ with attributes $z$ |
| **D** discriminator | $x \to P(\text{real}),\ f_D(x)$ | $\mathcal L_D$ (cross-entropy) | real vs. generated; its last hidden layer $f_D$ is a learned feature space |
| **C** classifier | $x \to P(c \mid x),\ f_C(x)$ | $\mathcal L_C$ (cross-entropy) | which class; its last hidden layer $f_C$ carries class information |

The label $c$ enters E at its last fully connected layer and G at its input; D and C see only images (the paper's architecture). `lib/model/networks.ts` builds all four from one `ModelConfig`; the `cpu` preset is the paper's structure, narrowed, at 32×32 pixels. Here the model has 4 classes.
"""),
    code(r"""
import { makeConfig } from './lib/model/config';
import { CVAEGAN } from './lib/model/cvaegan';
import { showTable } from './lib/viz/tables';

const config = makeConfig(M.preset, { numClasses: 4 });
const model = new CVAEGAN(config);
const { E, G, D, C } = model.nets;
const parts = model.summary();
await showTable(['E', 'G', 'D', 'C', 'total'].map((net) => ({ network: net, parameters: parts[net].params, layers: parts[net].layers, 'size of z / f': parts[net].features ?? null })),
  { caption: `CVAE-GAN, preset '${config.preset}': ${config.resolution}x${config.resolution} RGB images, z of ${config.zDim} dimensions, ${config.numClasses} classes` });
"""),
    md(r"""
A batch to push through them. The networks are untrained, so any images in $[-1, 1]$ show the shapes and the code path; random pixels stand in for a real batch $x_r$ with labels $c_r$.
"""),
    code(r"""
import * as L from './lib/model/losses';

const m = 8;
const R = config.resolution;
const xr = tf.randomUniform([m, R, R, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
const cr = tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32');
const onehot = L.asOneHot(cr, config.numClasses);
const shape = (t: tf.Tensor) => `[${t.shape.join(', ')}]`;
console.log(`x_r ${shape(xr)}  (batch, height, width, RGB)\nc_r ${shape(cr)}  -> one-hot ${shape(onehot)}`);
"""),
    md(r"""
### Encoder: $q(z \mid x, c)$ and the reparameterisation trick

$$(\mu, \log\sigma^2) = E(x, c), \qquad z = \mu + \sigma \odot \varepsilon, \quad \varepsilon \sim \mathcal N(0, I)$$

Writing $z$ as a deterministic function of $(\mu, \sigma)$ plus outside noise lets the gradient of any loss on $G(z, c)$ flow back into E.
"""),
    code(r"""
import { reparameterize } from './lib/model/cvaegan';

const [mu, logvar] = E.apply([xr, onehot], { training: false }) as tf.Tensor2D[];
const eps = tf.randomNormal(mu.shape, 0, 1, 'float32', 2) as tf.Tensor2D;
const z = reparameterize(mu, logvar, eps);
console.log(`E(x_r, c_r) -> mu ${shape(mu)}, log sigma^2 ${shape(logvar)};   z = mu + sigma * eps: ${shape(z)}`);
"""),
    md(r"""
### Generator: reconstructions and prior samples

G is used twice per step. From the encoder's code it **reconstructs** the real batch; from a code drawn from the prior it **samples** new images (as in `lib/model/cvaegan.ts`, with the real batch's labels, $c_p = c_r$):

$$x_f = G(z, c_r),\ z \sim q(z \mid x_r, c_r) \qquad\qquad x_p = G(z_p, c_p),\ z_p \sim \mathcal N(0, I)$$
"""),
    code(r"""
const zp = tf.randomNormal([m, config.zDim], 0, 1, 'float32', 3) as tf.Tensor2D;
const xf = G.apply([z, onehot], { training: false }) as tf.Tensor4D;
const xp = G.apply([zp, onehot], { training: false }) as tf.Tensor4D;
console.log(`x_f = G(z, c_r) ${shape(xf)}     x_p = G(z_p, c_p) ${shape(xp)}     (tanh output: values in [-1, 1])`);
"""),
    md(r"""
### Discriminator and classifier: an output and a feature vector each

Both return their last hidden layer as a second output. $f_D$ and $f_C$ are the feature spaces in which G is compared with real images below.
"""),
    code(r"""
const [lr, fDr] = D.apply(xr, { training: false }) as tf.Tensor2D[];
const [lf, fDf] = D.apply(xf, { training: false }) as tf.Tensor2D[];
const [lp, fDp] = D.apply(xp, { training: false }) as tf.Tensor2D[];
const [logitsC, fCr] = C.apply(xr, { training: false }) as tf.Tensor2D[];
const [, fCf] = C.apply(xf, { training: false }) as tf.Tensor2D[];
const [, fCp] = C.apply(xp, { training: false }) as tf.Tensor2D[];
console.log(`D(x) -> real/fake logit ${shape(lr)}, f_D ${shape(fDr)}\nC(x) -> class logits ${shape(logitsC)}, f_C ${shape(fCr)}`);
"""),
    md(r"""
## 2. The loss terms

Every term is averaged over the batch. Inside a term, a squared norm $\|\cdot\|^2$ over one image's pixels or one feature vector is reduced as `config.loss` says: the paper does not say whether it is a sum or a mean, and the weights $\lambda$ only mean something relative to that choice (our reading and the measurements behind it: `docs/design.md`). With `'per-pixel'`, a sum is divided by the number of pixel values $N = H \cdot W \cdot 3$.
"""),
    code(r"""
const N = R * R * 3;
const reduction = (r: string) => (r === 'per-pixel' ? N : (r as 'sum' | 'mean'));
const value = (t: tf.Scalar) => t.dataSync()[0];
console.log(`config.loss: ${JSON.stringify(config.loss)}`);
"""),
    md(r"""
### $\mathcal L_D$ — the discriminator, plain cross-entropy

$$\mathcal L_D = -\Big(\log D(x_r) + \log\big(1 - D(x_f)\big) + \log\big(1 - D(x_p)\big)\Big)$$

D learns to call real images real and **both** kinds of generated images fake. With $D(x) = \sigma(l(x))$, `lib` computes $-\log\sigma(l) = \operatorname{softplus}(-l)$ and $-\log(1-\sigma(l)) = \operatorname{softplus}(l)$ on the logits, which never takes the log of 0. A D that cannot tell anything apart outputs $\tfrac12$ everywhere and scores $3\ln 2 \approx 2.08$.
"""),
    code(r"""
const LD = L.discriminatorLoss(lr, lf, lp);
console.log(`L_D = ${value(LD).toFixed(4)}   (3 ln 2 = ${(3 * Math.LN2).toFixed(4)})`);
"""),
    md(r"""
### $\mathcal L_C$ — the classifier, on real images only

$$\mathcal L_C = -\log P(c_r \mid x_r)$$

C learns the classes from real data; G never trains C. Guessing uniformly scores $\ln K$.
"""),
    code(r"""
const LC = L.classifierLoss(logitsC, onehot);
console.log(`L_C = ${value(LC).toFixed(4)}   (ln K = ${Math.log(config.numClasses).toFixed(4)})`);
"""),
    md(r"""
### $\mathcal L_{KL}$ — keeps the encoder's codes where the prior is

$$\mathcal L_{KL} = \tfrac12\Big(\mu^\top\mu + \sum_i \big(e^{\epsilon_i} - \epsilon_i - 1\big)\Big), \qquad \epsilon = \log\sigma^2$$

This is $\mathrm{KL}\big(\mathcal N(\mu, \sigma^2) \,\|\, \mathcal N(0, I)\big)$. Without it E could put real images' codes anywhere, and G, which samples $z_p \sim \mathcal N(0, I)$ at test time, would be asked for codes it never saw.
"""),
    code(r"""
const LKL = L.klLoss(mu, logvar, reduction(config.loss.kl));
console.log(`L_KL = ${value(LKL).toExponential(3)}`);
"""),
    md(r"""
### $\mathcal L_G$ — pairwise feature matching of reconstructions

$$\mathcal L_G = \tfrac12\Big(\|x_r - x_f\|_2^2 + \|f_D(x_r) - f_D(x_f)\|_2^2 + \|f_C(x_r) - f_C(x_f)\|_2^2\Big)$$

Each reconstruction must match **its own** real image: in pixels (alone this gives the blurry images of a VAE), and in D's and C's feature spaces, which care about edges, texture and class rather than exact pixel values. Because every real image has to be reachable from its code, G cannot drop parts of the data: this is the term that counters mode collapse. It trains E and G; D and C are fixed feature extractors here.
"""),
    code(r"""
const LG = L.reconstructionLoss({ xr: xr, xf: xf, fDr: fDr, fDf: fDf, fCr: fCr, fCf: fCf }, reduction(config.loss.pairwise));
console.log(`L_G = ${value(LG.total).toFixed(4)} = pixel ${value(LG.pixel).toFixed(4)} + f_D ${value(LG.fD).toFixed(4)} + f_C ${value(LG.fC).toFixed(4)}`);
"""),
    md(r"""
### $\mathcal L_{GD}$ — mean feature matching against D (the "asymmetric" part)

$$\mathcal L_{GD} = \tfrac12\Big\|\,\mathbb E_{x \sim P_r} f_D(x) - \mathbb E_{z \sim P_z} f_D\big(G(z)\big)\Big\|_2^2$$

G does not try to make D call each sample real. It moves the **mean** of its samples' features onto the mean of the real features (Salimans et al. 2016). D is still trained with cross-entropy — the training is asymmetric. Section 4 shows what this buys.
"""),
    code(r"""
const LGD = L.meanFeatureMatchingLoss(fDr, fDp, config.loss.featureMatching);
console.log(`L_GD = ${value(LGD).toExponential(3)}`);
"""),
    md(r"""
### $\mathcal L_{GC}$ — mean feature matching per class, against C

$$\mathcal L_{GC} = \tfrac12\sum_c \Big\|\,\bar f_C^{\,c} - \mathbb E_{z \sim P_z} f_C\big(G(z, c)\big)\Big\|_2^2, \qquad \bar f_C^{\,c} \leftarrow \alpha\,\bar f_C^{\,c} + (1-\alpha) \operatorname*{mean}_{i:\,c_i = c} f_C(x_{r,i})$$

Samples of class $c$ must match the average C-feature of **real images of class $c$**, which makes them recognisably that class. A batch holds only a few images per class, so the real class centres $\bar f_C^{\,c}$ are moving averages (decay $\alpha$ = `config.loss.centreDecay`; the paper does not give its value).
"""),
    code(r"""
const K = config.numClasses;
const centres = L.updateClassCentres(tf.zeros([K, fCr.shape[1]]) as tf.Tensor2D, tf.zeros([K]) as tf.Tensor1D, fCr, onehot, config.loss.centreDecay);
const LGC = L.classFeatureMatchingLoss(centres.centres, fCp, onehot, config.loss.featureMatching);
console.log(`class centres ${shape(centres.centres)};   L_GC = ${value(LGC).toExponential(3)}`);
"""),
    md(r"""
### Who minimises what (Algorithm 1)

$$\theta_C \leftarrow \theta_C - \nabla_{\theta_C}\mathcal L_C \qquad\qquad \theta_D \leftarrow \theta_D - \nabla_{\theta_D}\mathcal L_D$$

$$\theta_G \leftarrow \theta_G - \nabla_{\theta_G}\big(\lambda_2\mathcal L_G + \lambda_3\mathcal L_{GD} + \lambda_4\mathcal L_{GC}\big) \qquad \theta_E \leftarrow \theta_E - \nabla_{\theta_E}\big(\lambda_1\mathcal L_{KL} + \lambda_2\mathcal L_G\big)$$

with $\lambda_1 = 3,\ \lambda_2 = 1,\ \lambda_3 = \lambda_4 = 10^{-3}$ (from reimplementations that cite the paper's Algorithm 1; see `../shared/paper-notes.md`). D and C never see G's or E's losses, and G never sees $\mathcal L_D$: that is the asymmetry.
"""),
    code(r"""
const lc = config.loss;
await showTable([
  { term: 'L_D', value: value(LD), weight: 1, 'updates': 'D' },
  { term: 'L_C', value: value(LC), weight: 1, 'updates': 'C' },
  { term: 'L_KL', value: value(LKL), weight: lc.lambdaKL, 'updates': 'E' },
  { term: 'L_G', value: value(LG.total), weight: lc.lambdaG, 'updates': 'E and G' },
  { term: 'L_GD', value: value(LGD), weight: lc.lambdaGD, 'updates': 'G' },
  { term: 'L_GC', value: value(LGC), weight: lc.lambdaGC, 'updates': 'G' },
], { caption: 'the six terms on the stand-in batch (untrained networks)', precision: 4 });
"""),
    md(r"""
## 3. One training step

`model.trainStep(x, c)` runs Algorithm 1 with the functions above: (1) reconstructions and prior samples with the current E and G; (2) one Adam step for C on $\mathcal L_C$ and for D on $\mathcal L_D$; (3) one Adam step for G and E on their sums, with the *updated* D and C as fixed feature extractors. It returns every term and a few diagnostics: C's accuracy on the batch and D's mean output on real, reconstructed and prior images.
"""),
    code(r"""
const result = model.trainStep(xr, cr);
await showTable(Object.entries({ ...result.losses, ...result.metrics }).map(([name, v]) => ({ name, value: v })), { caption: `after one trainStep: model.step = ${model.step}`, precision: 4 });
tf.dispose([xr, cr, onehot, mu, logvar, eps, z, zp, xf, xp, lr, fDr, lf, fDf, lp, fDp, logitsC, fCr, fCf, fCp, LD, LC, LKL, LG.pixel, LG.fD, LG.fC, LG.total, LGD, centres.centres, centres.seen, LGC]);
model.dispose();
"""),
    md(r"""
## 4. Why match mean features? A 2-D toy

The paper's argument: with the usual cross-entropy objective, once D separates real from fake easily, **G's gradient vanishes** and training stalls; matching the mean of D's features keeps a useful gradient. We test it where everything is visible: real data is a ring of 8 Gaussians in the plane, G and D are small MLPs (`lib/apps/toy.ts`), and D gets 5 updates per G update, so D is strong.

All runs share the data, the noise, the initial weights and D's cross-entropy loss. Only G's objective differs. The first three are

$$\text{minimax GAN:}\ \min_G\ \mathbb E_z \log\big(1 - D(G(z))\big) \qquad \text{non-saturating GAN:}\ \min_G\ -\mathbb E_z \log D\big(G(z)\big)$$

$$\text{mean feature matching (the paper's } \mathcal L_{GD}\text{):}\ \min_G\ \tfrac12\big\|\mathbb E_x f_D(x) - \mathbb E_z f_D(G(z))\big\|^2$$

With $D = \sigma(l)$: $\frac{\partial}{\partial l}\log(1 - \sigma(l)) = -\sigma(l)$, which goes to 0 exactly when D is sure a sample is fake ($D(G(z)) \to 0$). The non-saturating form has $-(1 - \sigma(l)) \to -1$ there, and mean feature matching's gradient is set by the distance between feature means, not by D's confidence.

One step of a toy GAN returns D's loss, G's loss, the norm of G's gradient and D's mean outputs:
"""),
    code(r"""
import { ToyGan } from './lib/apps/toy';

const probe = new ToyGan('gan-minimax', { dSteps: M.toyDSteps });
console.log(JSON.stringify(probe.step(), null, 1));
probe.dispose();
"""),
    md(r"""
Now the three objectives and a fourth, CVAE-GAN's own (described below the scatter), one after another, each from the same start and for the same 1,500 steps. The chart shows $\|\nabla_{\theta_G}\mathcal L\|$, the size of the update signal G receives, on a log scale.

**What to look for.** Early on all four are similar (D is still weak). As D becomes confident, a curve that drops and stays low is an objective whose gradient vanishes; curves that stay high still tell G which way to move. The paper's claim predicts that the minimax curve ends lowest. Interrupt the cell (■) to stop early; what finished stays usable.
"""),
    code(r"""
import { compareToyObjectives, toyScatter, toySummary } from './lib/notebook/toy';

const toy = await compareToyObjectives({ steps: M.toySteps, points: M.toyPoints, config: { dSteps: M.toyDSteps } });
"""),
    code(r"""
await showTable(toySummary(toy), { caption: `the four generators after ${M.toySteps} steps (a mode is covered when at least 2% of ${M.toyPoints} samples lie within 3 std of its centre)`, precision: 3 });
"""),
    md(r"""
**Reading the table.** The gradient columns test the first half of the argument: compare the last-25% medians. A D(G(z)) near 0 means D rejects the samples confidently — the regime where the minimax gradient is predicted to vanish. The mode columns test something else: whether G reproduces *all* of the data.

Mean feature matching has no reason to cover every mode: the mean of a ring of 8 points is its centre, and many distributions share a feature mean with the data. So a large gradient (stable training) and poor coverage (collapse onto a few modes, or onto none) can happen together — that is the second half of the story.
"""),
    code(r"""
import { vegaLiteBundle } from './lib/viz/charts';
import { display } from './lib/viz/display';

await display(await vegaLiteBundle(toyScatter(toy, 500), { svg: false }));   // 500 points per panel; no SVG copy, to keep the notebook small
"""),
    md(r"""
**What to look for in the scatter.** Points on the 8 blobs are good samples; points between blobs, or in a clump, are not. A generator whose samples sit on only a few blobs has collapsed onto those modes.

### The fourth objective: CVAE-GAN's generator side

`cvaegan` in the table and scatter above is CVAE-GAN's G on the toy, from the same start and data (the toy has no classes, so no C and no label): an encoder $E(x) \to (\mu, \log\sigma^2)$ with the KL term, pairwise reconstruction of each real point from its code $z = \mu + \sigma\epsilon$ in data space and in D's feature space, and mean feature matching on $G(z)$, $z \sim N(0, I)$ (`lib/apps/toy.ts`). Its weights are the full model's own, `config.ts`'s $\lambda_{KL} = 3$, $\lambda_G = 1$, $\lambda_{GD} = 10^{-3}$, applied as `lib/model/cvaegan.ts` applies them (the KL and the pairwise terms divided by the 2 values of a point, $\mathcal L_{GD}$ a sum): CVAE-GAN's G on the toy means its objective with its weights, not weights picked for the toy. Its scatter has two panels: prior samples $G(z)$, which is what a generator is judged by and what the mode count above counts, and reconstructions $G(\mu(x))$ of the real ring, the path the pairwise terms train. All four objectives get the same budget, 1,500 steps: CVAE-GAN's needs about that many (at 600 its prior samples covered 2.6 ± 1.5 of 8 modes over five seeds), and comparing it at 1,500 with the others at 600 would credit it with its extra steps. One run of a toy GAN is noise, so the next cell trains every objective from three seeds (`M.toySeeds`; about 5 minutes per seed on two busy cores) and gives the mean and spread of the mode counts, and for `cvaegan` also the reconstructions' modes and the KL in nats."""),
    code(r"""
import { toySeeds } from './lib/notebook/toy';

const seeds = toySeeds({ steps: M.toySteps, seeds: M.toySeeds, points: M.toyPoints, config: { dSteps: M.toyDSteps } });
await showTable(seeds.rows, { caption: `every objective from ${M.toySeeds.length} seed(s), ${M.toySteps} steps each: modes covered (of 8) and share of high-quality samples, mean and sample standard deviation`, precision: 3 });
"""),
    md(r"""
### What the fourth objective shows

**Measured** in this run (1,500 steps each, 5 D updates per G update, seeds 7, 8, 9; mean ± sample sd over seeds; docs/design.md, "the toy's fourth objective", has every setting tried on the way, with `bench/toy-diagnose.ts`):

- **CVAE-GAN's G covers the ring: its prior samples $G(z)$, $z \sim N(0, I)$, cover 8, 7 and 7 of 8 modes (7.3 ± 0.6)**, 30 % of them on a mode (the others are off the modes' 3-std discs), and its reconstructions $G(\mu(x))$ 8 of 8 on every seed (95 % on a mode). E's codes carry 2.3 nats per point, about log 8 = 2.1, the information needed to name the mode and little more, so they fill $N(0, I)$ and a prior sample lands where some reconstruction trained G.
- **The non-saturating GAN covers 3, 3 and 2 of 8 (2.7 ± 0.6)**, with most of its samples sharp (78 % on a mode): it collapses onto a few modes. The minimax GAN covers 0, 0 and 1 (0.3 ± 0.6), mean feature matching alone 0, 2 and 0 (0.7 ± 1.2), each with about 2 % and 11 % of its samples on a mode. So 1,500 steps do not rescue the other three; only the objective with the encoder covers most modes.
- In the live run above (seed 7), the minimax gradient in the last quarter is the smallest of the four (median 2.1, against 16–18 for the non-saturating loss and mean feature matching, and 10 for CVAE-GAN's G): the stability half of the argument.
- This holds **at the model's own weights and with enough steps**. At 600 steps the same weights covered only 2.6 ± 1.5 modes with prior samples (the reconstructions then lose modes too), and with a much weaker KL ($0.05^2$, argued from the ELBO of the data term alone, which ignored that the D-feature term is 20–35 times larger) the reconstructions covered every mode but prior samples none: E's codes then sit far outside $N(0, I)$. The encoder's coverage carries over to samples only when the KL is strong enough that the codes fill the prior.

### What CVAE-GAN takes from this

- **$\mathcal L_{GD}$ and $\mathcal L_{GC}$ (mean matching)** give G a gradient that does not die when D and C become confident — the stability half of the toy.
- **Mean matching alone does not force coverage.** CVAE-GAN adds the **encoder** and **pairwise** matching ($\mathcal L_G$): every real image $x_r$ has a code $z = E(x_r, c_r)$ from which G must reproduce it, in pixels and in D's and C's features, so the reconstructions cannot drop a mode. Whether *prior* samples then cover the modes depends on how well the codes fill $N(0, I)$, which the KL weight trades against sharpness: at the model's own weights, on the toy, they do (7.3 of 8 modes, against 2.7 for the non-saturating GAN); with a weak KL they do not.
- **C and $\mathcal L_{GC}$** make this per class: the samples of class $c$ must carry class $c$'s features.

Next: `02-faces`, `03-flowers`, `04-birds` train the full model on real images.
"""),
]

# ------------------------------------------------------------------------------------------------
# 02 / 03 / 04: one template, three datasets
# ------------------------------------------------------------------------------------------------


def dataset_notebook(d):
    return [
        md(f"""
# {d['num']} · {d['title']}

{d['intro']}

The notebook trains CVAE-GAN on {d['what']} and then shows what it learned: a class × z grid, reconstructions of held-out images, {d['swap']} and interpolation. With the default `cpu` preset it uses the first 20 {d['classes_word']} at 32×32 pixels and trains 2,000 steps of batch 16: about 15–30 minutes on two CPU cores with the native TensorFlow backend (which `npm start` builds when it can reach PyPI), roughly twice that or more on the wasm fallback (the first cell prints which one runs, and why). One line (`PRESET`) switches to the paper's 128×128 networks, which need a GPU. The results of the run saved in this notebook are from the `cpu` preset; with so little compute, expect recognisable colours and layouts per class rather than the paper's detail.
"""),
        md("""
## 1. Settings

Everything the run depends on is set here. `runSettings` returns the sizes for the preset (classes, steps, checkpoint and grid intervals, run directory); with `CVAEGAN_SMOKE=1` in the environment it shrinks them for CI (tiny networks, 3 classes, 6 steps) and writes under `runs/smoke/` instead.
"""),
        code(f"""
import * as tf from '@tensorflow/tfjs';
import {{ initBackend, describeBackend }} from './lib/backend/index';
import {{ runSettings, describeSettings }} from './lib/notebook/settings';

const PRESET = 'cpu';      // 'paper': the paper's 128x128 networks, every class, 50,000 steps of batch 64 (needs a GPU: tfjs-node-gpu)
const OFFLINE = false;     // true: never touch the network (a local copy only; without one, a message says which files to put where)
const S = runSettings('{d['name']}', PRESET);
console.log(describeBackend(await initBackend()));
console.log(describeSettings(S));
"""),
        md(f"""
## 2. The data

{d['data_text']}

Images are split 80/20 within each class (files ordered by a hash of their name, the first 20% are test), as in the Table 1 reproduction: the test images stay unseen and serve below as inputs for reconstruction, {d['swap']} and interpolation. `loadSplit` caches the decoded, resized images under `.cache/`, so the second run loads in a second.
"""),
        code(f"""
import {{ findDataset, firstClasses, loggedHooks, pickExamples, shortNames }} from './lib/notebook/kit';
import {{ loadSplit }} from './lib/eval/splits';

const where = await findDataset(S.dataset, {{ offline: OFFLINE }});   // a local copy, else the official files downloaded
const data = await loadSplit({{ dataset: where.dataset, resolution: S.resolution, classes: S.classes, maxPerClass: S.maxPerClass, root: where.root, progress: !S.smoke }});
const names = data.train.classNames;
console.log(`data: ${{where.root}} (${{where.source}})`);
console.log(`${{data.train.numClasses}} of ${{data.totalClasses}} {d['classes_word']}, ${{data.train.labels.length}} training and ${{data.test.labels.length}} test images at ${{S.resolution}}x${{S.resolution}} px`);
"""),
        md(f"""
Real training images, one row per {d['class_word']}. {d['look_real']}
"""),
        code("""
import { realImageGrid } from './lib/viz/grid';
import { datasetImages } from './lib/eval/evaluator';

await realImageGrid(datasetImages(data.train), data.train.labels, { classIds: firstClasses(data.train, S.gridClasses), classNames: names, perClass: S.samplesPerClass, title: 'real training images' }).show('real images');
"""),
        md("""
## 3. The model

One `ModelConfig` describes all four networks (`lib/model/config.ts`). If this run's directory already holds a checkpoint, the model continues from it: weights, optimiser state, step count and the random streams, so a resumed run sees the same batches as an uninterrupted one.
"""),
        code("""
import { makeConfig } from './lib/model/config';
import { CVAEGAN } from './lib/model/cvaegan';
import { hasCheckpoint } from './lib/model/checkpoint';
import { showTable } from './lib/viz/tables';

const model = new CVAEGAN(makeConfig(S.preset, { numClasses: data.train.numClasses }));
if (hasCheckpoint(S.checkpointDir)) await model.restore(S.checkpointDir);
console.log(model.step > 0 ? `resumed from ${S.checkpointDir} at step ${model.step}` : `new model; checkpoints will go to ${S.checkpointDir}`);
const parts = model.summary();
await showTable(['E', 'G', 'D', 'C', 'total'].map((net) => ({ network: net, parameters: parts[net].params })), { caption: `preset '${model.config.preset}': ${model.config.resolution}x${model.config.resolution} px, z of ${model.config.zDim}, batch ${model.config.batchSize}` });
"""),
        md("""
## 4. Training

One cell shows everything: a **progress bar**, a **live chart** of every loss term (faint: raw values; solid: smoothed) and a **sample grid** redrawn every few hundred steps with the *same* z, so successive grids are comparable. A checkpoint is written every `S.checkpointEvery` steps and at the end.

**Stopping and resuming.** Press ■ (interrupt) at any time: training stops after the current step and writes a checkpoint. Running the cell again continues from the checkpoint, and the chart shows the whole run (every step is also appended to `losses.jsonl` in the run directory). Once the run has reached `S.steps`, running it again trains nothing and shows the finished run.

**What to look for.**
- `L_C` falls first: C learns the classes of the real images.
- `L_D` near $3\\ln 2 \\approx 2.1$ means D cannot separate real from generated; near 0 means it separates them perfectly. A GAN normally sits in between and wobbles.
- `L_KL` starts near 0 (E's codes start at the prior). It rises as E puts information about each image into z, which good reconstructions need; a KL that stays at 0 would mean the codes carry nothing and G reconstructs from the label alone.
- `L_G` and its parts `L_G_pixel`, `L_G_fD`, `L_G_fC` should fall: reconstructions improve.
- `L_GD` and `L_GC` need not fall: D and C keep changing the feature spaces they are measured in. What matters is that they stay bounded; a sudden jump that does not come back, or a NaN, means training diverged (it then stops with an error naming the term, and the last good checkpoint stays on disk).
- `label_dep` (a panel of its own, measured every 100 steps) is how far apart G(z, c₁) and G(z, c₂) are for the same z, averaged over class pairs (RMS in pixel units; two real images of one class are about 0.6 apart). Near 0, G ignores the label and every row of the grid shows the same images; it should rise early and stay up.
- In the sample grid, rows should become distinct from each other (class) while each column keeps a common look (z).
"""),
        code("""
import { Batcher } from './datasets/index';
import { TrainingMonitor, latestMonitor } from './lib/train/monitor';
import { train } from './lib/train/loop';
import { modelGrid } from './lib/train/run';
import { trainingDiagnostics } from './lib/train/diagnostics';

const batcher = new Batcher(data.train, model.config.batchSize, model.config.seed);
const gridRows = firstClasses(data.train, 5);
"""),
        code("""
const monitor = new TrainingMonitor({
  steps: S.steps,
  progress: { label: 'CVAE-GAN', terms: ['L_C', 'L_D', 'L_G', 'L_GD', 'L_GC'] },
  grid: { every: S.gridEvery, draw: (step) => modelGrid(model, gridRows, names, `samples at step ${step} (same z in every grid)`), saveDir: `${S.runDir}/grids` },
});
const run = await monitor.track(train(model, batcher, { steps: S.steps, checkpointDir: S.checkpointDir, checkpointEvery: S.checkpointEvery, diagnostics: trainingDiagnostics(model, undefined, S.diagnosticsEvery), ...loggedHooks(monitor, model, S.runDir) }));
console.log(`${run.status === 'done' ? 'done' : 'stopped'} at step ${model.step}` + (run.history.length > 1 ? `; ${(run.msPerStep / 1000).toFixed(2)} s per step in this session` : ''));
"""),
        md("""
After an interrupt, the first line below waits until the training loop has really stopped (it finishes its step and writes the checkpoint in the background). The table sums up the losses from the run's log.
"""),
        code("""
import { readCheckpointMeta } from './lib/model/checkpoint';
import { readLossLog, summarizeLosses } from './lib/train/losslog';

await latestMonitor()?.done;
console.log(`model at step ${model.step}; checkpoint ${S.checkpointDir} at step ${readCheckpointMeta(S.checkpointDir).step}`);
await showTable(summarizeLosses(readLossLog(`${S.runDir}/losses.jsonl`)), { caption: 'each loss term: mean over the first and the last 10% of the steps, and its minimum', precision: 4 });
"""),
        md(f"""
## 5. What the model learned

### Class × z

Rows are {d['classes_word']}, columns are latent codes: one set of z is drawn and reused in every row, so moving down a column changes only the label input and moving along a row only z. **What to look for:** each row should look like its {d['class_word']} (compare with the real grid above); within a column, {d['look_column']}. Identical images along a row would mean G ignores z (mode collapse); rows that look alike would mean it ignores the label.
"""),
        code("""
import { sampleGrid, reconstructionGrid } from './lib/viz/grid';

await sampleGrid((labels, z) => model.sample(labels, { z }), { classIds: firstClasses(data.train, S.gridClasses), classNames: names, samplesPerClass: S.samplesPerClass, zDim: model.config.zDim, seed: 7, title: 'class x z: rows = class, columns = one z each' }).show('class x z grid');
"""),
        md("""
### Reconstructions of held-out images

$x \\to \\mu = E(x, c) \\to G(\\mu, c)$ for test images the model never trained on. **What to look for:** the reconstruction should keep the layout and colours of its input (that is what the encoder and the pairwise terms of $\\mathcal L_G$ are for); fine detail is lost at this model size. Reconstructions much worse than the samples above would point to an encoder that does not generalise beyond the training images.
"""),
        code("""
const held = pickExamples(data.test, firstClasses(data.test, 4), 2);
const recon = model.reconstruct(held.x, held.labels);
await reconstructionGrid(held.x, recon, { title: 'held-out test images | G(E(x, c), c)' }).show('reconstructions');
recon.dispose();
"""),
        md(f"""
### {d['swap_title']}

$z = \\mu(x, c_{{\\text{{source}}}})$ holds what the label does not; $G(z, c_{{\\text{{target}}}})$ redraws it as another {d['class_word']}. **What to look for:** along a row the {d['class_word']} changes while {d['look_swap']} stay.
"""),
        code(f"""
import {{ swapGrid, imageInterpolationGrid, classInterpolationGrid }} from './lib/apps/swap-interpolation';

const source = pickExamples(data.test, firstClasses(data.test, 4), 1, 1);
await swapGrid(model, source.x, source.labels, firstClasses(data.train, 6), {{ classNames: shortNames(names), title: '{d['swap_grid_title']}: z = E(x, c), then G(z, c\\')' }}).show('{d['swap']}');
"""),
        md(f"""
### Interpolation

Between two encoded test images, z moves along a line and the label input moves from one one-hot to the other; the first row joins two images of the same {d['class_word']}. The second grid keeps z fixed and moves only the label. **What to look for:** smooth change without sudden jumps or broken images means the latent space is continuous; mid-path label mixes were never seen in training, so what G draws there is extrapolation.
"""),
        code("""
const a = pickExamples(data.test, [0, 1, 2], 1, 0);
const b = pickExamples(data.test, [0, 2, 0], 1, 1);
await imageInterpolationGrid(model, a.x, a.labels, b.x, b.labels, 8, { classNames: names }).show('image interpolation');
await classInterpolationGrid(model, 0, 1, 8, { count: 3, seed: 5, classNames: shortNames(names) }).show('label interpolation');
tf.dispose([held.x, source.x, a.x, b.x]);
"""),
        md(f"""
## 6. Next

- The checkpoint in `S.runDir` holds the whole model; `loadModel(dir)` (`lib/model/factory.ts`) rebuilds it in any notebook or script.{d['next_extra']}
- `05-table1` compares CVAE-GAN with CVAE, CGAN and FM-CGAN under one budget (`npm run reproduce -- --dataset {d['cli']}`).
- For the paper's setting, set `PRESET = 'paper'` in the first cell: 128×128 images, every class, 50,000 steps — a GPU job (tfjs-node-gpu).
"""),
    ]


FACES = dict(
    num="02", name="faces", title="Faces: identity-conditioned generation", cli="faces",
    intro="The paper's first dataset is **FaceScrub**: about 107,000 photos of 530 celebrities, reportedly aligned with five facial landmarks and cropped around the nose at 128×128. Generating a face *of a given person* is the fine-grained task: identities differ in small details, while pose, expression and lighting vary much more within one identity than between many.",
    what="face crops, conditioned on identity",
    swap="identity swap", swap_title="Identity swap", swap_grid_title="identity swap",
    classes_word="identities", class_word="identity",
    data_text="FaceScrub is distributed as lists of image URLs, and many of them are dead, so there is no archive to download. `findDataset` takes the first face set it finds: an identity-per-folder copy in `datasets/faces/` (what `downloadFaceScrub` writes from the authors' lists); else the staged copy in `../shared/datasets/faces_celeba`, **CelebA** face crops of 66 identities (22–30 crops each, detected and cropped like FaceScrub, not landmark-aligned), the source of the run saved here and of `results/faces`; else **LFW**, Labeled Faces in the Wild (13,233 photos of 5,749 people, free to download): `datasets/lfw/`, or downloaded there first (`lfw.tgz`, 181 MB from scikit-learn's figshare copy or the UMass host, SHA-256-checked, resumed if interrupted). From LFW it keeps the 62 people with at least 20 photos, most-photographed first, and crops the face square in the middle of each 250×250 frame. CelebA and LFW are substitutes — the same task on different people — and results on them are not FaceScrub results; the line printed below says which set was used. With `OFFLINE = true` nothing touches the network. `loadSplit` takes the largest centred square of each crop (LFW: the face square) and resizes it.",
    look_real="Within a row, pose, expression, lighting and background vary a lot; what the row shares is the person.",
    look_column="the pose, lighting and background should be similar across identities",
    look_swap="pose, expression and lighting",
    next_extra="",
)

FLOWERS = dict(
    num="03", name="flowers102", title="Flowers: species-conditioned generation", cli="flowers",
    intro="**Oxford 102 Flowers** (Nilsback & Zisserman): 8,189 photos of 102 flower species, 40–258 per species. The paper reportedly crops each image with the supplied segmentation mask and resizes it to 128×128 (from a reimplementation's summary; the paper's text was not available to us); species differ in petal shape, colour and texture, and within a species the framing and background vary.",
    what="flower photos, conditioned on species",
    swap="species swap", swap_title="Species swap", swap_grid_title="species swap",
    classes_word="species", class_word="species",
    data_text="`findDataset` uses a local copy if there is one: `datasets/flowers102/` (where downloads go), else the staged copy in `../shared/datasets/flowers102` (all 8,189 images, downscaled to 144 px on the shorter side). Without one it downloads the official files from the Oxford VGG server into `datasets/flowers102/` (`102flowers.tgz`, `imagelabels.mat`, `setid.mat`: 345 MB, once; with progress, checked against the official MD5s, resumed if interrupted). With `OFFLINE = true` nothing touches the network, and without a local copy the cell says which files to put where. We take the largest centred square of each photo instead of the paper's segmentation crop. The class subset is the first 20 species in the official label order.",
    look_real="Colour and petal shape are shared within a row; framing, scale and background are not.",
    look_column="framing and background should be similar across species",
    look_swap="framing, scale and background",
    next_extra=" `06-applications` loads this notebook's checkpoint for inpainting, super-resolution and the augmentation experiment.",
)

BIRDS = dict(
    num="04", name="cub200", title="Birds: species-conditioned generation", cli="birds",
    intro="**CUB-200-2011** (Wah et al.): 11,788 photos of 200 North-American bird species with bounding boxes. It is the hardest of the three: species can differ only in a wing bar or the colour of the eye ring, and birds appear in every pose against every background.",
    what="bird photos, conditioned on species",
    swap="species swap", swap_title="Species swap", swap_grid_title="species swap",
    classes_word="species", class_word="species",
    data_text="`findDataset` uses a local copy if there is one: `datasets/cub200/` (where downloads go), else the staged copy in `../shared/datasets/cub200` (classes 001–050 complete, downscaled to 144 px on the shorter side). Without one it downloads the official archive into `datasets/cub200/` (`CUB_200_2011.tgz`, 1.15 GB, once; several mirrors in order, MD5-checked, resumed if interrupted). With `OFFLINE = true` nothing touches the network, and without a local copy the cell says which file to put where. Each image is cropped to its annotated bounding box (the loader's default for CUB) and resized; the paper's wording on cropping is not known to us. The class subset is the first 20 species in the official order.",
    look_real="A row shares plumage colours and body shape; pose, scale and background change from image to image.",
    look_column="pose and background colours should be similar across species",
    look_swap="pose and background",
    next_extra="",
)

# ------------------------------------------------------------------------------------------------
# 05-table1
# ------------------------------------------------------------------------------------------------

TABLE1 = [
    md(r"""
# 05 · Table 1: CVAE-GAN against CVAE, CGAN and FM-CGAN

The paper's Table 1 compares four conditional generators on FaceScrub by two numbers measured with a separately trained classifier: **discriminability** (top-1 accuracy of that classifier on generated images, i.e. does a sample look like its class?) and **realism** (an inception-score-like number). This notebook shows our reproduction beside the paper's numbers.

The reproduction is run outside the notebook, one command per dataset (about 1.5 hours each with the `cpu` budget on two cores):

```sh
npm run reproduce -- --dataset flowers --preset cpu --results results/flowers   # also: birds, faces
```

It trains an evaluation classifier and the four models with the same data, batches, seed and number of steps, evaluates them, and writes `results/<dataset>/`: `table.json`, `table.csv`, `table.md`, a sample grid per model and each model's loss chart. This notebook only reads those files. What the metrics are exactly, and why our realism values cannot be compared with the paper's: `README.md` ("Reproducing Table 1") and `docs/design.md` ("## evaluation").
"""),
    code(r"""
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { table1Settings } from './lib/notebook/settings';
import { PAPER_TABLE1, readTable1, comparisonRows, orderingRows, beyondRows } from './lib/notebook/table1';
import { showTable } from './lib/viz/tables';
import { display, pngBundle } from './lib/viz/display';

const T = table1Settings();
await showTable(PAPER_TABLE1.rows.map((r) => ({ Method: r.method, 'Discriminability (top-1, %)': r.top1, Realism: r.realism })), { caption: `the paper's Table 1: ${PAPER_TABLE1.dataset}` });
"""),
    md(r"""
**Reading the paper's table.** CVAE's samples are blurry, and the classifier recognises almost none of them (8%). CGAN is sharper but often wrong. Matching features (FM-CGAN) helps; CVAE-GAN, which adds the encoder, the pairwise terms and the classifier, is recognised almost as often as real images. On realism, FM-CGAN is slightly ahead of CVAE-GAN. The paper gives no such table for flowers and birds.

## Our results

For each dataset with results, the table below puts our numbers next to the paper's FaceScrub numbers (rows by method). Beyond the paper, **FID** (lower is better) and **diversity** (within-class mean pixel distance, to be compared with the real images' value; 0 would be mode collapse) come from the same evaluator. The caption states the data, class subset and budget of the run.
"""),
    code(r"""
const results = T.datasets.map((name) => ({ name, r: readTable1(join(T.resultsRoot, name)) }));
for (const { name, r } of results) console.log(`${name}: ${r ? `results in ${r.dir}` : `no results yet (run: npm run reproduce -- --dataset ${name} --preset cpu --results ${join(T.resultsRoot, name)})`}`);
const found = results.filter((x) => x.r !== undefined);
"""),
    md(r"""
When no committed results exist yet and the notebook runs in smoke mode (`CVAEGAN_SMOKE=1`, the CI check), a tiny reproduction runs here instead — tiny networks, 3 classes, a few steps — so that the cells below have a table to show. Its numbers mean nothing; it only proves the pipeline. In a normal run without results, nothing is trained here: the commands above produce them.
"""),
    code(r"""
import { reproduce } from './lib/eval/reproduce';

if (found.length === 0 && T.smoke) {
  const smokeRun = await reproduce({ dataset: T.smokeDataset, preset: 'cpu', smoke: true, out: T.smokeOut, results: join(T.smokeOut, 'results'), log: () => {} });
  console.log(`smoke reproduction: ${smokeRun.status}, ${smokeRun.rows.length} rows in ${smokeRun.out}`);
  found.push({ name: `${T.smokeDataset} (smoke run: meaningless numbers)`, r: readTable1(join(T.smokeOut, 'results')) });
}
if (found.length === 0) console.log('No results to show: run the commands above, then rerun this notebook.');
"""),
    code(r"""
for (const { name, r } of found) {
  await showTable(comparisonRows(r.rows), { caption: `${name}: our numbers beside the paper's (FaceScrub). ${r.caption}`, precision: 4 });
}
"""),
    md(r"""
## Beyond the paper: what a reviewer of conditional generation asks for

Top-1 says whether a sample looks like its class; it does not say whether the samples cover the class, nor whether they are any use as training data. The same evaluator gives four more answers, each on its penultimate features (the FID space):

- **intra-class FID** (lower is better): FID computed within each class, generated against that class's real test images, then averaged. A class-blind generator can have a good FID (its samples match the overall distribution) and a poor intra-class FID (each class gets the wrong images). With about 5–12 real test images per class the covariances are rank-deficient, so the values are biased upwards: rank by them, do not compare them with published ones.
- **precision / recall** (Kynkäänniemi et al. 2019, k = 3): the share of generated samples inside the real k-NN manifold (fidelity), and the share of real images inside the generated one (coverage of the real distribution).
- **density / coverage** (Naeem et al. 2020, k = 5): both on balls around the real images only, so outliers count less. Density near 1 means samples are as dense around real images as real images are; coverage is the share of real images with a sample nearby.
- **CAS**, the classification accuracy score (Ravuri & Vinyals 2019): the evaluator's architecture trained on generated images only (as many per class as the real training split) and tested on the real test images. With the `cpu` budget it trains for 100 epochs, half the evaluator's 200 (it is trained once per model); the Real data row is the same recipe trained on the real training images. This is the paper's data-augmentation question in one number: do the samples carry what a classifier needs?

Tables whose results predate these columns say so; `npm run reproduce -- --dataset <name> --preset cpu --results results/<name> --evaluate-only` adds them from the saved checkpoints without retraining.
"""),
    code(r"""
for (const { name, r } of found) {
  const rows = beyondRows(r.rows);
  if (rows) await showTable(rows, { caption: `${name}: metrics beyond the paper, on the evaluator's features`, precision: 4 });
  else console.log(`${name}: no intra-class FID, precision/recall, density/coverage or CAS in ${r.dir} yet (add them: npm run reproduce -- --dataset ${name} --preset cpu --results ${r.dir} --evaluate-only)`);
}
"""),
    md(r"""
## Orderings

Our absolute numbers depend on our evaluator, data subset and budget, so what can be compared with the paper is the **order** of the models. For each metric: the paper's order (best first), ours, and how many of the 6 pairs of models are in the paper's order. **Reading it:** 6 of 6 reproduces the paper's ranking; around 3 of 6 is no better than chance; a reversed pair says which comparison did not reproduce at our scale. Realism orderings deserve less weight than discriminability: our realism is measured with a small evaluator that is far from one-hot confident, so differences between models are small.
"""),
    code(r"""
for (const { name, r } of found) {
  await showTable(orderingRows(r.rows), { caption: `${name}: model orderings` });
}
"""),
    md(r"""
## Discriminability during training

Each model's top-1 under the evaluator, measured on the table's generated images every 500 steps of training, beside the real test images' accuracy and chance. In a run that trained its models itself the last point is the table's number. The committed flowers results were trained with the 200-epoch evaluator, so their last point is the table's number. Birds, faces and the 10,000-step run were trained under the earlier 100-epoch evaluator and then measured with the 200-epoch one without retraining (`npm run reproduce -- ... --models-from <the older run>`): their curves stay under the evaluator they were trained with (the chart's title names it), so their last point differs from the table's top-1 by the change of evaluator. **What to look for:** a GAN whose curve stays at chance has a G that ignores the label (its sample rows look alike); a curve still rising at the last step says the budget, not the method, ended the comparison. Every run also logs G's *label dependence* (`label_dep`: how much G(z, c) changes with c for fixed z; 0 means the label is ignored) and, for CGAN and FM-CGAN, D's *label gap* (`D_label_gap`: D's logit with the right label minus with a wrong one) in its loss log and loss chart below.
"""),
    code(r"""
import { vegaLiteBundle } from './lib/viz/charts';

for (const { name, r } of found) {
  if (r.curves) await display(await vegaLiteBundle(r.curves, { alt: `${name}: discriminability during training` }));
  else console.log(`${name}: no step curves in ${r.dir} (results from before they were recorded)`);
}
"""),
    md(r"""
## With more compute: 10,000 steps on flowers

At 3,000 steps several curves above are still rising, so the table compares the models *at this budget*. The longer run trains every model for 10,000 steps on the same flowers split, batches, seed and evaluator (`npm run reproduce -- --dataset flowers --preset cpu --steps 10000 --results results/flowers-10k`, resumable, hours on two cores). **What to look for:** whether the order of the models changes with more steps (the paper's is CVAE < CGAN < FM-CGAN < CVAE-GAN), and which curves flatten. Rows missing from the table are models that run has not finished yet.
"""),
    code(r"""
const longer = readTable1(join(T.resultsRoot, T.longerRun));
if (longer) {
  await showTable(orderingRows(longer.rows), { caption: `${T.longerRun}: model orderings after 10,000 steps (${longer.rows.filter((r) => r.kind !== 'real').map((r) => r.method).join(', ')})` });
  await showTable(comparisonRows(longer.rows), { caption: `${T.longerRun}: our numbers beside the paper's (FaceScrub). ${longer.caption}`, precision: 4 });
  if (longer.curves) await display(await vegaLiteBundle(longer.curves, { alt: `${T.longerRun}: discriminability during training` }));
} else console.log(`no ${T.longerRun} results in ${T.resultsRoot} (run: npm run reproduce -- --dataset flowers --preset cpu --steps 10000 --results ${join(T.resultsRoot, T.longerRun)})`);
"""),
    md(r"""
## Samples

The sample grids of one dataset (`T.gridsFor`, or the smoke run): real test images, then each model after training; rows are classes, and the same cell of two models' grids used the same z. **What to look for:** CVAE's blur, whether CGAN's rows look like their class, and whether any model repeats one image along a row (mode collapse). The grids of the other datasets are in `results/<dataset>/grids/`.
"""),
    code(r"""
const shown = found.find((x) => x.name === T.gridsFor) ?? found[0];
if (shown) {
  for (const g of shown.r.grids) await display(pngBundle(readFileSync(g.path), `${shown.name}: ${g.name}`));
}
"""),
    md(r"""
## Loss curves

Each model's loss chart from the same run (one panel per term, smoothed). They show whether a model was still improving when its budget ran out — a reason to read the table as "at this budget".
"""),
    code(r"""
if (shown) {
  for (const c of shown.r.lossCharts) await display(pngBundle(readFileSync(c.path), `${shown.name}: ${c.name} losses`));
}
"""),
]

# ------------------------------------------------------------------------------------------------
# 06-applications
# ------------------------------------------------------------------------------------------------

APPLICATIONS = [
    md(r"""
# 06 · Applications: inpainting, super-resolution, data augmentation

The paper shows that a trained CVAE-GAN is useful beyond sampling: it fills in missing parts of an image (**inpainting**), enlarges small images (**super-resolution**), and its samples can **augment** the training data of a recogniser. The paper's exact procedures for the first two are not known to us, so `lib/apps/` implements its own (stated below and in `docs/design.md`, "## applications").

This notebook uses the flowers model trained in `03-flowers`. If that checkpoint does not exist, it trains a short stand-in model and says so; results from the stand-in only show that the code runs.
"""),
    code(r"""
import * as tf from '@tensorflow/tfjs';
import { initBackend, describeBackend } from './lib/backend/index';
import { applicationSettings, runSettings } from './lib/notebook/settings';
import { findDataset, firstClasses, pickExamples } from './lib/notebook/kit';
import { loadSplit } from './lib/eval/splits';

const PRESET = 'cpu';                          // the preset 03-flowers was run with
const F = runSettings('flowers102', PRESET);   // the same classes and run directory as 03-flowers
const A = applicationSettings();
console.log(describeBackend(await initBackend()));
const data = await loadSplit({ dataset: F.dataset, resolution: F.resolution, classes: F.classes, maxPerClass: F.maxPerClass, root: (await findDataset(F.dataset)).root, progress: !F.smoke });
const names = data.train.classNames;
console.log(`${data.train.numClasses} flower species, ${data.train.labels.length} training / ${data.test.labels.length} test images`);
"""),
    md(r"""
## The model

`loadModel` rebuilds a model from its checkpoint directory alone (architecture, weights, optimiser state and step).
"""),
    code(r"""
import { join } from 'path';
import { hasCheckpoint } from './lib/model/checkpoint';
import { makeConfig } from './lib/model/config';
import { CVAEGAN } from './lib/model/cvaegan';
import { loadModel } from './lib/model/factory';
import { TrainingMonitor } from './lib/train/monitor';
import { train } from './lib/train/loop';
import { Batcher } from './datasets/index';

const trained = hasCheckpoint(F.checkpointDir);
const standIn = join(F.runDir, '..', `${F.dataset}-${F.preset}-standin`, 'checkpoint');
const model = trained ? ((await loadModel(F.checkpointDir)) as CVAEGAN) : new CVAEGAN(makeConfig(F.preset, { numClasses: data.train.numClasses }));
if (!trained) {
  console.log(`No checkpoint at ${F.checkpointDir}: run 03-flowers for a real model. Training a short stand-in (${A.fallbackSteps} steps) into ${standIn}; expect poor results.`);
  const monitor = new TrainingMonitor({ steps: A.fallbackSteps, plot: false });
  await monitor.track(train(model, new Batcher(data.train, model.config.batchSize, 1), { steps: A.fallbackSteps, checkpointDir: standIn, ...monitor.hooks }));
}
if (model.config.numClasses !== data.train.numClasses) throw new Error(`the checkpoint has ${model.config.numClasses} classes, the data ${data.train.numClasses}: run both notebooks with the same preset`);
console.log(`${trained ? `loaded ${F.checkpointDir}` : 'stand-in model'}: step ${model.step}, preset '${model.config.preset}', ${model.config.numClasses} classes`);
"""),
    md(r"""
## 1. Inpainting

A centred square covering a quarter of each held-out test image is removed. Our method (the paper's is not known):

1. fill the hole with the mean colour of the known pixels and encode: $z_0 = \mu(x_{\text{masked}}, c)$;
2. optimise z alone (Adam, the networks fixed) so that G matches the **known** pixels, with small prior terms that keep z plausible:
$$z^* = \arg\min_z\ \operatorname{mean}_{\text{known}}\big(G(z, c) - x\big)^2 + 0.01\cdot\tfrac12\operatorname{mean}(z^2) + 0.01\,\|\Delta f_D\|^2 + 0.01\,\|\Delta f_C\|^2$$
   where $\Delta f$ compares D's and C's features of $G(z, c)$ with those of $G(z, c)$ with the known pixels pasted in (the paper's pairwise feature matching, applied to the observation);
3. paste: known pixels stay exactly as they were, the hole gets $G(z^*, c)$.

**What to look for:** the hole should continue the colours and shapes around it; a visible seam is expected (a plain paste, no blending). The table compares the error inside the hole for the mean-colour fill, for the encoder's guess alone ($z_0$, no optimisation) and for the optimised $z^*$; lower is better, and the true pixels are only used to score.
"""),
    code(r"""
import { centreMask, inpaint, inpaintingGrid } from './lib/apps/inpainting';
import { superResolve, superResolutionGrid } from './lib/apps/super-resolution';
import { maskedMse, downsample } from './lib/apps/image-ops';
import { disposeResult } from './lib/apps/common';
import { augmentationExperiment } from './lib/apps/augmentation';
import { showTable } from './lib/viz/tables';

const ex = pickExamples(data.test, firstClasses(data.test, A.examples), 1);
const mask = centreMask(F.resolution, 0.5);
const guess = inpaint(model, ex.x, mask, ex.labels, { steps: 0 });
const filled = inpaint(model, ex.x, mask, ex.labels, { steps: A.fitSteps });
await inpaintingGrid(ex.x, filled, { rowLabels: ex.labels.map((c) => names[c]) }).show('inpainting');
"""),
    code(r"""
const holeMse = (t: tf.Tensor4D) => { const v = maskedMse(t, ex.x, mask); return v.reduce((s, x) => s + x, 0) / v.length; };
await showTable([
  { method: 'mean colour of the known pixels', 'hole MSE': holeMse(filled.masked) },
  { method: 'encoder only: G(mu(x_masked, c), c)', 'hole MSE': holeMse(guess.images) },
  { method: `z optimised, ${A.fitSteps} Adam steps`, 'hole MSE': holeMse(filled.images) },
], { caption: `inpainting error inside the hole, mean over ${ex.labels.length} held-out images (pixels in [-1, 1])`, precision: 4 });
disposeResult(guess);
disposeResult(filled);
"""),
    md(r"""
## 2. Super-resolution

Each test image is shrunk 4× (32 → 8 pixels, 4×4 block means) and enlarged again. The same idea: find the z whose image, shrunk the same way, matches the small input,
$$z^* = \arg\min_z\ \operatorname{mean}\big(\operatorname{down}(G(z, c)) - x_{\text{low}}\big)^2 + \text{the same small priors},$$
starting from the encoder's code of the bicubic enlargement, and output $G(z^*, c)$. The baseline is bicubic interpolation.

**What to look for:** bicubic is blurry but faithful; the model's output is sharper and looks like a flower of that species, but can invent detail that was not there. PSNR (higher is better) rewards faithfulness, so a generative method can look better and still score lower than bicubic; both are shown per row.
"""),
    code(r"""
const low = downsample(ex.x, A.srFactor);
const sr = superResolve(model, low, ex.labels, { reference: ex.x, steps: A.fitSteps });
await superResolutionGrid(low, sr, { reference: ex.x }).show('super-resolution');
console.log(`mean PSNR vs the originals: bicubic ${sr.psnr!.meanBicubic.toFixed(2)} dB, CVAE-GAN ${sr.psnr!.meanModel.toFixed(2)} dB`);
disposeResult(sr);
tf.dispose([low, mask, ex.x]);
"""),
    md(r"""
## 3. Data augmentation

The paper trains a face recogniser on real images and on real plus CVAE-GAN-generated images of the same identities, and reports a small gain in LFW verification accuracy (91.87% → 92.98%). We have no LFW pairs, so the experiment here is its analogue on flowers: the same small classifier (`lib/eval/evaluator.ts`, same architecture and seed) is trained

- on the real training images of the species in use, and
- on the same real images plus `A.generatedPerClass` generated images per species,

with the **same number of updates** (the real-only run gets proportionally more epochs, so a gain cannot come from training longer), and both are scored on the real test images. The generator saw the same real training images, so the generated images add no new real data; the question is whether samples of the learned distribution help the classifier generalise.

**Reading the result:** a positive gain supports the paper's claim at this scale; no gain or a loss means the samples are not yet good or varied enough to teach a classifier more than the real images already do. With ~10 test images per species, differences of a few points are within noise.
"""),
    code(r"""
const aug = await augmentationExperiment({ model: model, train: data.train, test: data.test, generatedPerClass: A.generatedPerClass, classifierOpts: A.classifier });
await showTable([
  { 'training set': 'real only', images: aug.realOnly.trainImages, epochs: aug.realOnly.epochs, 'test top-1 (%)': 100 * aug.realOnly.accuracy },
  { 'training set': `real + ${aug.generatedPerClass} generated per class`, images: aug.realPlusGenerated.trainImages, epochs: aug.realPlusGenerated.epochs, 'test top-1 (%)': 100 * aug.realPlusGenerated.accuracy },
], { caption: `augmentation on ${aug.testImages} real test images: gain ${(100 * aug.gain).toFixed(2)} points`, precision: 4 });
model.dispose();
"""),
]

NOTEBOOKS = {
    "01-method": METHOD,
    "02-faces": dataset_notebook(FACES),
    "03-flowers": dataset_notebook(FLOWERS),
    "04-birds": dataset_notebook(BIRDS),
    "05-table1": TABLE1,
    "06-applications": APPLICATIONS,
}

if __name__ == "__main__":
    names = sys.argv[1:] or list(NOTEBOOKS)
    for n in names:
        write(n, NOTEBOOKS[n])
