/**
 * The identity of a published service. One app publishes its main service (`berth.domain`) and one
 * service per port named in per-port labels (`berth.port.<port>.domain`), all in the app's one
 * environment, so (app id, port) is unique. Maps, the registry's rows and journal, DNS fragments and
 * change feeds are keyed by `serviceKey`; problems stay keyed by the app id.
 *
 * The main service's key is the app id itself, so every key stored before ports existed is still
 * right. `#` never occurs in an app id (rules `checkAppId`) nor in a port reference, so the split is
 * unambiguous.
 */

/** What identifies a service (a Service or a ServiceSpec). */
export interface ServiceIdentity {
  appId: string;
  port?: string | null;
}

const SEP = '#';

/** `appId` for the main service, `appId#port` for a per-port one. */
export function serviceKey(s: ServiceIdentity): string {
  return s.port === undefined || s.port === null ? s.appId : `${s.appId}${SEP}${s.port}`;
}

/** The app id part of a service key. */
export function appIdOfKey(key: string): string {
  const i = key.indexOf(SEP);
  return i < 0 ? key : key.slice(0, i);
}

/** Main service first, then ports in code-unit order: the order lists and files are shown in. */
export function comparePorts(a: ServiceIdentity, b: ServiceIdentity): number {
  const pa = a.port ?? '';
  const pb = b.port ?? '';
  return pa < pb ? -1 : pa > pb ? 1 : 0;
}
