import { describe, expect, it } from 'vitest';
import { ReconnectWatch, tcpProbe } from '../../src/daemon/reconnect.ts';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ReconnectWatch (sync when the network returns)', () => {
  it('fires once, on the first answer after the server did not answer', async () => {
    const answers = [false, false, true, true, true];
    let fired = 0;
    const watch = new ReconnectWatch(async () => answers.shift() ?? true, 5, () => fired++);
    watch.start();
    await tick(80);
    expect(fired).toBe(1);
    watch.stop();
  });

  it('never fires for a server that answered all along (a failure TCP cannot see is left to the backoff)', async () => {
    let fired = 0;
    const watch = new ReconnectWatch(async () => true, 5, () => fired++);
    watch.start();
    await tick(60);
    watch.stop();
    expect(fired).toBe(0);
  });

  it('tcpProbe: a closed port does not answer; a Unix socket URL is left to the backoff', async () => {
    expect(await tcpProbe('postgresql://u:p@127.0.0.1:1/db', 500)()).toBe(false);
    expect(await tcpProbe('postgresql://u:p@%2Fvar%2Frun%2Fpostgresql/db')()).toBe(true);
  });
});
