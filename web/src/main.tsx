/** The web client's entry: mounts the app (ARCHITECTURE.md "Web client"). */
import { render } from 'preact';
import { App } from './ui/app.js';
import './styles.css';

render(<App />, document.getElementById('app')!);
