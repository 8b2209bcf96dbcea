export { parseNmapXml, parseNmapXmlBatches, gradeNmapState } from './nmap-xml.parser.ts';
export { parseNmapGrep, parseGrepHeader } from './nmap-grep.parser.ts';
export { parseNmapNormal } from './nmap-normal.parser.ts';
