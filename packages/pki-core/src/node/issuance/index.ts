export { Issuance } from './issuance.ts';
