import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { loadSettings } from './lib/settings';

loadSettings().then((settings) => {
  mount(App, { target: document.getElementById('app')!, props: { settings } });
});
