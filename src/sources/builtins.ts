/** The built-in profiles by name. */
import { airkit } from './airkit.js';
import { auto } from './auto.js';
import { eventbridge } from './eventbridge.js';
import { generic } from './generic.js';
import { oktaHook } from './okta-hook.js';
import { okta } from './okta.js';
import type { Profile } from './profile.js';
import { strivacity } from './strivacity.js';

/** Every built-in profile, by name. */
export const builtinProfiles: ReadonlyMap<string, Profile> = new Map(
  [auto, airkit, eventbridge, okta, oktaHook, strivacity, generic].map((p) => [p.name, p]),
);

/** Names of the built-in profiles, for config validation and messages. */
export const profileNames = [...builtinProfiles.keys()] as [string, ...string[]];
