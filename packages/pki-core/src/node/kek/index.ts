export { KekRing } from './kek-ring.ts';
export { KekRotation, type RotatedKek } from './kek-rotation.ts';
