/**
 * Names shared by the moto globalSetup/globalTeardown and the helpers in moto.ts.
 * Plain constants only: globalSetup runs outside the test sandbox.
 */

/** Base URL of the moto_server the tests use (set by globalSetup, or by you to reuse a running one). */
export const MOTO_ENDPOINT_ENV = 'MOTO_ENDPOINT';
/** Why integration tests cannot run (set by globalSetup when moto_server is missing). */
export const MOTO_UNAVAILABLE_ENV = 'MOTO_UNAVAILABLE_REASON';

export const MOTO_INSTALL_HINT = "install it with: pip install 'moto[server]==5.2.*'";

export const MOTO_REGION = 'us-east-1';
/** Moto's fixed account id: it appears in queue URLs and ARNs. */
export const MOTO_ACCOUNT_ID = '123456789012';

export const isCi = (): boolean => process.env.CI === 'true' || process.env.CI === '1';
