/** Bad input from the user (unknown option value, tag, file…): one line, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) { super(message); this.name = 'UsageError'; }
}
