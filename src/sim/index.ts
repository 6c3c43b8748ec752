/**
 * The Marathon simulator's public surface (tests, benchmarks, `berth demo`).
 *
 *   const sim = await startSimulator({ flavour: '1.10', keepaliveMs: 50 });
 *   const tasks = await sim.control.deploy({ id: '/web', cmd: 'x', labels: {...} },
 *     { placeTask: (_app, i) => ({ host: '127.0.0.1', ports: [backendPorts[i]] }) });
 *   sim.control.setHealth(tasks[0].id, false);   // failed_health_check + health_status_changed
 *   sim.control.stallStreams();                  // no bytes, sockets kept
 *   const standby = await startSimulator({ cluster: sim.cluster });  // 302s /v2/events to sim
 *   standby.control.becomeLeader();              // health wiped, all streams closed
 *   await sim.close();
 */
export { startSimulator, type Simulator, type SimulatorOptions } from './simulator';
export { SimCluster } from './state';
export { SimControl, SimValidationError } from './control';
export type { Fault } from './faults';
export type { Flavour, SimTask, TaskPlacement, TaskState } from './model';
export type { SimEvent } from './events';
export type { SimAuth } from './node';
export { validateApp as validateMarathonApp, type Violation } from './validate';
export { startDemoMarathon, demoApps } from './demo';
