/**
 * Writes generated documentation (docs/config.md); run by `npm run docs`.
 */
import { writeFileSync } from 'node:fs';
import { renderConfigReference } from '../config/reference.js';

writeFileSync(new URL('../../docs/config.md', import.meta.url), renderConfigReference());
process.stdout.write('wrote docs/config.md\n');
