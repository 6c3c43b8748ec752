import { luaHttpExtras } from '../../src/nginx/lua/extras';

describe('luaHttpExtras', () => {
  it('declares the dicts and the Lua code, and every admin location admits loopback clients only', () => {
    const x = luaHttpExtras({ luaDir: '/opt/berth/lua', dictSize: '64m' });
    expect(x.httpContext).toContain('lua_package_path "/opt/berth/lua/?.lua;;";');
    expect(x.httpContext).toContain('lua_shared_dict berth_endpoints 64m;');
    const locations = x.adminLocations.split('\n');
    expect(locations).toHaveLength(2);
    for (const l of locations) expect(l).toContain('allow 127.0.0.1; allow ::1; deny all;');
  });

  it('refuses values that would change the Nginx syntax around them', () => {
    expect(() => luaHttpExtras({ dictSize: '32m; evil' })).toThrow(/not an Nginx size/);
    expect(() => luaHttpExtras({ maxBody: '' })).toThrow(/not an Nginx size/);
    expect(() => luaHttpExtras({ luaDir: '/tmp/x"; include /etc/passwd' })).toThrow(/misread/);
  });
});
