import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { BerthError, isBerthError } from '../errors';
import type { Logger } from '../log';
import type { HttpMetrics } from './metrics';

/** Errors from the database driver that mean "database unavailable", not "bad request". */
export function isDatabaseDown(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  const code = e?.code ?? '';
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004'].includes(code)) return true;
  const msg = e?.message ?? '';
  return /Timeout acquiring a connection|Connection terminated|connection is closed|Client has encountered a connection error/i.test(msg);
}

/** Maps any thrown error to `{code, message, details}` with the right status. */
export function toApiError(err: unknown): BerthError {
  if (isBerthError(err)) return err;
  const fe = err as FastifyError & { validation?: unknown[]; validationContext?: string };
  if (fe?.validation) {
    return new BerthError('BAD_REQUEST', `invalid ${fe.validationContext ?? 'request'}: ${fe.message}`, { validation: fe.validation });
  }
  switch (fe?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new BerthError('PAYLOAD_TOO_LARGE', 'request body is larger than 1 MiB');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new BerthError('UNSUPPORTED_MEDIA_TYPE', 'request body must be application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new BerthError('BAD_REQUEST', `request body is not valid JSON: ${fe.message}`);
  }
  if (fe?.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new BerthError('BAD_REQUEST', fe.message);
  }
  if (isDatabaseDown(err)) return new BerthError('DATABASE_UNAVAILABLE', 'the database is unreachable; retry later');
  return new BerthError('INTERNAL', 'internal error');
}

export function makeErrorHandler(logger: Logger, metrics: HttpMetrics) {
  return (err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const api = toApiError(err);
    if (api.status >= 500) logger.error({ err, url: request.url, method: request.method }, 'request failed');
    metrics.errors.inc({ code: api.code });
    // RFC 6750 §3: say which scheme is wanted, and that the token sent (if any) was refused.
    if (api.status === 401)
      void reply.header('www-authenticate', request.headers.authorization ? 'Bearer realm="berth", error="invalid_token"' : 'Bearer realm="berth"');
    void reply.status(api.status).send({ code: api.code, message: api.message, details: api.details });
  };
}
