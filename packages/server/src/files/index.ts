export { FileLinks, type SignedFileUrl } from './file-links.ts';
export { Files, plainFileSealing, type FileSealing, type StagedUpload, type Upload } from './files.ts';
export { showsInline } from './media-type.ts';
