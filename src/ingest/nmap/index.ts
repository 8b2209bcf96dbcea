export { parseNmapXml, gradeNmapState } from './nmap-xml.parser.ts';
