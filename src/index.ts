/** The public entry of the iwpl library (notebooks and other programs import only this). */
export { initBackend, activeBackend, BACKEND_NAMES, type BackendName } from './backend/select.ts';
export { UserError } from './util/errors.ts';
