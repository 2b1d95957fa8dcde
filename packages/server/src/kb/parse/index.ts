export { parseBounded, type ParseBudget } from './bounded.ts';
export { ACCEPTED_EXTENSIONS, ACCEPTED_MIME, detectFormat, isBinaryFormat } from './detect.ts';
export { markdownTable } from './escape.ts';
export { parseFile } from './parse-file.ts';
export { decodeCsv } from './decode-csv.ts';
export { defaultParseLimits, ParseFailure, SOURCE_FORMATS, type ParsedDocument, type ParseLimits, type ScannedPage, type SourceFormat } from './types.ts';
