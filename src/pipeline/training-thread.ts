/**
 * Worker-thread entry. It lowers this thread's priority before anything else is loaded, so that even the
 * thread's start-up (module loading) and then every training yield the CPU to the API's event loop
 * (TRAIN_NICE); then it loads the runner.
 */
import { workerData } from 'node:worker_threads';
import type { Config } from '../config.js';
import { lowerThreadPriority } from '../util/thread-priority.js';

lowerThreadPriority((workerData as { config: Config }).config.training.nice);
await import('./training-thread-runner.js');
