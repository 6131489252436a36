import type { CallContext } from "nice-grpc";
import { applyMessages, commitMessages, deleteMessages, releaseMessages, removeMessages, uploadMessages, withReferenceLine } from "./mappers/patch-messages.js";
import {
  QueryFilter,
  QueryPatchesResponse,
  UploadOutcome,
  WatchEventsResponse,
  type PatchServiceImplementation,
  type UploadPatchRequest,
} from "../../clients/sdk/src/gen/swpatch/v1/patch_service.js";
import { DomainError, invalidArgument, isDomainError, notFound } from "../domain/errors.js";
import type { AuthContextExt } from "./auth-middleware.js";
import type { PatchManager, UploadOutcome as DomainUploadOutcome } from "../domain/patches/patch-manager.js";
import type { UploadBudget } from "../domain/patchfile/index.js";
import { EventsPrunedError, type DomainEvent, type EventLog } from "../domain/events/event-log.js";
import { SharedResponses } from "./shared-encoding.js";
import { ReasonedServerError } from "./errors.js";
import { Status } from "nice-grpc";
import { patchIds, toProtoEvent, toProtoPatch } from "./mappers/patch.js";
import { tempPathFor } from "../lib/fs-atomic.js";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import type { LeadershipStatus } from "../domain/leadership/leadership.js";
import { assertMayDowngrade, createSecurityFloorMethods } from "./security-floor-service.js";

const OUTCOME: Record<DomainUploadOutcome, UploadOutcome> = {
  imported: UploadOutcome.UPLOAD_OUTCOME_IMPORTED,
  "metadata-updated": UploadOutcome.UPLOAD_OUTCOME_METADATA_UPDATED,
  "committed-unchanged": UploadOutcome.UPLOAD_OUTCOME_COMMITTED_UNCHANGED,
};

const FILTER: Record<QueryFilter, "all" | "applied" | "available" | "committed"> = {
  [QueryFilter.QUERY_FILTER_UNSPECIFIED]: "all",
  [QueryFilter.QUERY_FILTER_ALL]: "all",
  [QueryFilter.QUERY_FILTER_APPLIED]: "applied",
  [QueryFilter.QUERY_FILTER_AVAILABLE]: "available",
  [QueryFilter.QUERY_FILTER_COMMITTED]: "committed",
  [QueryFilter.UNRECOGNIZED]: "all",
};

const MAX_CHUNK = 4 * 1024 * 1024;

/**
 * Splits a client stream into the header and an iterable of the chunks that follow it.
 * The header must come first, exactly once; chunks must not exceed 4 MiB.
 */
/** Upload bytes received ahead of the reader, at most. */
const READ_AHEAD = 4 * 1024 * 1024;

async function headerAndChunks<H>(
  request: AsyncIterable<{ payload?: { $case: "header"; value: H } | { $case: "chunk"; value: Buffer } | undefined }>,
  maxBytes: number,
): Promise<{ header: H; chunks: AsyncIterable<Uint8Array>; stop(): void }> {
  const it = request[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done || first.value.payload?.$case !== "header") throw invalidArgument("upload: the first message must be a header");
  const header = first.value.payload.value;
  let total = 0;
  // Read ahead of the consumer (up to READ_AHEAD bytes): the HTTP/2 stream keeps flowing while
  // the patch reader inflates, parses and writes, instead of stalling on every pause.
  const queue: Uint8Array[] = [];
  let queued = 0;
  let ended = false;
  let failure: unknown;
  let stopped = false;
  let wakeConsumer: (() => void) | undefined;
  let wakePump: (() => void) | undefined;
  const pump = (async () => {
    try {
      for (;;) {
        while (queued >= READ_AHEAD && !stopped) await new Promise<void>((r) => (wakePump = r));
        if (stopped) return;
        const n = await it.next();
        if (n.done) return;
        const p = n.value.payload;
        if (p?.$case !== "chunk") throw invalidArgument("upload: only chunks may follow the header");
        if (p.value.length > MAX_CHUNK) throw invalidArgument(`upload: chunk of ${p.value.length} bytes exceeds 4 MiB`);
        total += p.value.length;
        if (total > maxBytes) throw invalidArgument(`upload: file exceeds the limit of ${maxBytes} bytes`);
        queue.push(p.value);
        queued += p.value.length;
        wakeConsumer?.();
      }
    } catch (e) {
      failure = e;
    } finally {
      ended = true;
      wakeConsumer?.();
    }
  })();
  const chunks = {
    async *[Symbol.asyncIterator]() {
      try {
        for (;;) {
          if (queue.length) {
            const c = queue.shift()!;
            queued -= c.length;
            wakePump?.();
            yield c;
            continue;
          }
          if (ended) {
            if (failure !== undefined) throw failure;
            return;
          }
          await new Promise<void>((r) => (wakeConsumer = r));
          wakeConsumer = undefined;
        }
      } finally {
        stopped = true;
        wakePump?.();
        void pump;
      }
    },
  };
  // For a call refused before it read its chunks (too many uploads...): the pump stops waiting.
  const stop = () => {
    stopped = true;
    wakePump?.();
  };
  return { header, chunks, stop };
}

export interface PatchServiceDeps {
  patches: PatchManager;
  events: EventLog;
  maxPatchBytes: number;
  tmpDir: string;
  trustLabels?: () => string[];
  /** How many hosts the controller knows (GetControllerInfo.host_count). */
  hostCount?: () => number;
  /** Uploads in flight (shared with patch uploads): ImportBasePackage takes a slot and charges its temp file. */
  uploadBudget?: UploadBudget;
  /** The controller pair's view (GetControllerInfo role, epoch, ids); absent for a single controller. */
  pair?: () => LeadershipStatus;
}

/** The GetControllerInfo fields of the controller pair (empty for a single controller). */
function pairInfo(s: LeadershipStatus | undefined) {
  if (!s) return {};
  return {
    role: s.role === "active" ? "active" : "standby",
    epoch: s.epoch,
    controllerId: s.self.controllerId,
    advertiseAddress: s.self.address,
    activeControllerId: s.active?.controllerId ?? "",
    activeAddress: s.active?.address ?? "",
  };
}

/** PatchService over the patch manager. Request validation names the field. */
export function createPatchService(d: PatchServiceDeps): PatchServiceImplementation {
  // Encoded query answers are cached per (filter, release) until the repository changes.
  let cacheVersion = -1;
  const cache = new Map<string, QueryPatchesResponse>();
  // One response (and one encoding) per published event, shared by every watcher.
  const eventResponses = new SharedResponses<DomainEvent, WatchEventsResponse>(WatchEventsResponse, (e) => ({ event: toProtoEvent(e) }));

  return {
    ...createSecurityFloorMethods(d.patches),
    async uploadPatch(request: AsyncIterable<UploadPatchRequest>, ctx: CallContext) {
      const { header, chunks, stop } = await headerAndChunks(request, d.maxPatchBytes);
      let r;
      try {
        if (header.sizeBytes > d.maxPatchBytes) throw invalidArgument(`upload: ${header.fileName} is ${header.sizeBytes} bytes, over the limit of ${d.maxPatchBytes}`);
        r = await d.patches.upload(header.fileName, chunks, ctx.signal);
      } catch (e) {
        throw isDomainError(e) ? withReferenceLine(e) : e;
      } finally {
        stop();
      }
      return { patchId: r.id, outcome: OUTCOME[r.outcome], messages: uploadMessages(r), patch: toProtoPatch(r.patch) };
    },

    async queryPatches(req) {
      const release = req.release;
      if (release && !/^[A-Za-z0-9._-]{1,64}$/.test(release)) throw invalidArgument(`release: invalid release "${release}"`);
      const filter = FILTER[req.filter] ?? "all";
      if (cacheVersion !== d.patches.version) {
        cache.clear();
        cacheVersion = d.patches.version;
      }
      const key = `${filter}|${release}`;
      let res = cache.get(key);
      if (!res) {
        res = { patches: d.patches.query(filter, release).map(toProtoPatch) };
        if (cache.size > 64) cache.clear();
        cache.set(key, res);
      }
      return res;
    },

    async showPatches(req) {
      const ids = patchIds(req.patchIds);
      const r = d.patches.show(ids);
      return { patches: r.patches.map(toProtoPatch), unrecognized: r.unrecognized };
    },

    async applyPatches(req, ctx) {
      const ids = patchIds(req.patchIds, "patch_ids", { allowEmpty: req.all });
      if (req.all && ids.length) throw invalidArgument("patch_ids: give either patch ids or all, not both");
      assertMayDowngrade(ctx, req.allowDowngrade);
      const r = await d.patches.apply(ids, { all: req.all, skipSemantic: req.skipSemantic, allowDowngrade: req.allowDowngrade }, ctx.signal);
      return { messages: applyMessages(r), applied: r.applied };
    },

    async removePatches(req, ctx) {
      assertMayDowngrade(ctx, req.allowDowngrade);
      const r = await d.patches.remove(
        patchIds(req.patchIds),
        { skipSemantic: req.skipSemantic, skipAppCheck: req.skipAppCheck, removeUnremovable: req.removeUnremovable, allowDowngrade: req.allowDowngrade },
        ctx.signal,
      );
      return { messages: removeMessages(r), removed: r.removed };
    },

    async deletePatches(req) {
      const r = await d.patches.delete(patchIds(req.patchIds));
      return { messages: deleteMessages(r), deleted: r.deleted };
    },

    async commitPatches(req) {
      const ids = patchIds(req.patchIds, "patch_ids", { allowEmpty: req.all });
      if (req.all && ids.length) throw invalidArgument("patch_ids: give either patch ids or all, not both");
      if (req.release && !/^[A-Za-z0-9._-]{1,64}$/.test(req.release)) throw invalidArgument(`release: invalid release "${req.release}"`);
      const r = await d.patches.commit({ ids, all: req.all, release: req.release, dryRun: req.dryRun });
      return { messages: commitMessages(r), patchIds: r.patchIds, freedBytes: r.freedBytes };
    },

    async whatRequires(req) {
      return { requirements: d.patches.whatRequires(patchIds(req.patchIds)).map((r) => ({ patchId: r.patchId, requiredBy: r.requiredBy })) };
    },

    async queryDependencies(req) {
      return { patchIds: d.patches.queryDependencies(patchIds(req.patchIds), req.recursive) };
    },

    async isApplied(req) {
      return { result: d.patches.isInState(patchIds(req.patchIds), "Applied") };
    },

    async isAvailable(req) {
      return { result: d.patches.isInState(patchIds(req.patchIds), "Available") };
    },

    async reportAppDependencies(req) {
      await d.patches.reportAppDependencies(req.app, patchIds(req.patchIds, "patch_ids", { allowEmpty: true }));
      return {};
    },

    async queryAppDependencies() {
      return { dependencies: d.patches.appDependencies() };
    },

    async initRelease(req) {
      return { messages: releaseMessages(await d.patches.initRelease(req.release)) };
    },

    async delRelease(req) {
      return { messages: releaseMessages(await d.patches.delRelease(req.release)) };
    },

    async importBasePackage(request, ctx: CallContext & Partial<AuthContextExt>) {
      const caller = ctx.caller;
      if (!caller) throw new DomainError("unauthenticated", "missing token", { reason: "TOKEN_MISSING" });
      const { header, chunks, stop } = await headerAndChunks(request, d.maxPatchBytes);
      let ticket: ReturnType<UploadBudget["acquire"]> | undefined;
      try {
        if (path.basename(header.fileName) !== header.fileName || !header.fileName.endsWith(".rpm")) {
          throw invalidArgument(`file_name: must be a bare *.rpm name, got "${header.fileName}"`);
        }
        ticket = d.uploadBudget?.acquire();
        await fsp.mkdir(d.tmpDir, { recursive: true });
        const tmp = tempPathFor(path.join(d.tmpDir, header.fileName));
        try {
          // Opened before the first chunk is awaited, closed before the finally removes it: a
          // request that fails at once leaves no file behind (a lazily opened stream could create
          // it after the removal).
          const fh = await fsp.open(tmp, "wx", 0o600);
          try {
            let at = 0;
            for await (const c of chunks) {
              ticket?.charge(c.length);
              await fh.write(c, 0, c.length, at);
              at += c.length;
            }
          } finally {
            await fh.close();
          }
          const r = await d.patches.importBasePackage(header.release, tmp, header.fileName, {
            importer: { tokenId: caller.tokenId, role: caller.role },
            ...(header.signature.length ? { signature: header.signature } : {}),
          });
          const k = r.pkg;
          return {
            added: r.added,
            package: { fileName: k.fileName, name: k.name, epoch: k.epoch, version: k.version, release: k.release, arch: k.arch, sha256: k.sha256, sizeBytes: k.size },
          };
        } finally {
          await fsp.rm(tmp, { force: true });
        }
      } finally {
        ticket?.release();
        stop();
      }
    },

    async listBasePackages(req) {
      if (req.release && !d.patches.releasesKnown().includes(req.release)) {
        throw notFound(`Release ${req.release} is not known`, { reason: "RELEASE_NOT_FOUND" });
      }
      const releases = req.release ? [req.release] : d.patches.releasesKnown();
      return {
        packages: releases.flatMap((release) =>
          [...d.patches.basePackages(release)]
            .sort((a, b) => (a.fileName < b.fileName ? -1 : a.fileName > b.fileName ? 1 : 0))
            .map((k) => ({
              release,
              package: { fileName: k.fileName, name: k.name, epoch: k.epoch, version: k.version, release: k.release, arch: k.arch, sha256: k.sha256, sizeBytes: k.size },
              signer: k.provenance?.signer ?? "",
              importedBy: k.provenance?.importedBy ?? "",
              importedAt: k.provenance ? new Date(k.provenance.importedAt) : undefined,
            })),
        ),
      };
    },

    async getControllerInfo() {
      return {
        runningRelease: d.patches.runningRelease,
        releases: d.patches.releasesKnown(),
        trustLabels: d.trustLabels?.() ?? [],
        patchCount: d.patches.all().length,
        hostCount: d.hostCount?.() ?? 0,
        lastEventSequence: d.events.lastSequence,
        version: "0.1.0",
        ...pairInfo(d.pair?.()),
      };
    },

    async *watchEvents(req, ctx) {
      const filter = {
        kinds: req.kinds,
        ...(req.patchId ? { patchId: req.patchId } : {}),
        ...(req.hostname ? { hostname: req.hostname } : {}),
        ...(req.operationId ? { operationId: req.operationId } : {}),
      };
      try {
        for await (const e of d.events.watch(req.afterSequence, filter, ctx.signal)) yield eventResponses.get(e);
      } catch (e) {
        // OUT_OF_RANGE with the oldest sequence held in the ErrorInfo metadata too.
        if (e instanceof EventsPrunedError) throw new ReasonedServerError(Status.OUT_OF_RANGE, e.message, e.reason, { oldestSequence: String(e.oldestSequence) });
        throw e;
      }
    },
  };
}
