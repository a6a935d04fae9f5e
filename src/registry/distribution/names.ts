import { nameInvalid, RegistryError } from '../http/errors.ts';

const component = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const nameRe = new RegExp(`^${component}(?:/${component})*$`);
const tagRe = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** Repository names follow the spec's grammar and Harbor's `<project>/<repository>` shape. */
export function validateName(name: string): void {
  if (name.length > 255) throw nameInvalid('longer than 255 characters');
  if (!nameRe.test(name)) throw nameInvalid(`${name} does not match the repository name grammar`);
  if (!name.includes('/')) throw nameInvalid('repository names are <project>/<repository>');
}

export function isValidTag(tag: string): boolean {
  return tagRe.test(tag);
}

export function validateTag(tag: string): void {
  if (!isValidTag(tag)) throw new RegistryError(400, 'MANIFEST_INVALID', `invalid tag ${JSON.stringify(tag)}`, { tag });
}

export const projectNameRe = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
