// `bonneville registry serve`: the registry's own entry point parses its flags.
export { registryServe } from '../../registry/main.ts';
