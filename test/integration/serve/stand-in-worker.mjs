// A stand-in job worker for the job manager's own logic (pool reuse, hard kill after the grace period): it
// speaks the real protocol (main/core/api-server/protocol.ts) but runs no engine. job.modelDir says what to do:
// 'done' answers at once (device = this thread's id, to see reuse), 'hang' never answers and ignores cancel,
// 'crash' exits the thread, 'busy:<ms>:<marker file>' blocks its thread for <ms> (as an ONNX Runtime run does, which
// cannot be interrupted), then writes the marker file and answers 'cancelled'.
import { writeFileSync } from 'node:fs';
import { parentPort, threadId } from 'node:worker_threads';

parentPort.on('message', (m) => {
  if (m.type !== 'run') return;
  const { jobId, modelDir } = m.job;
  if (modelDir === 'done')
    parentPort.postMessage({
      jobId,
      type: 'done',
      summary: { device: `thread ${threadId}`, tiles: 0, networkRuns: 0, seconds: { preprocess: 0, inference: 0, total: 0 }, dicomSeg: { written: false, reason: 'stand-in' } },
    });
  else if (modelDir === 'crash') process.exit(3);
  else if (modelDir.startsWith('busy:')) {
    const rest = modelDir.slice('busy:'.length);
    const ms = Number(rest.slice(0, rest.indexOf(':')));
    const marker = rest.slice(rest.indexOf(':') + 1);
    parentPort.postMessage({ jobId, type: 'progress', progress: { stage: 'inference', done: 0, total: 1 } });
    const end = Date.now() + ms;
    while (Date.now() < end); // one long, uninterruptible network run
    writeFileSync(marker, 'answered');
    parentPort.postMessage({ jobId, type: 'cancelled' });
  }
  // 'hang': nothing, ever.
});
parentPort.postMessage({ type: 'ready' });
