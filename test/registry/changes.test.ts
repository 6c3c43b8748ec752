/** The in-memory log of which apps each write touched: exact answers, or null when it cannot tell. */
import { ChangeLog } from '../../src/registry/changes';

it('answers the apps changed after any position a write started or ended at', () => {
  const log = new ChangeLog(10);
  log.record(10, 12, ['/a', '/b']);
  log.record(12, 13, ['/b']);
  log.record(13, 14, []); // a problem-only write moves the journal too
  log.record(14, 15, ['/c']);
  expect([...log.since(10)!].sort()).toEqual(['/a', '/b', '/c']);
  expect([...log.since(12)!].sort()).toEqual(['/b', '/c']);
  expect([...log.since(14)!]).toEqual(['/c']);
  expect([...log.since(15)!]).toEqual([]);
  expect(log.since(11)).toBeNull(); // inside one write
  expect(log.since(9)).toBeNull(); // before what the log knows
  expect(log.since(16)).toBeNull(); // ahead of it
});

it('forgets everything before a write it did not see follow on', () => {
  const log = new ChangeLog(1);
  log.record(1, 2, ['/a']);
  log.record(5, 6, ['/b']); // positions 2..5 were written elsewhere
  expect(log.since(1)).toBeNull();
  expect(log.since(2)).toBeNull();
  expect([...log.since(6)!]).toEqual([]);
});

it('stays bounded: a consumer far behind gets null and reads a snapshot', () => {
  const log = new ChangeLog(0);
  for (let p = 0; p < 10_000; p++) log.record(p, p + 1, [`/app${p % 100}`]);
  expect(log.since(0)).toBeNull();
  expect([...log.since(9_990)!]).toHaveLength(10);
  expect(log.head).toBe(10_000);
});
