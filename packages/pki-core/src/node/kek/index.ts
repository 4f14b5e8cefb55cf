export { KekRing } from './kek-ring.ts';
export { KekRotation, sealedKeysOpenedBy, type RotatedKek } from './kek-rotation.ts';
