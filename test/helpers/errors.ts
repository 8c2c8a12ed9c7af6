/** Test helper: the DelineateError a promise rejects with (fails the test when it resolves or rejects otherwise). */
import { expect } from 'vitest';
import { DelineateError } from '../../main/common/errors';

export async function rejection(p: Promise<unknown>): Promise<DelineateError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(DelineateError);
  return e as DelineateError;
}
