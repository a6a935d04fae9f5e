// Runs inside the test browser's own network namespace (see browser.ts): brings its loopback up, relays
// 127.0.0.1:3128 there to the host-side proxy's unix socket, and runs chromium with the rest of its
// arguments and the debugging pipes (fds 3 and 4) it was given. It exits as chromium does.
import { createServer, connect } from 'node:net';
import { spawn, execFileSync } from 'node:child_process';

const [proxySocket, executable, ...args] = process.argv.slice(2);
const RELAY_PORT = 3128; // browser.ts points chromium's proxy here

execFileSync('ip', ['link', 'set', 'lo', 'up']);
const relay = createServer((inside) => {
  const outside = connect(proxySocket);
  inside.pipe(outside).pipe(inside);
  const drop = () => { inside.destroy(); outside.destroy(); };
  inside.on('error', drop);
  outside.on('error', drop);
});
relay.listen(RELAY_PORT, '127.0.0.1', () => {
  const browser = spawn(executable, args, { stdio: [0, 1, 2, 3, 4] });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => browser.kill(signal));
  browser.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
});
