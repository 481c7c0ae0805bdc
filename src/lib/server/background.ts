// Modules with background work register themselves (startup hooks, WebSocket routes) on import.
import './events/service';
import './hosts/connections';
import './hosts/local-agent';
import './sandboxes/sweeper';
import './snapshots/sweeper';
import './billing/meter';
import './terminals/ws';
import './computers/ws';
import './computers/services';
import './webhooks/service';
import './deployments/sweeper';
