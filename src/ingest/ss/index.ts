export { parseSs } from './ss.parser.ts';
