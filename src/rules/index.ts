/**
 * The rules module: the one place that decides what a valid app id, domain, DNS label, environment
 * name, port and address is, and which strings from Marathon are usable at all. Pure.
 */
export * from './checked';
export * from './strings';
export * from './names';
export * from './ports';
export * from './addresses';
export * from './reserved';
export * from './proxy-options';
export * from './tls';
export * from './paths';
