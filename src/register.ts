/**
 * `node --require breakerbox/register app.js`: guards pg, pg-pool, nats, ws and fs as the
 * configuration says, starts OpenTelemetry and the monitoring server, before the app runs.
 */
import { startBreakerbox } from './start';

startBreakerbox();
