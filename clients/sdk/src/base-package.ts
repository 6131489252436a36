import { createHash, createPrivateKey, constants, sign } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import type { CallOptions } from "nice-grpc";
import type { ImportBasePackageRequest, ImportBasePackageResponse, PatchServiceClient } from "./gen/swpatch/v1/patch_service.js";
import { UPLOAD_CHUNK_BYTES } from "./upload.js";

/**
 * The text a base-package signature covers (the controller's server/domain/patches/base-policy.ts
 * builds the same): release, file name and the file's sha256, so a signature vouches for these
 * bytes in this release only.
 */
export function baseStatement(release: string, fileName: string, sha256: string): string {
  return `sw-patch-base-package-v1\nrelease ${release}\nfile ${fileName}\nsha256 ${sha256}\n`;
}

async function sha256Of(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) h.update(chunk);
  return h.digest("hex");
}

/**
 * Signs an RPM for a release's base feed: RSASSA-PSS (SHA-256, salt 32) over the SHA-256 of its
 * {@link baseStatement}, with an RSA private key (PEM) whose certificate the controller trusts
 * (e.g. the controller's local signing key, `<data-dir>/signing/local-signing-key.pem`).
 * @returns the raw signature, for `BasePackageHeader.signature`.
 */
export async function signBasePackage(path: string, opts: { release: string; privateKeyPem: string | Buffer; fileName?: string }): Promise<Buffer> {
  const key = createPrivateKey({ key: opts.privateKeyPem, format: "pem" });
  const statement = baseStatement(opts.release, opts.fileName ?? basename(path), await sha256Of(path));
  return sign("sha256", Buffer.from(statement), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
}

/** Options of {@link importBasePackageFile}. */
export interface ImportBasePackageFileOptions {
  /** The release whose base feed gets the package (it must exist: InitRelease). */
  release: string;
  /** Signature over the base statement ({@link signBasePackage}); without one only an admin token is accepted. */
  signature?: Uint8Array;
  /** Sign with this private key (PEM) instead of giving `signature`. */
  signingKeyPem?: string | Buffer;
  /** Name announced to the controller; default: the file's base name (must match the RPM header). */
  fileName?: string;
  chunkBytes?: number;
  signal?: AbortSignal;
}

/**
 * Streams one RPM into a release's base feed (`ImportBasePackage`). An operator token needs a
 * signature by a trusted key; an admin token may import it unsigned (recorded and listed as such
 * by `ListBasePackages`). Throws PermissionDeniedError (unsigned, bad signature),
 * ReleaseNotFoundError (unknown release), InvalidArgumentError (not a matching binary RPM).
 */
export async function importBasePackageFile(
  patches: Pick<PatchServiceClient<object>, "importBasePackage">,
  path: string,
  options: ImportBasePackageFileOptions & CallOptions,
): Promise<ImportBasePackageResponse> {
  const { release, signature, signingKeyPem, fileName, chunkBytes = UPLOAD_CHUNK_BYTES, ...callOptions } = options;
  const info = await stat(path);
  if (!info.isFile()) throw new Error(`${path} is not a file`);
  const name = fileName ?? basename(path);
  const sig = signature ?? (signingKeyPem !== undefined ? await signBasePackage(path, { release, privateKeyPem: signingKeyPem, fileName: name }) : new Uint8Array(0));
  async function* requests(): AsyncGenerator<ImportBasePackageRequest> {
    yield { payload: { $case: "header", value: { release, fileName: name, sizeBytes: info.size, signature: Buffer.from(sig) } } };
    const stream = createReadStream(path, { highWaterMark: chunkBytes });
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) yield { payload: { $case: "chunk", value: chunk } };
    } finally {
      stream.destroy();
    }
  }
  return patches.importBasePackage(requests(), callOptions);
}
