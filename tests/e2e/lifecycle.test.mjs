// The process contract the other e2e files rely on: the ready file names three listening
// ports, and SIGTERM stops the gateway cleanly.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { start_gateway, standard_config, skip_reason } from './gateway.mjs';

function can_connect(hostport) {
  const [host, port] = hostport.split(':');
  return new Promise((resolve) => {
    const s = net.connect({ host, port: Number(port) }, () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

describe('aiproxy process', { skip: skip_reason() }, () => {
  it('fails loudly when AIPROXY_BIN names a missing file', async () => {
    await assert.rejects(start_gateway('_format_version: "3.0"\n', { bin: '/nonexistent/aiproxy' }), /does not exist/);
  });

  it('listens on the ports of its ready file and exits 0 on SIGTERM', async () => {
    const gw = await start_gateway(standard_config('http://127.0.0.1:1'));
    let exit;
    try {
      assert.notEqual(gw.proxy, gw.admin);
      assert.notEqual(gw.proxy, gw.status);
      for (const hp of [gw.proxy, gw.admin, gw.status]) assert.ok(await can_connect(hp), `${hp} accepts`);
    } finally {
      exit = await gw.stop();
    }
    assert.deepEqual(exit, { code: 0, signal: null }, gw.output());
    assert.equal(await can_connect(gw.proxy), false, 'the proxy port is closed after exit');
  });
});
