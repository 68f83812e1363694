import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './helpers/notebook';

test('a running kernel survives files changing under node_modules (tslab rebuildTimer workaround)', () => {
  const r = spawnSync(join(ROOT, '.venv', 'bin', 'python'), [join(ROOT, 'test', 'helpers', 'kernel_node_modules_change.py')], {
    cwd: ROOT,
    env: { ...process.env, JUPYTER_PATH: join(ROOT, 'jupyter') },
    encoding: 'utf8',
    timeout: 180_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.deepEqual(result, { first: 'ok', after: ['ok', 'ok', 'ok'] });
});
