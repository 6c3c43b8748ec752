'use strict';
// cookie@2 is ESM-only and Jest on Node 20 cannot require it; fastify's inject (light-my-request)
// only needs stringifySetCookie for the name=value pairs it forwards, which this reproduces.
module.exports = {
  stringifySetCookie(cookie) {
    return `${cookie.name}=${encodeURIComponent(cookie.value == null ? '' : cookie.value)}`;
  },
};
