// main.tsx: the console's entry point (index.html loads the built bundle of this).
import './styles.css';
import { mount } from './app';

mount(document.getElementById('app')!);
