/** The repository's root directory (ends in "/"), for spawning its commands and finding its files. */
export const repoRoot = new URL('../../', import.meta.url).pathname;
