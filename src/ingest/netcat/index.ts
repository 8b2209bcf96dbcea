export { parseNetcat } from './netcat.parser.ts';
