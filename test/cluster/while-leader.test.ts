import { BaseLeadership } from '../../src/cluster/base';
import { whileLeader } from '../../src/cluster/while-leader';
import { silentLogger } from '../../src/log';
import { waitFor } from '../support/wait';

/** Leadership driven by hand: the events are what whileLeader reacts to. */
class HandLeadership extends BaseLeadership {
  async start(): Promise<void> {}
  async stop(): Promise<void> {
    this.loseLeadership('stopped');
  }
  elect(epoch: number): void {
    this.becomeLeader(epoch, new Date());
  }
  lose(): void {
    this.loseLeadership('connection');
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('whileLeader', () => {
  it('starts leader-only work on election, stops it on loss, never overlapping two epochs', async () => {
    const l = new HandLeadership({ id: 'x', logger: silentLogger });
    const log: string[] = [];
    const slowStart = deferred();
    const signals: AbortSignal[] = [];
    const dispose = whileLeader(l, 'marathon', silentLogger, async (epoch, signal) => {
      signals.push(signal);
      log.push(`start ${epoch}`);
      if (epoch === 1) await slowStart.promise;
      return async () => {
        log.push(`stop ${epoch}`);
      };
    });

    l.elect(1);
    await waitFor(() => log.length === 1);
    // Lost while epoch 1 is still starting: its signal fires at once, and it is stopped once started.
    l.lose();
    expect(signals[0].aborted).toBe(true);
    l.elect(2);
    slowStart.resolve();
    await waitFor(() => log.length === 3);
    expect(log).toEqual(['start 1', 'stop 1', 'start 2']);
    expect(signals[1].aborted).toBe(false);

    await dispose();
    expect(log).toEqual(['start 1', 'stop 1', 'start 2', 'stop 2']);
    expect(signals[1].aborted).toBe(true);
  });

  it('starts at once when already leading, and skips an election that was lost before its turn', async () => {
    const l = new HandLeadership({ id: 'y', logger: silentLogger });
    l.elect(5);
    const started: number[] = [];
    const dispose = whileLeader(l, 'reconcile', silentLogger, async (epoch) => {
      started.push(epoch);
      return async () => undefined;
    });
    await waitFor(() => started.length === 1);
    l.lose();
    l.elect(6);
    l.lose();
    l.elect(7);
    await waitFor(() => started.includes(7));
    expect(started).toEqual([5, 7]);
    await dispose();
  });
});
