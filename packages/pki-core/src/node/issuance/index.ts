export { Issuance, parseSans } from './issuance.ts';
