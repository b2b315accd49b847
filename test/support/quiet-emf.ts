/**
 * Every test file: the handlers' EMF metric lines (one JSON document per invocation on stdout)
 * are dropped, so tests that call handlers without the local stack (test/support/consumer-kit.ts)
 * print no wall of JSON. The local stack captures them above this for GET /dev/metrics.
 */
import { captureEmfLines } from "../../packages/local/src/emf-metrics.ts";

captureEmfLines(() => undefined);
