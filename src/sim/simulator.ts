/**
 * The Marathon simulator (tests, benchmarks, `berth demo`): `startSimulator()` starts one node on
 * 127.0.0.1:0; pass `cluster` from another simulator to add a standby sharing its state.
 */
import { SimControl, switchLeader } from './control';
import { handleControl } from './control-http';
import type { Flavour } from './model';
import { type SimAuth, SimNode } from './node';
import { type ClusterOptions, SimCluster } from './state';

export interface SimulatorOptions extends ClusterOptions {
  flavour?: Flavour;
  /** Keepalive period of `/v2/events` (Marathon: 10 000 ms). */
  keepaliveMs?: number;
  /** Unflushed events per stream before a slow consumer loses events (1.4) or its connection (1.10). */
  maxOutstanding?: number;
  auth?: SimAuth;
  /** Join an existing simulator's state as a standby node (leader switch tests). */
  cluster?: SimCluster;
  port?: number;
  /** Serve `/_sim/...` over HTTP (default true). */
  httpControl?: boolean;
}

export interface Simulator {
  /** Base URL, e.g. `http://127.0.0.1:34567`. */
  url: string;
  /** `host:port` of this node (what `/v2/leader` reports). */
  hostPort: string;
  cluster: SimCluster;
  control: SimControl;
  close(): Promise<void>;
}

/** Starts one simulated Marathon node. The first node of a cluster becomes its leader. */
export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const cluster = opts.cluster ?? new SimCluster(opts);
  const ref: { control?: SimControl } = {};
  const node = new SimNode(cluster, {
    keepaliveMs: opts.keepaliveMs ?? 10_000,
    maxOutstanding: opts.maxOutstanding,
    auth: opts.auth,
    control: opts.httpControl === false ? undefined : (req, res, body) => handleControl(ref.control as SimControl, req, res, body as Record<string, unknown>),
  });
  const url = await node.listen(opts.port ?? 0);
  const control = new SimControl(cluster, node);
  ref.control = control;
  if (!opts.cluster) cluster.leader = node.self;
  const onAbdicate = (self: string): void => {
    if (self === node.self && cluster.leader === self) switchLeader(cluster, null);
  };
  cluster.on('abdicate', onAbdicate);
  return {
    url,
    hostPort: node.self,
    cluster,
    control,
    close: async () => {
      cluster.off('abdicate', onAbdicate);
      await node.close();
    },
  };
}
