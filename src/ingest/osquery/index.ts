export { parseOsquery, isLoopback, isWildcard } from './osquery.parser.ts';
