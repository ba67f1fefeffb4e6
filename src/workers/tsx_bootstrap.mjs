// A thread's first module when shardline runs from its TypeScript sources (see thread_entry.ts):
// registers tsx's loader in this thread, then loads the module the thread is for. Its default
// export stays the default export here, for piscina's tasks.
import { register } from 'tsx/esm/api';

register();
const module = await import(process.env.SHARDLINE_THREAD_MODULE);
export default module.default;
