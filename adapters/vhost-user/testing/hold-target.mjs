// Test fixture (process.test.ts): start a spawned vhost-user target, print the back-end's
// pid, and wait to be signalled — the test checks nothing is left behind.
import { register } from 'tsx/esm/api';
register();
const { createVhostUserTarget } = await import('../index.ts');
const t = await createVhostUserTarget({ spawn: 'qemu-storage-daemon', device: 'blk' });
process.stdout.write(`${t.backend.pid}\n`);
setInterval(() => {}, 1000);
