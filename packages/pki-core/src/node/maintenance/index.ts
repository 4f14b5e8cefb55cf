export { MaintenanceScheduler, type MaintenanceRegistry } from './scheduler.ts';
