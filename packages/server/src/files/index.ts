export { FileLinks, type SignedFileUrl } from './file-links.ts';
export { Files, type FileSealing, type StagedUpload, type Upload } from './files.ts';
export { showsInline } from './media-type.ts';
