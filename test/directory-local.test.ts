/** The directory conformance suite on the in-process implementation (several nodes on one hub). */
import { LocalDirectoryHub } from '../src/server/cluster/local-directory.js';
import { directoryConformance } from './directory-conformance.js';

directoryConformance('in-process', async (nodes) => {
  const hub = new LocalDirectoryHub();
  const directories = nodes.map((n) => hub.directory(n));
  return { directories, close: async () => { for (const d of directories) await d.close(); } };
});
