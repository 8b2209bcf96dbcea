import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../util/errors.ts';

/** A held data-dir lock; `release` removes it. */
export interface DataDirLock {
  readonly path: string;
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the data dir for this process, like PostgreSQL's postmaster.pid: a lock file created with
 * O_EXCL holding our pid. A lock left by a process that no longer exists (kill -9) is taken over;
 * one held by a live process refuses, because the embedded database must never be opened twice.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const path = join(dataDir, 'portcullis.pid');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      let released = false;
      return {
        path,
        release() {
          if (released) return;
          released = true;
          try {
            if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
          } catch {
            // already gone
          }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let pid = NaN;
      try {
        pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
      } catch {
        // vanished between open and read: try again
      }
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new AppError(
          'data_dir_locked',
          `data dir ${dataDir} is in use by another Portcullis process (pid ${pid}); ` +
            `stop it first, or set PORTCULLIS_DATA_DIR to another directory`,
          { kind: 'operational' },
        );
      }
      try {
        unlinkSync(path);
      } catch {
        // someone else removed it
      }
    }
  }
  throw new AppError('data_dir_locked', `could not lock data dir ${dataDir}`, { kind: 'operational' });
}
