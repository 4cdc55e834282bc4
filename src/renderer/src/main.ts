import { mount } from 'svelte';
import App from './App.svelte';
import { connect } from './lib/transport';
import './app.css';

mount(App, { target: document.getElementById('app')!, props: { api: connect() } });
