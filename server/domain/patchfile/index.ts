/**
 * The StarlingX legacy `.patch` format: building (signed), reading (streaming, verify-first),
 * metadata.xml, the md5 `signature`, `signature.v2` and the trust store.
 *
 * Format: gzip tar of metadata.tar, software.tar, [semantics.tar], signature, signature.v2 (see
 * docs/patch-format.md). All failures are DomainError kind "invalid-argument" with a message naming
 * the member and the problem.
 */
export { readPatch, PATCH_MEMBERS } from "./reader.js";
export type { ReadPatchOptions, VerifiedPatch, PatchMemberFile, PatchRpm, PatchMemberName } from "./reader.js";
export { buildPatch } from "./writer.js";
export type { BuildPatchOptions, BuildPatchRpm, BuiltPatch } from "./writer.js";
export { writeMetadataXml, parseMetadataXml, parseXml, PERSONALITY_TYPES, SEMANTIC_ACTIONS } from "./metadata-xml.js";
export type { PatchMetadata, SemanticAction, XmlElement } from "./metadata-xml.js";
export {
  loadTrustStore,
  parseTrustSpec,
  publicKeyFromPem,
  loadPrivateKey,
  md5SignatureText,
  verifyMd5Signature,
  parsePythonHexInt,
  signDigestPss,
  verifyDigestSignature,
  PSS_SALT_LENGTH,
} from "./signature.js";
export type { TrustStore, TrustedKey, SignatureCheck } from "./signature.js";
export { DEFAULT_PATCH_READ_LIMITS, resolvePatchReadLimits, SAFE_ID_RE } from "./limits.js";
export type { PatchReadLimits } from "./limits.js";
export { UploadBudget } from "./upload-budget.js";
export type { UploadTicket } from "./upload-budget.js";
// ---- issue 21 (TRUSTROOT): DSSE signatures (member signature.dsse) ----
export { pae, keyIdOf, keyTypeOf, loadDsseSigningKey, loadDssePublicKey, signBytes, verifyBytes, canonicalJson, parseEnvelope, serializeEnvelope } from "./dsse.js";
export { signEnvelope, addSignatures, validSigners, fromBase64, DSSE_MAX_SIGNATURES } from "./dsse.js";
export type { DsseEnvelope, DsseSignature, DsseKeyType } from "./dsse.js";
export { checkPatchDsse, signPatchFile, patchDigestsPayload, PATCH_DSSE_MEMBER, PATCH_DSSE_PAYLOAD_TYPE, PATCH_DIGESTS_TYPE } from "./patch-dsse.js";
export type { PatchSignerPolicy, PatchDsseCheck } from "./patch-dsse.js";
