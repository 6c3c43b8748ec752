/** URLs of the API's resources, as `Location` names them (app ids are percent-encoded: `%2Fteam%2Fapp`). */
export const poolUrl = (pool: string): string => `/v1/pools/${encodeURIComponent(pool)}`;
export const allocationUrl = (a: { pool: string; appId: string }): string => `${poolUrl(a.pool)}/allocations/${encodeURIComponent(a.appId)}`;
