/** DNS for the SSRF check (core/callback/ssrf.ts): every address of a host, as a connect would see them. */
import { lookup } from 'node:dns/promises';
import type { HostResolver } from '../../core/ports';

/** The system resolver (`dns.lookup`, all addresses, in the order the system gives them). */
export const systemResolver: HostResolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map(({ address, family }) => ({ address, family }));
