/** The error `run` fails with (thrown or rejected), typed as the caller expects; a success fails the test. */
export async function failureOf<E = Error>(run: () => Promise<unknown> | unknown): Promise<E> {
  try {
    await run();
  } catch (error) {
    return error as E;
  }
  throw new Error('expected the call to fail');
}
