export { loadConfig, parseDuration, SETTINGS, CONFIG_FILE_ENV, type Config } from './config.ts';
