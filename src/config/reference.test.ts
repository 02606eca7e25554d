import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderConfigReference } from './reference.js';

describe('docs/config.md', () => {
  it('matches the config schema (run `npm run docs` after changing it)', () => {
    const onDisk = readFileSync(new URL('../../docs/config.md', import.meta.url), 'utf8');
    expect(onDisk).toBe(renderConfigReference());
  });

  it('documents every leaf with a description', () => {
    const table = renderConfigReference().split('\n').filter((l) => l.startsWith('| `'));
    expect(table.length).toBeGreaterThan(30);
    for (const line of table) expect(line).not.toMatch(/\|\s*\|$/);
  });
});
