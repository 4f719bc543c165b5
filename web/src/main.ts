import { mount } from 'svelte';
import './app.css';
import Root from './Root.svelte';
import { loadSettings } from './lib/settings';

loadSettings().then((settings) => {
  mount(Root, { target: document.getElementById('app')!, props: { settings } });
});
