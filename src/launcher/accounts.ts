/** A user a throwaway server registers before the test or demo logs it in. */
export interface UserAccount {
  user: string;
  host: string;
  password: string;
}

/**
 * Registers every account, `concurrency` at a time: registration tools take
 * tens to hundreds of ms a call (prosodyctl, ejabberdctl), so a few at once
 * keep both cores busy.
 */
export async function registerAll(
  accounts: readonly UserAccount[],
  concurrency: number,
  register: (account: UserAccount) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < accounts.length) {
      const account = accounts[next++];
      if (account) await register(account);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
}
