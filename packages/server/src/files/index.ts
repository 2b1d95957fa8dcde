export { ACCEPTED_MIME, Files, type Upload } from './files.ts';
