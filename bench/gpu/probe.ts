/**
 * Prints what Dawn sees on this machine as one JSON line: the adapter tfjs would get (lib/backend/webgpu-node.ts),
 * its features and the limits that matter to tfjs. Part of the GPU carry (bench/gpu/prepare.sh).
 *
 *   npx tsx bench/gpu/probe.ts
 */
import { probeWebGpu } from '../../lib/backend/index';

async function main(): Promise<void> {
  const summary = await probeWebGpu();
  const out: Record<string, unknown> = { node: process.version, vkDriverFiles: process.env.VK_DRIVER_FILES ?? null, summary };
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(o: object): Promise<any> } } }).navigator?.gpu;
  if (typeof summary !== 'string' && gpu) {
    const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    out.features = [...a.features].sort();
    const limits: Record<string, number> = {};
    for (const k of ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxStorageBuffersPerShaderStage', 'maxComputeWorkgroupStorageSize',
      'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupsPerDimension']) limits[k] = a.limits[k];
    out.limits = limits;
  }
  console.log(JSON.stringify(out));
}

main().then(
  () => process.exit(0), // Dawn keeps the process alive otherwise
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
