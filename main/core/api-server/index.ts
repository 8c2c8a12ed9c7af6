/** The local inference API (`delineate serve`): server, job manager, upload parsing, zip reader, OpenAPI document. */
export { type ApiServer, type ApiServerOptions, parseJobOptions, ROUTES, type RouteSpec, startApiServer } from './server';
export { type Job, JobManager, type JobManagerOptions, type JobView } from './jobs';
export { openApiDocument } from './openapi';
export { detectUpload, parseMultipart, type UploadKind } from './upload';
export { iterateZip, readZip, safeEntryName, type ZipEntry, type ZipLimits } from './zip';
