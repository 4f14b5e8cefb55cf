export { MaintenanceScheduler, type MaintenanceRegistry, type MaintenanceTask } from './scheduler.ts';
