// Preloaded into the tslab kernel (node -r) by scripts/tslab-kernel.
//
// tslab compiles cells with a TypeScript watch program. When any file under node_modules/ is
// created or deleted while a kernel runs (an `npm install`, a cache file), TypeScript's directory
// watcher schedules a second kind of rebuild timer that tslab's compiler host cannot hold, and every
// later cell fails with "Unexpected pending rebuildTimer" until the kernel restarts. Turning off
// directory watching avoids it; edits to imported lib/ files are still picked up, because those use
// file watchers.
const path = require('path');
const ts = require(require.resolve('@tslab/typescript-for-tslab', { paths: [path.join(__dirname, '..', 'node_modules', 'tslab')] }));
ts.sys.watchDirectory = () => ({ close() {} });
