// `bonneville portal serve`: the portal's own entry point parses its flags.
export { portalServe } from '../../portal/main.ts';
