/**
 * The headless notebook runner (test/helpers/execute_notebook.py) does not report success for a
 * notebook whose cells did not all run. tslab drops the execute requests that arrive within 200 ms
 * after a failed cell (status "abort", no execution count), and nbclient, which numbers the cells
 * itself and fails only on status "error", would otherwise pass a notebook with an allowed error
 * (tag raises-exception) and every later cell empty (issue #17).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { executeNotebook } from './helpers/notebook';

test('a notebook whose cells after an allowed error were dropped by the kernel fails, naming the cells', async () => {
  await assert.rejects(executeNotebook('test/notebooks/allowed-error.ipynb', { cellTimeoutSec: 120 }), (e: Error) => {
    assert.match(e.message, /cell 2 was not executed \(the kernel answered status 'abort' without an execution count; tslab drops requests that arrive within 200 ms after a failed cell\): const x = 1 \+ 1;/);
    assert.match(e.message, /cell 3 was not executed .*: console\.log\('third cell ran'\);/);
    assert.doesNotMatch(e.message, /cell 1 was not executed/, 'the failing cell itself ran');
    return true;
  });
});
