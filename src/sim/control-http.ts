/** `/_sim/...`: the simulator's control interface over HTTP (child-process tests, `berth demo`). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type SimControl, SimValidationError } from './control';
import type { SimEvent } from './events';
import type { Fault } from './faults';
import type { TaskState } from './model';
import type { SimAuth } from './node';
import type { PumpKind } from './seed';
import { type PlaceTask, ipAddressOf } from './state';

type Json = Record<string, unknown>;

/** Drops undefined fields so they do not override the simulator's own placement. */
function stripUndefined(fn: (d: unknown, i: number) => Record<string, unknown>): PlaceTask {
  return (d, i) => Object.fromEntries(Object.entries(fn(d, i)).filter(([, v]) => v !== undefined));
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body ?? null));
}

/** `/_sim/...` over HTTP, for child-process tests and `berth demo`. */
export async function handleControl(ctl: SimControl, req: IncomingMessage, res: ServerResponse, body: Json): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://sim');
  const key = `${req.method} ${url.pathname.slice('/_sim'.length)}`;
  try {
    switch (key) {
      case 'POST /apps': {
        // Either an app definition, or {app, placements: [{host, ports, ipAddresses: ['10.0.0.5']}]}
        // so a child-process test can point tasks at its real backends.
        const placements = Array.isArray(body.placements) ? (body.placements as Json[]) : undefined;
        const def = placements ? (body.app as Json) : body;
        const placeTask =
          placements &&
          ((_d: unknown, i: number) => {
            const p = placements[i % placements.length];
            const ips = (p.ipAddresses as string[] | undefined)?.map(ipAddressOf);
            return { host: p.host as string | undefined, ports: p.ports as number[] | undefined, ipAddresses: ips };
          });
        const tasks = await ctl.deploy(def, placeTask ? { placeTask: stripUndefined(placeTask) } : {});
        return reply(res, 200, { tasks: tasks.map((t) => t.id) });
      }
      case 'POST /apps/update':
        await ctl.update(String(body.id), body.change as Json);
        return reply(res, 200, {});
      case 'POST /apps/scale':
        await ctl.scale(String(body.id), Number(body.instances));
        return reply(res, 200, {});
      case 'POST /apps/restart':
        await ctl.restart(String(body.id));
        return reply(res, 200, {});
      case 'POST /apps/delete':
        await ctl.remove(String(body.id));
        return reply(res, 200, {});
      case 'GET /tasks':
        return reply(res, 200, { tasks: ctl.tasks() });
      case 'POST /health':
        ctl.setHealth(String(body.taskId), Boolean(body.alive));
        return reply(res, 200, {});
      case 'POST /task-state':
        ctl.setTaskState(String(body.taskId), body.state as TaskState, String(body.message ?? ''));
        return reply(res, 200, {});
      case 'POST /events':
        ctl.publish(body as SimEvent);
        return reply(res, 200, {});
      case 'POST /events/raw':
        ctl.publishRaw(String(body.bytes));
        return reply(res, 200, {});
      case 'POST /streams/cut':
        return reply(res, 200, { cut: ctl.cutStreams() });
      case 'POST /streams/stall':
        ctl.stallStreams(body.on !== false);
        return reply(res, 200, {});
      case 'POST /faults':
        ctl.fault(body as unknown as Fault);
        return reply(res, 200, {});
      case 'DELETE /faults':
        ctl.clearFaults();
        return reply(res, 200, {});
      case 'POST /auth':
        ctl.requireAuth(Object.keys(body).length ? (body as unknown as SimAuth) : undefined);
        return reply(res, 200, {});
      case 'GET /counts':
        return reply(res, 200, ctl.counts());
      case 'DELETE /counts':
        ctl.resetCounts();
        return reply(res, 200, {});
      case 'POST /seed':
        return reply(res, 200, ctl.seed({ apps: Number(body.apps), tasksPerApp: Number(body.tasksPerApp ?? 3) }));
      case 'POST /pump': {
        const p = ctl.pump({
          ratePerSec: Number(body.ratePerSec),
          count: Number(body.count ?? 1000),
          kind: body.kind as PumpKind | undefined,
        });
        void p.done;
        return reply(res, 200, {});
      }
      case 'POST /pause':
        ctl.pause();
        return reply(res, 200, {});
      case 'POST /step':
        return reply(res, 200, { stepped: ctl.step() });
      case 'POST /resume':
        ctl.resume();
        return reply(res, 200, {});
      case 'POST /leader':
        ctl.becomeLeader();
        return reply(res, 200, {});
      case 'DELETE /leader':
        ctl.loseLeader();
        return reply(res, 200, {});
      default:
        return reply(res, 404, { message: `unknown control ${key}` });
    }
  } catch (e) {
    return reply(res, e instanceof SimValidationError ? 422 : 400, { message: (e as Error).message, details: (e as SimValidationError).details });
  }
}
