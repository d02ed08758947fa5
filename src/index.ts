// The Worker: Keygate's HTTP app.
import { createApp } from './app';

export default createApp() satisfies ExportedHandler<Env>;
