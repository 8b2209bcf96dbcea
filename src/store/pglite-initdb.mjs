// Creates a new embedded database in the directory given as argument, then exits. Run as a child
// process on first start: initdb inside PGlite's WebAssembly runtime grows its memory to several
// hundred MB that the runtime never gives back, and the server should not carry that for its lifetime.
import { PGlite } from '@electric-sql/pglite';

const db = await PGlite.create(process.argv[2]);
await db.close();
