// Child process for the durability test: opens the embedded store in argv[2] and writes settings rows
// one committed transaction at a time, printing "ack N" after each commit returns, until killed.
import { openStore } from '../store/index.ts';

const store = await openStore({ dataDir: process.argv[2]! });
process.stdout.write('ready\n');
for (let i = 0; ; i++) {
  await store.db
    .insertInto('settings')
    .values({ key: `durable-${i}`, value: JSON.stringify({ i }) })
    .execute();
  process.stdout.write(`ack ${i}\n`);
}
