import { systemResolver } from '../../../functions/adapters/http/host-resolver';
import {
  callbackUrlPolicyFrom,
  checkCallbackUrl,
  refusedAddressReason,
  type CallbackUrlPolicy,
} from '../../../functions/core/callback/ssrf';
import type { HostResolver, ResolvedAddress } from '../../../functions/core/ports';

const PUBLIC_V4 = '93.184.215.14';
const PUBLIC_V6 = '2606:2800:21f:cb07:6820:80da:af6b:8b2c';

/** A resolver answering from a table; counts its calls. */
function resolver(table: Record<string, string[]>): HostResolver & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (hostname: string): Promise<ResolvedAddress[]> => {
    calls.push(hostname);
    const addresses = table[hostname];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(resolve, { calls });
}

/** A policy and the resolver to check it with (the system's when none is given). */
type Checked = CallbackUrlPolicy & { readonly resolve?: HostResolver };
const strict = (resolve?: HostResolver): Checked => ({ allowHttp: false, allowHosts: [], resolve });
const checkWith = (url: string, { resolve = systemResolver, ...policy }: Checked) => checkCallbackUrl(url, policy, resolve);

describe('checkCallbackUrl', () => {
  it('accepts https to a host whose every address is public, and returns the vetted addresses', async () => {
    const resolve = resolver({ 'hooks.example.com': [PUBLIC_V4, PUBLIC_V6] });
    const check = await checkWith('https://hooks.example.com/ecwid?x=1', strict(resolve));
    expect(check).toEqual({
      ok: true,
      url: new URL('https://hooks.example.com/ecwid?x=1'),
      addresses: [
        { address: PUBLIC_V4, family: 4 },
        { address: PUBLIC_V6, family: 6 },
      ],
    });
    expect(resolve.calls).toEqual(['hooks.example.com']);
  });

  it('refuses http unless the development switch allows it', async () => {
    const resolve = resolver({ 'hooks.example.com': [PUBLIC_V4] });
    const refused = await checkWith('http://hooks.example.com/', strict(resolve));
    expect(refused).toEqual({ ok: false, reason: expect.stringContaining('scheme "http" is not allowed') });
    expect(resolve.calls).toEqual([]);

    const allowed = await checkWith('http://hooks.example.com/', { ...strict(resolve), allowHttp: true });
    expect(allowed.ok).toBe(true);
  });

  it.each(['ftp://hooks.example.com/', 'file:///etc/passwd', 'javascript:alert(1)', 'gopher://hooks.example.com/'])(
    'refuses the scheme of %s even with http allowed',
    async (url) => {
      const check = await checkWith(url, { allowHttp: true, allowHosts: [], resolve: resolver({}) });
      expect(check.ok).toBe(false);
    },
  );

  it.each(['', 'not a url', '/relative/path', 'https://'])('refuses %j as not a valid URL', async (url) => {
    const check = await checkWith(url, strict(resolver({})));
    expect(check).toEqual({ ok: false, reason: expect.stringMatching(/not a valid absolute URL|no host/) });
  });

  it('refuses a host name that resolves to the cloud metadata address', async () => {
    const check = await checkWith('https://metadata.attacker.example/x', strict(resolver({ 'metadata.attacker.example': ['169.254.169.254'] })));
    expect(check).toEqual({ ok: false, reason: expect.stringContaining('169.254.169.254 (link-local / cloud metadata)') });
  });

  it('refuses when ANY of the addresses is internal, not just the first', async () => {
    const check = await checkWith('https://mixed.example/', strict(resolver({ 'mixed.example': [PUBLIC_V4, '10.0.0.7'] })));
    expect(check).toEqual({ ok: false, reason: expect.stringContaining('10.0.0.7 (private)') });
  });

  it('refuses a host that does not resolve, with the resolver code', async () => {
    const check = await checkWith('https://nowhere.invalid/', strict(resolver({})));
    // Marked transient: DNS may answer later, so deliver retries it (other refusals go to the DLQ at once).
    expect(check).toEqual({ ok: false, reason: 'callback host nowhere.invalid does not resolve (ENOTFOUND)', transient: true });
  });

  it('resolves localhost with the system resolver and refuses it', async () => {
    const check = await checkWith('https://localhost/hook', strict());
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.reason).toMatch(/loopback/);
  });

  it.each([
    ['https://127.0.0.1/', 'loopback'],
    ['https://2130706433/', 'loopback'], // decimal form, normalized by the URL parser
    ['https://0x7f.1/', 'loopback'],
    ['https://[::1]/', 'loopback'],
    ['https://[::ffff:127.0.0.1]/', 'IPv4-mapped 127.0.0.1: loopback'],
    ['https://[::ffff:a9fe:a9fe]/', 'IPv4-mapped 169.254.169.254'],
    ['https://[::127.0.0.1]/', 'IPv4-compatible'],
    ['https://[::8.8.8.8]/', 'IPv4-compatible (deprecated)'],
    ['https://[64:ff9b::169.254.169.254]/', 'NAT64 169.254.169.254'],
    ['https://[64:ff9b::a00:1]/', 'NAT64 10.0.0.1: private'],
    ['https://[64:ff9b:1::7f00:1]/', 'local-use NAT64'],
    ['https://[2002:7f00:1::1]/', '6to4 127.0.0.1: loopback'],
    ['https://[2002:c0a8:101::1]/', '6to4 192.168.1.1: private'],
    ['https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', 'Teredo'],
    ['https://169.254.169.254/latest/meta-data/', 'link-local'],
    ['https://10.1.2.3/', 'private'],
    ['https://172.16.0.1/', 'private'],
    ['https://172.31.255.254/', 'private'],
    ['https://192.168.0.10/', 'private'],
    ['https://100.64.0.1/', 'carrier-grade NAT'],
    ['https://100.127.255.254/', 'carrier-grade NAT'],
    ['https://0.0.0.0/', 'unspecified'],
    ['https://255.255.255.255/', 'broadcast'],
    ['https://224.0.0.1/', 'multicast'],
    ['https://239.255.255.250/', 'multicast'],
    ['https://240.0.0.1/', 'reserved'],
    ['https://192.0.2.1/', 'documentation'],
    ['https://198.51.100.1/', 'documentation'],
    ['https://203.0.113.1/', 'documentation'],
    ['https://198.18.0.1/', 'benchmarking'],
    ['https://[::]/', 'unspecified'],
    ['https://[fc00::1]/', 'unique local'],
    ['https://[fd12:3456:789a::1]/', 'unique local'],
    ['https://[fe80::1]/', 'link-local'],
    ['https://[febf::1]/', 'link-local'],
    ['https://[ff02::1]/', 'multicast'],
    ['https://[2001:db8::1]/', 'documentation'],
  ])('refuses the IP literal %s (%s) without resolving', async (url, why) => {
    const resolve = resolver({});
    const check = await checkWith(url, strict(resolve));
    expect(check).toEqual({ ok: false, reason: expect.stringContaining(why) });
    expect(resolve.calls).toEqual([]);
  });

  it.each([
    'https://8.8.8.8/',
    'https://172.32.0.1/',
    'https://100.128.0.1/',
    'https://[2606:4700:4700::1111]/',
    'https://[::ffff:8.8.8.8]/',
    'https://[64:ff9b::8.8.8.8]/',
    'https://[2002:808:808::1]/',
  ])('accepts the public IP literal %s', async (url) => {
    const check = await checkWith(url, strict(resolver({})));
    expect(check.ok).toBe(true);
  });

  it('exempts allow-listed hosts and IPs from the address check (local runner, tests), case-insensitively', async () => {
    const resolve = resolver({ 'callback.local.test': ['127.0.0.1'] });
    const policy: Checked = { allowHttp: true, allowHosts: ['callback.local.test', '127.0.0.1', '::1'], resolve };

    expect(await checkWith('http://CALLBACK.local.test:8080/h', policy)).toMatchObject({
      ok: true,
      addresses: [{ address: '127.0.0.1', family: 4 }],
    });
    expect(await checkWith('http://127.0.0.1:9/h', policy)).toMatchObject({ ok: true });
    expect(await checkWith('http://[::1]:9/h', policy)).toMatchObject({ ok: true, addresses: [{ address: '::1', family: 6 }] });
    // Only the listed names: another name resolving to loopback is still refused.
    expect((await checkWith('http://other.test/', { ...policy, resolve: resolver({ 'other.test': ['127.0.0.1'] }) })).ok).toBe(false);
  });

  it('never puts the path, query or credentials of the URL in the reason', async () => {
    const check = await checkWith('https://user:pa55word@10.0.0.1/hook/s3cret-path?token=t0ken', strict(resolver({})));
    expect(check.ok).toBe(false);
    const reason = (check as { reason: string }).reason;
    for (const secret of ['pa55word', 's3cret-path', 't0ken', 'user']) expect(reason).not.toContain(secret);
  });
});

describe('refusedAddressReason', () => {
  it.each([PUBLIC_V4, PUBLIC_V6, '1.1.1.1', '2a00:1450:4001:82a::200e'])('is undefined for the public address %s', (address) => {
    expect(refusedAddressReason(address)).toBeUndefined();
  });

  it('classifies what the resolver answers, including mapped forms and zone ids', () => {
    expect(refusedAddressReason('::ffff:10.0.0.1')).toBe('IPv4-mapped 10.0.0.1: private');
    expect(refusedAddressReason('fe80::1%eth0')).toBe('link-local');
    expect(refusedAddressReason('not-an-ip')).toBe('not an IP address');
  });
});

describe('SSRF guard: ports and the IPv6 ranges no host lives in', () => {
  const publicHost = resolver({ 'hooks.example.com': [PUBLIC_V4] });

  it.each(['https://hooks.example.com/h', 'https://hooks.example.com:443/h', 'https://hooks.example.com:8443/h'])('accepts %s (443 and 8443 by default)', async (url) => {
    expect(await checkWith(url, strict(publicHost))).toMatchObject({ ok: true });
  });

  it.each([
    ['https://hooks.example.com:22/h', 22],
    ['https://hooks.example.com:6379/h', 6379],
    ['https://hooks.example.com:8080/h', 8080],
  ])('refuses %s: a public host, but not a web port', async (url, port) => {
    expect(await checkWith(url, strict(publicHost))).toEqual({ ok: false, reason: `callback URL port ${port} is not allowed (allowed: 443, 8443)` });
  });

  it('takes the configured ports instead (CALLBACK_ALLOWED_PORTS), and any port on an exempt host', async () => {
    const policy = callbackUrlPolicyFrom({ allowedPorts: '443, 9443, nope, 70000' });
    expect(policy.allowedPorts).toEqual([443, 9443]);
    expect(await checkWith('https://hooks.example.com:9443/h', { ...policy, resolve: publicHost })).toMatchObject({ ok: true });
    expect(await checkWith('https://hooks.example.com:8443/h', { ...policy, resolve: publicHost })).toMatchObject({ ok: false });
    const local = resolver({ 'sink.test': ['127.0.0.1'] });
    expect(await checkWith('http://sink.test:3999/h', { allowHttp: true, allowHosts: ['sink.test'], resolve: local })).toMatchObject({ ok: true });
  });

  it.each([
    ['2001:20::1', 'ORCHIDv2 (cryptographic identifiers, not routable)'],
    ['2001:2f:ffff::1', 'ORCHIDv2 (cryptographic identifiers, not routable)'],
    ['5f00::1', 'SRv6 segment identifiers (not a host)'],
    ['5f00:ffff:1::2', 'SRv6 segment identifiers (not a host)'],
  ])('refuses %s (%s)', async (address, why) => {
    expect(refusedAddressReason(address)).toBe(why);
    expect(await checkWith('https://hooks.example.com/h', strict(resolver({ 'hooks.example.com': [address] })))).toMatchObject({ ok: false });
  });

  it('still accepts the public neighbours of those ranges', () => {
    expect(refusedAddressReason('2001:30::1')).toBeUndefined();
    expect(refusedAddressReason('5f01::1')).toBeUndefined();
  });
});

describe('callbackUrlPolicyFrom', () => {
  it('defaults to https only with no exemptions', () => {
    expect(callbackUrlPolicyFrom({})).toEqual({ allowHttp: false, allowHosts: [] });
  });

  it('reads the development switches', () => {
    expect(callbackUrlPolicyFrom({ allowHttp: 'true', allowHosts: ' Localhost , 127.0.0.1,[::1],, ' })).toEqual({
      allowHttp: true,
      allowHosts: ['localhost', '127.0.0.1', '::1'],
    });
    expect(callbackUrlPolicyFrom({ allowHttp: 'false' }).allowHttp).toBe(false);
  });
});
