/**
 * The worker thread of render-ahead.ts: compiles the templates it is given and renders each part
 * of services it receives on its own (`renderAlone`), answering with what each computed.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Service } from '../model/types';
import { renderAlone } from './render';
import { compileTemplates } from './templates';
import type { AheadSetup } from './render-ahead';

const port = parentPort;
if (port) {
  const { sources, httpListen, dynamic } = workerData as AheadSetup;
  const templates = compileTemplates(sources);
  port.on('message', (services: Service[]) => port.postMessage(renderAlone(services, templates, httpListen, dynamic)));
}
