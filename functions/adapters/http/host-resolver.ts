/** DNS for the SSRF check (core/callback/ssrf.ts): every address of a host, as a connect would see them. */
import { lookup } from 'node:dns/promises';
import type { HostResolver } from '../../core/ports';

/** The system resolver (`dns.lookup`, all addresses, in the order the system gives them). */
export const systemResolver: HostResolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map(({ address, family }) => ({ address, family }));

/**
 * The resolver of local runs (the local runner's deliveries, the CLI's `--local` checks): `*.localhost`
 * is this machine (RFC 6761) even where the system resolver does not say so; the rest as the system says.
 */
export const localMachineResolver: HostResolver = async (hostname) =>
  hostname === 'localhost' || hostname.endsWith('.localhost') ? [{ address: '127.0.0.1', family: 4 }] : systemResolver(hostname);
