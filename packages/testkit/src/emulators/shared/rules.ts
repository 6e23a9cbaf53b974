// What an emulator enforces or imitates, each with where it comes from (DESIGN.md: "Emulators encode the
// real service"). Every emulator exports its rules from the testkit index as `<NAME>_RULES`
// (readonly EmulatorRule[]); scripts/gen-emulator-rules.mjs renders them all into docs/emulator-rules.md
// and a test keeps that file current.

export interface EmulatorRule {
  /** What the emulator does, as the real service does it. */
  rule: string;
  /** A doc URL, a spec shape (file and member), SDK code or a public issue. */
  source: string;
  /** 'guess': no source states it; the emulator's choice until someone checks it on the real service. */
  status: 'verified' | 'guess';
}
