/** Kept in step with package.json by the release checklist (a unit test checks it). */
export const VERSION = '0.1.0';
