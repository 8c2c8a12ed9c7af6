/**
 * The OpenAPI 3.1 document of the local inference API (served at `GET /openapi.json`). Kept next to the router
 * (./server.ts `ROUTES`); a test checks that every route appears here with its method, and only those.
 */

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponse' } } } });
const jobId = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } } as const;
const std = { '401': errorResponse('Missing or wrong token'), '404': errorResponse('No such job') };

const optionProps = {
  model: { type: 'string', description: 'Model id (GET /v1/models)' },
  device: { type: 'string', enum: ['auto', 'cpu', 'cuda', 'webgpu', 'dml', 'coreml'], default: 'auto' },
  tta: { type: 'string', enum: ['true', 'false'], default: 'true', description: 'Mirroring test-time augmentation' },
  folds: { type: 'string', description: 'Comma-separated fold numbers (default: all)', examples: ['0,1'] },
  step: { type: 'string', description: 'Tile step as a fraction of the patch, 0 < s ≤ 1 (default: the model’s)' },
} as const;

/** Build the document (a fresh object each call). */
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Delineate local inference API',
      version: '1.0.0',
      description:
        'Segment volumes with Delineate models from other software on the same machine. Listens on 127.0.0.1 only ' +
        '(unless started with --host/--expose in a container). Every /v1 route needs `Authorization: Bearer <token>`.',
    },
    servers: [{ url: 'http://127.0.0.1:{port}', variables: { port: { default: '8080' } } }],
    security: [{ bearer: [] }],
    paths: {
      '/openapi.json': {
        get: { operationId: 'getOpenApi', summary: 'This document', security: [], responses: { '200': { description: 'OpenAPI 3.1 document', content: { 'application/json': { schema: { type: 'object' } } } } } },
      },
      '/v1/models': {
        get: {
          operationId: 'listModels',
          summary: 'Models available to jobs',
          responses: {
            '200': { description: 'Models', content: { 'application/json': { schema: { type: 'object', required: ['models'], properties: { models: { type: 'array', items: { $ref: '#/components/schemas/Model' } } } } } } },
            '401': std['401'],
          },
        },
      },
      '/v1/jobs': {
        post: {
          operationId: 'createJob',
          summary: 'Submit a volume for segmentation',
          description:
            'Body: multipart/form-data with one `file` part per model channel (in channel order) and fields `model`, `device`, `tta`, `folds`, `step`; ' +
            'or the raw file as the body (application/octet-stream, application/gzip, application/zip) with the same options in the query string ' +
            '(plus `filename` for messages). A file is a NIfTI (.nii/.nii.gz), an attached-header NRRD, a MetaImage .mha, or a zip of one DICOM series. ' +
            'The content is recognised from its bytes, not its name.',
          parameters: Object.entries(optionProps).map(([name, schema]) => ({ name, in: 'query', required: false, schema })).concat([{ name: 'filename', in: 'query', required: false, schema: { type: 'string' } as never }]),
          requestBody: {
            required: true,
            content: {
              'multipart/form-data': {
                schema: { type: 'object', required: ['file', 'model'], properties: { file: { type: 'array', items: { type: 'string', contentMediaType: 'application/octet-stream' } }, ...optionProps } },
              },
              'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } },
              'application/gzip': { schema: { type: 'string', contentMediaType: 'application/gzip' } },
              'application/zip': { schema: { type: 'string', contentMediaType: 'application/zip' } },
            },
          },
          responses: {
            '202': {
              description: 'Job queued',
              headers: { Location: { schema: { type: 'string' } } },
              content: { 'application/json': { schema: { type: 'object', required: ['jobId', 'status'], properties: { jobId: { type: 'string' }, status: { type: 'string' }, links: { type: 'object' } } } } },
            },
            '400': errorResponse('Bad upload or parameters (the message names the file or field)'),
            '401': std['401'],
            '413': errorResponse('Upload over the size limit'),
            '429': errorResponse('Queue full'),
          },
        },
        get: {
          operationId: 'listJobs',
          summary: 'All jobs the server keeps, newest first',
          responses: {
            '200': { description: 'Jobs', content: { 'application/json': { schema: { type: 'object', properties: { jobs: { type: 'array', items: { $ref: '#/components/schemas/Job' } } } } } } },
            '401': std['401'],
          },
        },
      },
      '/v1/jobs/{id}': {
        parameters: [jobId],
        get: {
          operationId: 'getJob',
          summary: 'Job state with progress and ETA',
          responses: { '200': { description: 'Job', content: { 'application/json': { schema: { $ref: '#/components/schemas/Job' } } } }, ...std },
        },
        delete: {
          operationId: 'deleteJob',
          summary: 'Cancel the job if it is still queued or running, and delete it with its results',
          responses: { '204': { description: 'Deleted' }, ...std },
        },
      },
      '/v1/jobs/{id}/cancel': {
        parameters: [jobId],
        post: {
          operationId: 'cancelJob',
          summary: 'Cancel a queued or running job (running jobs stop between tiles; the state becomes cancelled)',
          responses: {
            '202': { description: 'Cancel requested', content: { 'application/json': { schema: { $ref: '#/components/schemas/Job' } } } },
            '409': errorResponse('The job has already finished'),
            ...std,
          },
        },
      },
      '/v1/jobs/{id}/result/labels': {
        parameters: [jobId],
        get: {
          operationId: 'getLabels',
          summary: 'Label map (NIfTI, gzip) on the grid of the first input',
          responses: { '200': { description: 'labels.nii.gz', content: { 'application/gzip': { schema: { type: 'string', contentMediaType: 'application/gzip' } } } }, '409': errorResponse('The job has not succeeded'), ...std },
        },
      },
      '/v1/jobs/{id}/result/stats': {
        parameters: [jobId],
        get: {
          operationId: 'getStats',
          summary: 'Per-segment statistics (volume, intensity, bounding box, centroid; see `delineate stats`)',
          responses: { '200': { description: 'Statistics', content: { 'application/json': { schema: { $ref: '#/components/schemas/Stats' } } } }, '409': errorResponse('The job has not succeeded'), ...std },
        },
      },
      '/v1/jobs/{id}/result/seg': {
        parameters: [jobId],
        get: {
          operationId: 'getDicomSeg',
          summary: 'DICOM Segmentation object (binary SEG referencing the uploaded series) — only for jobs whose input was a zipped DICOM series',
          responses: {
            '200': { description: 'seg.dcm', content: { 'application/dicom': { schema: { type: 'string', contentMediaType: 'application/dicom' } } } },
            '409': errorResponse('The job has not succeeded'),
            '401': std['401'],
            '404': errorResponse('No such job, or the job has no DICOM SEG (its input was not a DICOM series; the message says why)'),
          },
        },
      },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Printed by `delineate serve` at start when generated, or given with --token' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['name', 'code', 'message'],
          properties: {
            name: { const: 'DelineateError' },
            code: { type: 'string', enum: ['USAGE', 'NOT_FOUND', 'IO', 'FORMAT', 'UNSUPPORTED', 'GEOMETRY', 'MANIFEST', 'MODEL', 'INPUT', 'OUT_OF_MEMORY', 'AUTH', 'BUSY', 'PROTOCOL', 'INTERNAL'] },
            message: { type: 'string' },
            subject: { type: 'string', description: 'File, field or job the error is about' },
            cause: { type: 'object' },
          },
        },
        ErrorResponse: { type: 'object', required: ['error'], properties: { error: { $ref: '#/components/schemas/Error' } } },
        Progress: { type: 'object', required: ['stage', 'done', 'total'], properties: { stage: { type: 'string' }, done: { type: 'integer' }, total: { type: 'integer' }, detail: { type: 'string' } } },
        Job: {
          type: 'object',
          required: ['id', 'status', 'model', 'createdAt'],
          properties: {
            id: { type: 'string' },
            status: { type: 'string', enum: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] },
            model: { type: 'string' },
            createdAt: { type: 'string', format: 'date-time' },
            startedAt: { type: 'string', format: 'date-time' },
            finishedAt: { type: 'string', format: 'date-time' },
            queuePosition: { type: 'integer', minimum: 1 },
            progress: { $ref: '#/components/schemas/Progress' },
            fraction: { type: 'number', minimum: 0, maximum: 1, description: 'Share of inference tiles done' },
            etaMs: { type: 'number', description: 'Estimated milliseconds left in the current stage' },
            error: { $ref: '#/components/schemas/Error' },
            result: {
              type: 'object',
              properties: { labels: { type: 'string' }, stats: { type: 'string' }, seg: { type: 'string', description: 'Present when a DICOM SEG was written' }, device: { type: 'string' }, tiles: { type: 'integer' }, networkRuns: { type: 'integer' }, seconds: { type: 'object' } },
            },
          },
        },
        Model: {
          type: 'object',
          required: ['id', 'name', 'version'],
          properties: {
            id: { type: 'string' },
            name: { type: 'string' },
            version: { type: 'string' },
            description: { type: 'string' },
            dimensionality: { type: 'string' },
            channels: { type: 'array', items: { type: 'string' } },
            labels: { type: 'array', items: { type: 'object', properties: { value: { type: 'integer' }, name: { type: 'string' } } } },
            folds: { type: 'array', items: { type: 'integer' } },
            source: { type: 'string', enum: ['bundled', 'user', 'models-dir'] },
          },
        },
        Stats: {
          type: 'object',
          required: ['jobId', 'model', 'grid', 'voxelVolumeMl', 'segments'],
          properties: {
            jobId: { type: 'string' },
            model: { type: 'object', properties: { id: { type: 'string' }, version: { type: 'string' } } },
            grid: { type: 'object', description: 'size [i,j,k], spacingMm, originMm (LPS), direction (row-major 3×3, columns = i,j,k axes in LPS)' },
            voxelVolumeMl: { type: 'number' },
            segments: {
              type: 'array',
              items: {
                type: 'object',
                required: ['value', 'voxelCount', 'volumeMl'],
                properties: {
                  value: { type: 'integer' },
                  name: { type: 'string' },
                  voxelCount: { type: 'integer' },
                  volumeMl: { type: 'number' },
                  intensity: { type: 'object', properties: { mean: { type: 'number' }, sd: { type: 'number' }, min: { type: 'number' }, max: { type: 'number' } } },
                  bboxIjk: { type: 'object' },
                  bboxLpsMm: { type: 'object' },
                  centroidLpsMm: { type: 'array', items: { type: 'number' }, minItems: 3, maxItems: 3 },
                },
              },
            },
          },
        },
      },
    },
  };
}
