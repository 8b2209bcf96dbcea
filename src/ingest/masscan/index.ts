export { parseMasscanJson, gradeMasscanStatus } from './masscan-json.parser.ts';
export { parseMasscanList } from './masscan-list.parser.ts';
