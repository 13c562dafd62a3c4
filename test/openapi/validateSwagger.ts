import { execFile } from 'node:child_process';
import type SwaggerParser from '@apidevtools/swagger-parser';
import type { SwaggerDocument } from '../../src/openapi/swagger';

/**
 * swagger-parser's validate(): parses, dereferences and checks a document against the Swagger
 * 2.0 schema. It loads an ES module (@apidevtools/json-schema-ref-parser) that Node requires
 * natively but Jest's module runtime cannot (before Node 24.9), so the test runs it here, in a
 * plain Node process: the document goes in on stdin, the dereferenced one comes out on stdout.
 */
export function validateSwagger(document: unknown): Promise<SwaggerDocument> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [__filename], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`swagger-parser rejected the document: ${stderr.trim() || error.message}`));
      else resolve(JSON.parse(stdout) as SwaggerDocument);
    });
    child.stdin?.end(JSON.stringify(document));
  });
}

async function main(): Promise<void> {
  // Loaded here only: this runs in the child process, never inside Jest.
  const { default: parser } = await import('@apidevtools/swagger-parser');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const document = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Parameters<typeof SwaggerParser.validate>[0];
  try {
    process.stdout.write(JSON.stringify(await parser.validate(document)));
  } catch (error) {
    process.stderr.write(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  }
}

if (require.main === module) void main();
