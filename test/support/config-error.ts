import { CrispBridgeConfigError } from '../../lib/config';

/** The CrispBridgeConfigError `fn` throws (failing the test if it throws nothing, or something else). */
export function configError(fn: () => unknown): CrispBridgeConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CrispBridgeConfigError);
    return error as CrispBridgeConfigError;
  }
  throw new Error('expected a CrispBridgeConfigError, nothing was thrown');
}
