#!/usr/bin/env node
// Builds @tensorflow/tfjs-node (the native TensorFlow backend, "tensorflow") into .native/, against
// the libtensorflow that ships inside TensorFlow's own PyPI wheel, with no download from Google
// storage: the only network access is `pip download` and `npm install` (registries).
//
//   node scripts/build-native-tfjs.mjs                 # builds .native/ (a few minutes; ~1.3 GB on disk)
//   node scripts/build-native-tfjs.mjs --check         # only loads the built binding and runs one op
//   node scripts/build-native-tfjs.mjs --tf 2.21.0 --wheel /path/to/tensorflow_cpu-...whl --prefix .native
//
//   node scripts/build-native-tfjs.mjs --gpu           # tfjs-node-gpu into .native-gpu/, for CUDA 12 machines
//   node scripts/build-native-tfjs.mjs --gpu --no-cuda-wheels   # the same without the CUDA libraries
//   node scripts/build-native-tfjs.mjs --gpu --check   # loads it, says whether TensorFlow sees a GPU
//
// --gpu: @tensorflow/tfjs-node-gpu 4.22.0 (same binding source as tfjs-node) against the TensorFlow
// C library inside the `tensorflow` wheel (the CUDA 12 / cuDNN 9 build; tfjs-node-gpu's own download
// is libtensorflow 2.9.1 for CUDA 11.2 / cuDNN 8.1, which current drivers and CUDA 12 machines no
// longer carry). That library dlopens CUDA, cuDNN, cuBLAS, ... at run time from the directories in
// its RUNPATH, among them $ORIGIN/../nvidia/<lib>/lib, which is where pip's `tensorflow[and-cuda]`
// puts them beside the `tensorflow` package. So the NVIDIA wheels of the `and-cuda` extra (read from
// the wheel's METADATA, ~3 GB) are unpacked into the package's deps/nvidia/, beside deps/lib/. Only
// the NVIDIA driver (libcuda.so.1) comes from the system. Without a GPU, or with --no-cuda-wheels, the
// same library runs on the CPU (TensorFlow logs that it found no CUDA driver or libraries).
//
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const TF = opt('tf', '2.21.0');
const TFJS_NODE = '4.22.0';
const GPU = args.includes('--gpu');
const CUDA_WHEELS = GPU && !args.includes('--no-cuda-wheels');
/** The PyPI package whose wheel carries the C library, and the npm package built against it. */
const WHEEL = GPU ? 'tensorflow' : 'tensorflow-cpu';
const NPM = GPU ? 'tfjs-node-gpu' : 'tfjs-node';
const prefix = path.resolve(root, opt('prefix', GPU ? '.native-gpu' : '.native'));
const cache = path.join(prefix, 'cache');
const pkgDir = path.join(prefix, 'node_modules', '@tensorflow', NPM);

const log = (msg) => console.log(`[native] ${msg}`);
function run(cmd, argv, options = {}) {
  log(`$ ${cmd} ${argv.map((a) => (a.includes('\n') ? '<script>' : a)).join(' ')}`);
  const r = spawnSync(cmd, argv, { stdio: 'inherit', ...options });
  if (r.status !== 0) throw new Error(`${cmd} failed (exit ${r.status}${r.error ? `, ${r.error.message}` : ''})`);
}

/** Step 1: the wheel (cached). */
function fetchWheel() {
  const given = opt('wheel');
  if (given) return path.resolve(given);
  fs.mkdirSync(cache, { recursive: true });
  const stem = `${WHEEL.replace('-', '_')}-${TF}-`;
  const find = () => fs.readdirSync(cache).find((f) => f.startsWith(stem) && f.endsWith('.whl'));
  if (!find()) pipDownload(cache, [`${WHEEL}==${TF}`]);
  const f = find();
  if (!f) throw new Error(`pip saved no ${stem}*.whl in ${cache}`);
  return path.join(cache, f);
}

/**
 * `pip download --no-deps` of `specs` into `dir`. Pinned interpreter tags: the shared libraries are
 * the same for every Python, so any local Python (or none of the right version) can fetch them.
 */
function pipDownload(dir, specs) {
  fs.mkdirSync(dir, { recursive: true });
  const python = process.env.PYTHON ?? 'python3';
  run(python, ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--python-version', '3.11', '--implementation', 'cp',
    '--abi', 'cp311', '--platform', 'manylinux_2_27_x86_64', '--platform', 'manylinux_2_17_x86_64', '--platform', 'manylinux2014_x86_64',
    '-d', dir, ...specs]);
}

/** The requirements of the wheel's `and-cuda` extra (the NVIDIA wheels), from its METADATA. */
function cudaRequirements(wheel) {
  const py = `
import sys, zipfile, re
z = zipfile.ZipFile(sys.argv[1])
meta = next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))
for line in z.read(meta).decode().splitlines():
    m = re.match(r'Requires-Dist: *([^;]+);(.*)', line)
    if m and 'and-cuda' in m.group(2): print(m.group(1).strip().replace(' ', ''))
`;
  const r = spawnSync(process.env.PYTHON ?? 'python3', ['-c', py, wheel], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot read the and-cuda extra of ${wheel}: ${r.stderr}`);
  const specs = r.stdout.split('\n').filter(Boolean);
  if (specs.length === 0) throw new Error(`${path.basename(wheel)} lists no and-cuda requirements`);
  return specs;
}

/**
 * The NVIDIA wheels of the and-cuda extra, unpacked into <package>/deps/nvidia/<lib>/{lib,bin}:
 * $ORIGIN/../nvidia/<lib>/lib from deps/lib/, as the C library's RUNPATH expects.
 */
function installCudaWheels(wheel) {
  const dir = path.join(cache, 'cuda');
  const specs = cudaRequirements(wheel);
  log(`CUDA wheels (and-cuda extra): ${specs.join(' ')}`);
  pipDownload(dir, specs);
  const dest = path.join(pkgDir, 'deps');
  const py = `
import sys, zipfile, os, shutil, glob
src, dest = sys.argv[1], sys.argv[2]
n = 0
for whl in sorted(glob.glob(os.path.join(src, 'nvidia_*.whl'))):
    z = zipfile.ZipFile(whl)
    for info in z.infolist():
        parts = info.filename.split('/')
        if len(parts) >= 4 and parts[0] == 'nvidia' and parts[2] in ('lib', 'bin') and not info.is_dir():
            out = os.path.join(dest, info.filename)
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with z.open(info) as f, open(out, 'wb') as g: shutil.copyfileobj(f, g, 1 << 24)
            if parts[2] == 'bin': os.chmod(out, 0o755)
            n += 1
print(n, 'files from', len(glob.glob(os.path.join(src, 'nvidia_*.whl'))), 'NVIDIA wheels')
`;
  run(process.env.PYTHON ?? 'python3', ['-c', py, dir, dest]);
}

/** Step 2: libtensorflow tarball from the wheel. */
async function makeTarball(wheel) {
  const out = path.join(cache, `libtensorflow-${GPU ? 'gpu' : 'cpu'}-linux-x86_64-${TF}-from-wheel.tar.gz`);
  if (fs.existsSync(out)) return out;
  const stage = path.join(cache, 'stage');
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(path.join(stage, 'lib'), { recursive: true });
  // Python's zipfile (pip needs Python anyway): extract only what the binding needs.
  const py = `
import sys, zipfile, os, shutil
whl, stage = sys.argv[1], sys.argv[2]
z = zipfile.ZipFile(whl)
names = z.namelist()
libs = ['tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2']
for n in libs:
    if n not in names: sys.exit('wheel has no ' + n)
    with z.open(n) as src, open(os.path.join(stage, 'lib', os.path.basename(n)), 'wb') as dst: shutil.copyfileobj(src, dst, 1 << 24)
pre = 'tensorflow/include/'
want = ('tensorflow/c/', 'tensorflow/core/platform/ctstring', 'tsl/platform/ctstring', 'xla/tsl/c/')
n_h = 0
for n in names:
    if n.startswith(pre) and n.endswith('.h') and n[len(pre):].startswith(want):
        dst = os.path.join(stage, 'include', n[len(pre):])
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        with z.open(n) as src, open(dst, 'wb') as d: shutil.copyfileobj(src, d)
        n_h += 1
print(n_h, 'headers')
`;
  run(process.env.PYTHON ?? 'python3', ['-c', py, wheel, stage]);
  const lib = path.join(stage, 'lib');
  // tfjs-node 4.22 checks for deps/lib/libtensorflow.so.2.9.1 and links -ltensorflow -ltensorflow_framework;
  // the binding then records the real SONAMEs (libtensorflow_cc.so.2, libtensorflow_framework.so.2),
  // found at run time through its rpath $ORIGIN/../../deps/lib.
  for (const [link, target] of [
    ['libtensorflow.so.2.9.1', 'libtensorflow_cc.so.2'],
    ['libtensorflow.so', 'libtensorflow_cc.so.2'],
    ['libtensorflow_framework.so.2.9.1', 'libtensorflow_framework.so.2'],
    ['libtensorflow_framework.so', 'libtensorflow_framework.so.2'],
  ]) fs.symlinkSync(target, path.join(lib, link));
  fs.writeFileSync(path.join(stage, 'VERSION.txt'), `libtensorflow from ${WHEEL} ${TF} (${path.basename(wheel)})\n`);
  log(`packing ${out}`);
  run('tar', ['-C', stage, '-cf', `${out}.tmp`, '-I', 'gzip -1', 'lib', 'include', 'VERSION.txt']);
  fs.renameSync(`${out}.tmp`, out);
  fs.rmSync(stage, { recursive: true, force: true });
  return out;
}

/** Step 3a: the npm package, scripts not run yet. */
function installPackage() {
  fs.mkdirSync(prefix, { recursive: true });
  // A self-ignoring folder: nothing under it is ever committed.
  fs.writeFileSync(path.join(prefix, '.gitignore'), '*\n');
  fs.writeFileSync(path.join(prefix, 'package.json'), JSON.stringify({
    name: 'cvaegan-native-tfjs', private: true, description: 'built by scripts/build-native-tfjs.mjs',
    dependencies: { [`@tensorflow/${NPM}`]: TFJS_NODE },
  }, null, 2) + '\n');
  run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock'], { cwd: prefix });
}

/** Step 3b: custom-binary.json + the package's install.js, fed by a loopback HTTP server. */
async function buildAddon(tarball) {
  const server = http.createServer((req, res) => {
    if (req.url !== `/${path.basename(tarball)}`) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': fs.statSync(tarball).size, 'content-type': 'application/gzip' });
    fs.createReadStream(tarball).pipe(res);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${server.address().port}/${path.basename(tarball)}`;
  fs.writeFileSync(path.join(pkgDir, 'scripts', 'custom-binary.json'), JSON.stringify({ 'tf-lib': url }, null, 2) + '\n');
  const env = { ...process.env };
  // node-pre-gyp and node-gyp come from the package's dependencies and npm's own copy.
  const npmGyp = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin');
  env.PATH = [path.join(prefix, 'node_modules', '.bin'), npmGyp, env.PATH].join(path.delimiter);
  // Offline node-gyp: use the headers of the running Node when they are installed beside it.
  const nodeDir = path.join(path.dirname(process.execPath), '..');
  if (!env.npm_config_nodedir && fs.existsSync(path.join(nodeDir, 'include', 'node', 'node_api.h'))) env.npm_config_nodedir = nodeDir;
  for (const k of Object.keys(env)) if (/^https?_proxy$/i.test(k)) delete env[k]; // the server is local
  log(`install.js with custom-binary.json -> ${url}${env.npm_config_nodedir ? ` (node headers: ${env.npm_config_nodedir})` : ''}`);
  const code = await new Promise((ok) => {
    // tfjs-node-gpu's own install script is `install.js gpu download`; custom-binary.json decides what it fetches.
    const p = spawn(process.execPath, ['scripts/install.js', ...(GPU ? ['gpu', 'download'] : [])], { cwd: pkgDir, env, stdio: 'inherit' });
    p.on('exit', (c) => ok(c ?? 1));
  });
  server.close();
  if (code !== 0) throw new Error(`tfjs-node's install.js failed (exit ${code})`);
  const addon = path.join(pkgDir, 'lib', `napi-v${process.versions.napi > 8 ? 8 : process.versions.napi}`, 'tfjs_binding.node');
  const found = fs.readdirSync(path.join(pkgDir, 'lib')).map((d) => path.join(pkgDir, 'lib', d, 'tfjs_binding.node')).find((f) => fs.existsSync(f));
  if (!found) throw new Error(`no tfjs_binding.node under ${path.join(pkgDir, 'lib')} (expected ${addon})`);
  log(`built ${path.relative(root, found)}`);
}

/** Step 4: one tfjs engine. */
function dropDuplicateTfjs() {
  const dir = path.join(prefix, 'node_modules', '@tensorflow');
  for (const d of fs.readdirSync(dir)) {
    if (d !== NPM) fs.rmSync(path.join(dir, d), { recursive: true, force: true });
  }
}

/** Loads the binding in a fresh process and runs one op on it (--gpu: and says whether TensorFlow sees a GPU). */
function check() {
  if (!fs.existsSync(path.join(pkgDir, 'package.json'))) throw new Error(`no build in ${path.relative(root, prefix) || prefix}: run node scripts/build-native-tfjs.mjs${GPU ? ' --gpu' : ''}`);
  const code = `
    const tf = require('@tensorflow/tfjs');
    require(${JSON.stringify(pkgDir)});
    tf.setBackend('tensorflow').then(() => {
      const b = tf.backend();
      const y = tf.matMul(tf.ones([64, 64]), tf.ones([64, 64])).dataSync()[0];
      const one = require.resolve('@tensorflow/tfjs-core', { paths: [${JSON.stringify(pkgDir)}] }) === require.resolve('@tensorflow/tfjs-core');
      console.log(JSON.stringify({ backend: tf.getBackend(), tfVersion: b.binding.TF_Version, matmul: y, oneEngine: one, gpu: b.binding.isUsingGpuDevice() }));
      if (tf.getBackend() !== 'tensorflow' || y !== 64 || !one) process.exit(1);
    }).catch((e) => { console.error(e); process.exit(1); });`;
  const r = spawnSync(process.execPath, ['-e', code], { cwd: root, encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '1' } });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr.split('\n').filter((l) => !/oneDNN custom operations|cpu_feature_guard|This TensorFlow binary is optimized|rebuild TensorFlow/.test(l)).join('\n'));
  if (r.status !== 0) throw new Error('the native binding does not load or compute (see above)');
  log(`OK: require(${JSON.stringify(path.relative(root, pkgDir))}) gives the "tensorflow" backend on the project's tfjs`);
  if (GPU) {
    const gpu = JSON.parse(r.stdout.trim().split('\n').pop()).gpu;
    log(gpu ? 'TensorFlow sees a CUDA GPU' : 'no GPU visible to TensorFlow: this build runs on the CPU here (a CUDA 12 driver and the CUDA wheels in deps/nvidia/ are needed for the GPU)');
  }
}

async function main() {
  if (args.includes('--check')) return check();
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error('this script builds for linux x86-64 only (the wheel it unpacks is manylinux x86-64)');
  const wheel = fetchWheel();
  log(`wheel: ${wheel}`);
  const tarball = await makeTarball(wheel);
  installPackage();
  await buildAddon(tarball);
  if (CUDA_WHEELS) installCudaWheels(wheel);
  dropDuplicateTfjs();
  check();
}

main().catch((e) => {
  console.error(`[native] FAILED: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
