export { Revocation } from './revocation.ts';
